"""Issue 10, point 2: YAML alias bombs, deep nesting and huge files get a located error, fast.

Every operator file (rules, feeds, subscriptions) goes through the one YAML
loader, so each is attacked here with the shapes that broke it. On the code
before the fix these took tens of seconds and gigabytes; the timeouts below
make such a run fail instead of eating the machine.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from service.errors import ConfigFileError
from service.ingest.feeds import load_feeds_file
from service.matching import RuleLoadError, load_rules
from service.subscriptions import load_subscriptions_file
from service.yamlfile import MAX_DEPTH, MAX_FILE_BYTES, load_marked
from tests.apikit import ApiFactory
from tests.conftest import ROOT

LOCATED = re.compile(r"^(?P<path>\S+\.yaml):(?P<line>\d+):(?P<col>\d+): ")


def alias_bomb(levels: int = 6, width: int = 9, indent: str = "") -> str:
    """Billion laughs: each level is ``width`` aliases of the one below (9**7 leaves in ~330 bytes)."""
    lines = [f"{indent}l0: &l0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, levels + 1):
        lines.append(f"{indent}l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


RULE_BOMB = "id: bomb\ntitle: Bomb\nparts:\n" + alias_bomb(indent="  ") + "condition: l6\n"
FEEDS_BOMB = "x-bomb:\n" + alias_bomb(indent="  ") + "feeds: *l6\n"
SUBSCRIPTIONS_BOMB = "x-bomb:\n" + alias_bomb(indent="  ") + "subscriptions: *l6\n"


def located(problems: list[object], path: Path) -> list[int]:
    lines = []
    for problem in problems:
        match = LOCATED.match(str(problem))
        assert match, problem
        assert match["path"] == str(path)
        lines.append(int(match["line"]))
    return lines


@pytest.mark.timeout(10)
def test_a_rule_file_alias_bomb_is_refused_at_its_line(tmp_path: Path) -> None:
    assert len(RULE_BOMB.encode()) < 480
    (tmp_path / "bomb.yaml").write_text(RULE_BOMB)

    started = time.perf_counter()
    with pytest.raises(RuleLoadError) as raised:
        load_rules(tmp_path)

    assert time.perf_counter() - started < 5  # tens of seconds before; milliseconds now
    [problem] = raised.value.errors
    [line] = located([problem], tmp_path / "bomb.yaml")
    assert 4 <= line <= 10  # a line of the bomb, whose aliases blow up
    assert "aliases" in problem.message


@pytest.mark.timeout(10)
def test_a_feeds_file_alias_bomb_is_refused_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(FEEDS_BOMB)
    with pytest.raises(ConfigFileError) as raised:
        load_feeds_file(path)
    assert located(raised.value.problems, path)
    assert "aliases" in str(raised.value)


@pytest.mark.timeout(10)
def test_a_subscriptions_file_alias_bomb_is_refused_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "subscriptions.yaml"
    path.write_text(SUBSCRIPTIONS_BOMB)
    with pytest.raises(ConfigFileError) as raised:
        load_subscriptions_file(path)
    assert located(raised.value.problems, path)
    assert "aliases" in str(raised.value)


@pytest.mark.timeout(30)
def test_rules_check_answers_fast_on_the_bomb_with_a_located_error(tmp_path: Path) -> None:
    (tmp_path / "bomb.yaml").write_text(RULE_BOMB)
    done = subprocess.run(
        [sys.executable, "-m", "service", "rules", "check", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert done.returncode == 1
    assert re.match(rf"{re.escape(str(tmp_path / 'bomb.yaml'))}:\d+:\d+: .*aliases", done.stdout)


@pytest.mark.timeout(10)
def test_a_value_that_contains_itself_through_an_alias_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds: &loop\n  - name: a\n    url: x\n    headers: *loop\n")
    with pytest.raises(ConfigFileError) as raised:
        load_feeds_file(path)
    assert located(raised.value.problems, path)
    assert "contains itself" in str(raised.value)


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "deep",
    [
        "x: " + "[" * 900 + "]" * 900,
        "".join(f"{' ' * i}k{i}:\n" for i in range(900)) + " " * 900 + "v\n",
    ],
    ids=["flow", "block"],
)
def test_a_document_nested_deeper_than_the_limit_is_refused_where_it_gets_too_deep(deep: str) -> None:
    with pytest.raises(ConfigFileError) as raised:
        load_marked(deep, "deep.yaml")
    [problem] = raised.value.problems
    assert f"more than {MAX_DEPTH} levels" in problem.message
    assert problem.line >= 1


def test_a_file_larger_than_the_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_bytes(b"feeds: []\n" + b"#" * MAX_FILE_BYTES)
    with pytest.raises(ConfigFileError, match=r"feeds\.yaml:1:1: .*larger than"):
        load_feeds_file(path)


def test_a_value_yaml_cannot_build_is_an_error_at_its_line() -> None:
    # found by tests/hostile/test_fuzz_rules.py: a 13th month raised ValueError from the YAML library
    with pytest.raises(ConfigFileError) as raised:
        load_marked("feeds:\n  - since: 2026-13-45\n", "feeds.yaml")
    [problem] = raised.value.problems
    assert (problem.line, problem.col) == (2, 12)
    assert "month must be in 1..12" in problem.message


def test_ordinary_anchors_and_merges_still_load(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "feeds:\n"
        "  - &first {name: a, url: http://a.example/rss, interval: 60, headers: &h {X-Key: k}}\n"
        "  - {<<: *first, name: b, url: http://b.example/rss, headers: *h}\n"
    )
    assert [feed.name for feed in load_feeds_file(path)] == ["a", "b"]


def test_the_shipped_rules_fit_well_within_the_limits() -> None:
    assert load_rules(ROOT / "rules").rules


async def test_an_alias_bomb_sent_as_an_edit_to_explain_is_a_located_422(start_api: ApiFactory) -> None:
    api = await start_api()
    bomb = RULE_BOMB.replace("id: bomb", "id: bomb_rule")
    article = {"title": "Port call", "body": "A frigate docked in Havana."}
    status, body = await api.call(
        "POST", "/v1/rules/explain", {**article, "rules": ["bomb_rule"], "yaml": bomb}
    )
    assert status == 422, body
    assert "does not compile" in body["error"]["message"]
    assert "bomb_rule.yaml:9:" in body["error"]["message"]  # located at the line that expands
