"""Hot reload: edits take effect on refresh; a broken edit keeps the last good rules."""

import logging
import os
from pathlib import Path

import pytest
from conftest import RuleWriter

from service.matching import RuleLoadError, RuleSource

RULE = "id: {id}\ntitle: T\nparts:\n  a: {{any: [x]}}\ncondition: a\n"


def touch_later(path: Path) -> None:
    # file systems with coarse timestamps would otherwise hide a quick second write
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def edit(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    touch_later(path)


@pytest.fixture
def source(write_rules: RuleWriter) -> RuleSource:
    return RuleSource(write_rules({"a.yaml": RULE.format(id="first")}))


def test_the_first_load_must_succeed(write_rules: RuleWriter) -> None:
    with pytest.raises(RuleLoadError):
        RuleSource(write_rules({"a.yaml": "id: broken\n"}))


def test_refresh_without_changes_installs_nothing(source: RuleSource) -> None:
    assert source.refresh() is False


def test_an_edited_rule_takes_effect(source: RuleSource) -> None:
    edit(source.directory / "a.yaml", RULE.format(id="second"))
    assert source.refresh() is True
    assert [rule.id for rule in source.rules.rules] == ["second"]


def test_an_added_file_takes_effect(source: RuleSource) -> None:
    edit(source.directory / "b.yaml", RULE.format(id="added"))
    assert source.refresh() is True
    assert source.rules.get("added") is not None


def test_a_removed_file_takes_effect(source: RuleSource) -> None:
    edit(source.directory / "b.yaml", RULE.format(id="added"))
    source.refresh()
    (source.directory / "b.yaml").unlink()
    assert source.refresh() is True
    assert source.rules.get("added") is None


def test_a_broken_edit_keeps_the_last_good_rules(source: RuleSource) -> None:
    version = source.version
    edit(source.directory / "a.yaml", "id: first\ntitle: T\nparts:\n  a: {any: [x]}\ncondtion: a\n")
    assert source.refresh() is False
    assert source.version == version
    assert source.rules.get("first") is not None


def test_a_broken_edit_exposes_its_errors_with_file_and_line(source: RuleSource) -> None:
    edit(source.directory / "a.yaml", "id: first\ntitle: T\nparts:\n  a: {any: [x]}\ncondtion: a\n")
    source.refresh()
    assert [(Path(e.path).name, e.line) for e in source.errors] == [("a.yaml", 5)]


def test_a_broken_edit_is_logged(source: RuleSource, caplog: pytest.LogCaptureFixture) -> None:
    edit(source.directory / "a.yaml", "id: [\n")
    with caplog.at_level(logging.ERROR, logger="service.matching.source"):
        source.refresh()
    assert "a.yaml:" in caplog.text


def test_fixing_the_edit_clears_the_errors(source: RuleSource) -> None:
    edit(source.directory / "a.yaml", "id: [\n")
    source.refresh()
    edit(source.directory / "a.yaml", RULE.format(id="fixed"))
    assert source.refresh() is True
    assert source.errors == []


def test_touching_a_file_without_changing_it_installs_nothing(source: RuleSource) -> None:
    touch_later(source.directory / "a.yaml")
    assert source.refresh() is False


def test_the_version_is_a_digest_of_the_files(source: RuleSource) -> None:
    before = source.version
    edit(source.directory / "a.yaml", RULE.format(id="other"))
    source.refresh()
    assert source.version != before
    assert len(source.version) == 16
