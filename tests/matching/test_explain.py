"""``geoalert rules explain`` and ``rules stats``: why a rule did or did not match, from the matcher itself."""

import datetime as dt
import json
from pathlib import Path

import pytest
from conftest import PEOPLE, PLACES, RuleWriter

from service.cli import main
from service.matching import RuleSet, load_rules
from service.matching.evaluation import load_dataset
from service.matching.explain import explain
from service.matching.stats import corpus_stats
from service.models import Article

ROOT = Path(__file__).resolve().parents[2]
DAY = dt.datetime(2023, 9, 5, tzinfo=dt.UTC)

RULE = """
id: summit
title: Summit
parts:
  leaders: {entity: people, in_office: true, min: 2, distinct: country}
  meeting: {any: [~meet], guards: [hedge]}
  phone: {any: [phone, telephone]}
  leader: {entity: people, in_office: true}
  travel: {any: [~fly to]}
  place: {entity: places}
routes:
  meeting: sentence(leaders, meeting, not phone)
  visit: sentence(leader, near(travel, place, 3))
"""
GUARDS = "guards:\n  hedge: {any: [never], near: 2}\n"


@pytest.fixture
def rules(write_rules: RuleWriter) -> RuleSet:
    return load_rules(
        write_rules(
            {
                "summit.yaml": RULE,
                "guards.yaml": GUARDS,
                "lists/people.yaml": PEOPLE,
                "lists/places.yaml": PLACES,
            }
        )
    )


def article(body: str, title: str = "") -> Article:
    return Article(id="a1", title=title, body=body, published=DAY)


def test_a_window_that_lacks_a_part_names_the_missing_condition(rules: RuleSet) -> None:
    [rule] = explain(rules, article("Putin met officials. Kim Jong Un stayed home.")).rules
    assert not rule.matched
    meeting = rule.routes[0]
    assert meeting.route == "meeting"
    assert meeting.failed == "sentence(leaders, meeting, not phone)"
    # two leaders are in the article, but in no one sentence with the meeting word
    [window] = meeting.windows
    assert (window.scope, window.field, window.text) == ("sentence", "body", "Putin met officials.")
    assert window.missing == "leaders"


def test_a_window_vetoed_by_a_negated_part_names_it_and_its_words(rules: RuleSet) -> None:
    [rule] = explain(rules, article("Putin met Kim Jong Un by telephone.")).rules
    [window] = rule.routes[0].windows
    assert window.vetoed_by == "phone"
    [veto] = window.veto
    assert (veto.part, veto.text, veto.field, veto.start) == ("phone", "telephone", "body", 25)


def test_a_guard_veto_names_the_guard_its_words_and_the_occurrence_it_dropped(rules: RuleSet) -> None:
    [rule] = explain(rules, article("Putin will never meet Kim Jong Un.")).rules
    [veto] = rule.guarded
    assert (veto.part, veto.occurrence.text, veto.occurrence.start) == ("meeting", "meet", 17)
    assert (veto.guard, veto.scope, veto.by.text, veto.by.start) == ("hedge", "near 2 words", "never", 11)
    assert rule.parts["meeting"] == 0
    assert rule.routes[0].windows[0].missing == "meeting"


def test_what_spares_exempted_and_not_within_set_aside_are_named(write_rules: RuleWriter) -> None:
    guards = (
        "guards:\n"
        "  hedge: {any: [never], near: 2}\n"
        "  dated:\n"
        "    any: ['/\\bin 20\\d\\d\\b/']\n"
        "    not_within: ['/\\binvited in 20\\d\\d\\b/']\n"
        "  decided: {any: ['/\\binvited in 20\\d\\d\\b/'], spares: [~meet]}\n"
    )
    rule = RULE.replace("guards: [hedge]", "guards: [hedge, dated, decided]")
    files = {
        "summit.yaml": rule,
        "guards.yaml": guards,
        "lists/people.yaml": PEOPLE,
        "lists/places.yaml": PLACES,
    }
    rules = load_rules(write_rules(files))
    [explained] = explain(
        rules, article("Putin met Kim Jong Un, whom he invited in 2019, in Vostochny.")
    ).rules
    assert explained.matched
    [spared] = explained.spared
    assert (spared.guard, spared.occurrence.text, spared.by.text) == ("decided", "met", "invited in 2019")
    [aside] = explained.set_aside
    assert (aside.occurrence.part, aside.occurrence.text, aside.within.text) == (
        "dated",
        "in 2019",
        "invited in 2019",
    )


def test_every_route_is_explained_and_the_first_that_held_named(rules: RuleSet) -> None:
    [rule] = explain(rules, article("Putin flew to North Korea.")).rules
    assert (rule.matched, rule.route) == (True, "visit")
    assert [(r.route, r.held) for r in rule.routes] == [("meeting", False), ("visit", True)]
    [window] = rule.routes[1].windows
    assert window.held
    assert [o.part for o in window.occurrences] == ["leader", "travel", "place"]


def test_a_rule_none_of_whose_anchor_terms_occurs_is_no_candidate(rules: RuleSet) -> None:
    [rule] = explain(rules, article("Nothing about anything.")).rules
    assert not rule.candidate
    assert not rule.matched


def test_explain_agrees_with_matching_on_every_library_rule_and_dev_article() -> None:
    library = load_rules(ROOT / "rules")
    for item in load_dataset(ROOT / "eval" / "dev" / "articles.yaml"):
        matched = {m.rule: m.route for m in library.match(item.article())}
        explained = explain(library, item.article())
        assert {r.rule: r.route for r in explained.rules if r.matched} == matched, item.id


def test_stats_count_parts_guards_and_vetoes_over_a_corpus(rules: RuleSet) -> None:
    corpus = [
        article("Putin will never meet Kim Jong Un."),
        article("Putin met Kim Jong Un by telephone."),
        article("Putin met Kim Jong Un."),
    ]
    [stats] = corpus_stats(rules, corpus)
    assert (stats.articles, stats.matched, stats.routes) == (3, 1, {"meeting": 1})
    assert (stats.parts["meeting"].articles, stats.parts["meeting"].times) == (2, 2)
    assert stats.guards["hedge on meeting"].times == 1
    assert stats.vetoes["not phone"].articles == 1
    assert stats.missing["meeting"].articles == 1


def test_rules_explain_prints_the_reasons(
    write_rules: RuleWriter, rules: RuleSet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "rules"
    lines = tmp_path / "a.jsonl"
    body = "Putin will never meet Kim Jong Un. Putin met Kim Jong Un by telephone."
    lines.write_text(
        json.dumps({"id": "a1", "title": "Ring\x1b[2J", "body": body, "published": "2023-09-05"})
    )
    assert main(["rules", "explain", "--rules", str(directory), str(lines)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert 'guard hedge (near 2 words) vetoed meeting "meet" (body 17) by hedge "never" (body 11)' in out
    assert 'vetoed by phone: phone "telephone" (body 60)' in out
    assert "visit: failed: sentence(leader, near(travel, place, 3))" in out
    assert main(["rules", "explain", "--rules", str(directory), "--json", str(lines)]) == 0
    [explained] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert explained["rules"][0]["guarded"][0]["guard"] == "hedge"


def test_rules_explain_refuses_an_unknown_rule(
    rules: RuleSet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rules", "explain", "--rules", str(tmp_path / "rules"), "--rule", "nope", "-"]) == 2
    assert "no rule has the id 'nope'" in capsys.readouterr().err


def test_rules_stats_reads_a_labelled_set(
    rules: RuleSet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = tmp_path / "set.yaml"
    dataset.write_text(
        "- {id: a, title: t, body: 'Putin met Kim Jong Un by telephone.', published: 2023-09-05, labels: []}\n"
    )
    assert main(["rules", "stats", "--rules", str(tmp_path / "rules"), str(dataset)]) == 0
    out = capsys.readouterr().out
    assert "summit: 0 of 1 articles matched" in out
    assert "not phone" in out
