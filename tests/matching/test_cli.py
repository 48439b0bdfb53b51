"""The command-line contract: geoalert match and geoalert rules check|test|eval|schema."""

import io
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import RuleWriter

from service.cli import main
from service.matching import load_rules
from service.matching.cli import _evidence_json, match_lines
from service.models import Article, Evidence
from tests.conftest import ROOT

RULE = """
id: summit
title: Summit
severity: high
parts:
  meeting: {any: [summit]}
condition: meeting
examples:
  match: [The summit opened.]
  no_match: [Nothing here.]
"""


@pytest.fixture
def rules_dir(write_rules: RuleWriter) -> Path:
    return write_rules({"summit.yaml": RULE})


def test_match_writes_one_result_line_per_article(rules_dir: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    lines = [
        '{"id": "1", "title": "Summit opens", "body": ""}\n',
        '{"id": "2", "title": "Quiet", "body": ""}\n',
    ]
    assert match_lines(load_rules(rules_dir), lines, out, err) == 0
    results = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["id"], [m["rule"] for m in r["matches"]]) for r in results] == [("1", ["summit"]), ("2", [])]


def test_match_results_carry_severity_and_evidence(rules_dir: Path) -> None:
    out = io.StringIO()
    match_lines(
        load_rules(rules_dir), ['{"id": "1", "title": "Summit opens", "body": ""}'], out, io.StringIO()
    )
    [match] = json.loads(out.getvalue())["matches"]
    assert match["severity"] == "high"
    assert match["evidence"][0]["text"] == "Summit"


def test_match_writes_evidence_as_the_model_dumps_it() -> None:
    # the output builds each piece's JSON field by field (_evidence_json), for speed
    evidence = Evidence(
        part="meeting", field="body", term="summit", text="Summit", start=4, end=10, snippet="The Summit"
    )
    assert _evidence_json(evidence) == evidence.model_dump(mode="json")
    assert list(_evidence_json(evidence)) == list(evidence.model_dump(mode="json"))
    routed = evidence.model_copy(update={"entity": "xi", "route": "visit"})
    assert _evidence_json(routed) == routed.model_dump(mode="json")


def test_malformed_lines_are_reported_skipped_and_fail_the_run(rules_dir: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    lines = [
        "not json\n",
        '{"id": "1"}\n',
        '{"title": "x"}\n',
        '{"id": "2", "title": "Summit", "body": ""}\n',
    ]
    assert match_lines(load_rules(rules_dir), lines, out, err) == 1
    assert err.getvalue().startswith("line 1: skipped: invalid JSON")
    assert "line 2: skipped: line: an article needs a title, a summary or a body" in err.getvalue()
    assert "line 3: skipped: id: Field required" in err.getvalue()
    assert [json.loads(line)["id"] for line in out.getvalue().splitlines()] == ["2"]


def test_match_reads_a_file(rules_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    articles = tmp_path / "articles.jsonl"
    articles.write_text('{"id": "1", "title": "Summit", "body": "", "published": "2024-01-01T00:00:00Z"}\n')
    assert main(["match", "--rules", str(rules_dir), str(articles)]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == "1"


def test_rules_check_passes_a_good_directory(rules_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", str(rules_dir)]) == 0
    assert capsys.readouterr().out.startswith("ok: 1 rules")


def test_rules_check_warns_of_a_word_boundary_beside_a_letter_re2_reads_as_no_word_letter(
    write_rules: RuleWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    rule = "id: a\ntitle: A\nparts:\n  x: {any: ['/\\b(?:accuse|обвинил)\\b/', '/обвинил[а-яё]* (?:[^ ]+ )?в /']}\ncondition: x\n"
    directory = write_rules({"a.yaml": rule})
    assert main(["rules", "check", str(directory)]) == 0
    warnings = [line for line in capsys.readouterr().out.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"warning: {directory}/a.yaml:4:")
    assert "beside 'о', 'л'" in warnings[0]
    # and it never matches indeed: the class does
    rules = load_rules(directory)
    assert not rules.match(Article(id="a", body="он обвинил его"))
    assert rules.match(Article(id="a", body="он обвинил его в краже"))


def test_rules_check_prints_every_error_and_fails(
    write_rules: RuleWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = write_rules(
        {"a.yaml": "id: a\ntitle: A\nparts: {x: {any: [y]}}\ncondtion: x\n", "b.yaml": "id: [\n"}
    )
    assert main(["rules", "check", str(directory)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{directory}/a.yaml:4:1: unknown key 'condtion', did you mean 'condition'?"
    assert lines[1].startswith(f"{directory}/b.yaml:")


def test_rules_test_runs_the_inline_examples(rules_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "test", str(rules_dir)]) == 0
    assert capsys.readouterr().out.strip() == "2 examples, 0 failed"


def test_rules_test_names_the_failing_rule_and_example(
    write_rules: RuleWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = write_rules({"summit.yaml": RULE.replace("[Nothing here.]", "[A summit of leaders.]")})
    assert main(["rules", "test", str(directory)]) == 1
    assert "summit: no_match example 1 matched: A summit of leaders." in capsys.readouterr().out


def test_rules_eval_reports_precision_and_recall(
    rules_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = tmp_path / "set.yaml"
    dataset.write_text(
        yaml.safe_dump(
            [
                {"id": "a", "title": "Summit", "body": "", "labels": ["summit"], "language": "en"},
                {"id": "b", "title": "Summit", "body": "", "labels": [], "language": "en"},
                {"id": "c", "title": "Talks", "body": "", "labels": ["summit"], "language": "de"},
            ]
        )
    )
    assert main(["rules", "eval", str(dataset), "--rules", str(rules_dir), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["rules"]["summit"]
    assert (report["en"]["precision"], report["en"]["recall"], report["non_en"]["recall"]) == (0.5, 1.0, 0.0)
    assert report["en"]["false_alarms"] == ["b Summit"]
    assert report["non_en"]["misses"] == ["c Talks"]


def test_rules_eval_scores_again_under_neutral_headlines_and_names_unlabelled_rules(
    write_rules: RuleWriter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = RULE.replace("id: summit", "id: other").replace("[summit]", "[elsewhere]")
    directory = write_rules({"summit.yaml": RULE, "other.yaml": other})
    dataset = tmp_path / "set.yaml"
    dataset.write_text(
        yaml.safe_dump(
            [
                # the headline alone gives it away
                {"id": "a", "title": "Summit opens", "body": "Leaders arrived.", "labels": ["summit"]},
                {"id": "b", "title": "Leaders meet", "body": "The summit opened.", "labels": ["summit"]},
                {"id": "c", "title": "Rain", "body": "Rain fell.", "labels": [], "language": "fr"},
            ]
        )
    )
    assert (
        main(["rules", "eval", str(dataset), "--rules", str(directory), "--neutral-headlines", "--json"]) == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["rules"]["summit"]["en"]["recall"] == 1.0
    assert report["neutral_headline"] == "World news briefing"
    neutral = report["rules_neutral_headlines"]["summit"]["en"]
    assert (neutral["recall"], neutral["misses"]) == (0.5, ["a Summit opens"])
    assert report["unlabelled"] == ["other"]
    assert main(["rules", "eval", str(dataset), "--rules", str(directory), "--neutral-headlines"]) == 0
    out = capsys.readouterr().out
    assert "neutral headlines:" in out.splitlines()[0]
    assert "  missed (en, neutral headline): a Summit opens" in out
    assert "unlabelled (no article carries their label, so not scored): other" in out


def test_rules_schema_is_a_json_schema_that_accepts_rule_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(yaml.safe_load(RULE), schema)


def test_rules_schema_rejects_unknown_keys(capsys: pytest.CaptureFixture[str]) -> None:
    main(["rules", "schema"])
    schema = json.loads(capsys.readouterr().out)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**yaml.safe_load(RULE), "condtion": "x"}, schema)


def test_the_command_runs_as_a_module(rules_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "service", "match", "--rules", str(rules_dir), "-"],
        input='{"id": "1", "title": "Summit", "body": ""}\n',
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert json.loads(result.stdout)["matches"][0]["rule"] == "summit"


def test_geoalert_match_starts_without_importing_the_service_it_does_not_use(tmp_path: Path) -> None:
    """Start-up is most of a short `geoalert match` run: the web client, the settings and the
    subscriptions stay unimported (they cost more than the rules' own compilation)."""
    probe = (
        "import sys\n"
        "from service.cli import main\n"
        f"code = main(['match', '--rules', {str(ROOT / 'rules')!r}, '/dev/null'])\n"
        "heavy = ('aiohttp', 'service.subscriptions', 'pydantic_settings', 'service.config', 'redis')\n"
        "print(code, sorted({m.split('.')[0] if m.startswith(('aiohttp', 'redis')) else m "
        "for m in sys.modules if m.startswith(heavy)}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "0 []", result.stdout + result.stderr
