"""The compiled rule sets ``geoalert match`` keeps between runs: read back only when they are the
same rules compiled by the same code, and only from files no one else could have written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import PEOPLE, PLACES, RuleWriter

from service.matching import RuleLoadError, RuleSet, load_rules, rulecache
from service.matching.condition import unparse
from service.matching.explain import explain, render
from service.models import Article

RULE = """
id: r
title: R
parts:
  deal: {any: [deal, /sold \\d+ jets/]}
  leader: {entity: people, in_office: true}
conditions:
  signed: sentence(deal, leader)
condition: signed or near(deal, leader, 3)
"""
ARTICLES = [
    Article(id="1", body="Putin signed the deal on Friday.", published="2024-03-01T00:00:00Z"),
    Article(id="2", body="Russia sold 12 jets, Putin said.", published="2024-03-01T00:00:00Z"),
    Article(id="3", body="Nothing here.", published="2024-03-01T00:00:00Z"),
]


@pytest.fixture
def rules_dir(write_rules: RuleWriter) -> Path:
    return write_rules({"r.yaml": RULE, "lists/people.yaml": PEOPLE, "lists/places.yaml": PLACES})


def outcome(rules: RuleSet) -> list[object]:
    return [
        (m.rule, m.route, [e.model_dump() for e in m.evidence])
        for article in ARTICLES
        for m in rules.match(article)
    ]


def compiled_again(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record every compile from the files from here on."""
    loads: list[Path] = []

    def load(directory: Path) -> RuleSet:
        loads.append(directory)
        return load_rules(directory)

    monkeypatch.setattr(rulecache, "load_rules", load)
    return loads


def test_a_cached_set_matches_and_explains_as_the_compiled_one(
    rules_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    fresh = load_rules(rules_dir)
    first = rulecache.load_rules_cached(rules_dir, cache)
    [kept] = cache.glob("*.pickle")
    assert kept.stat().st_mode & 0o777 == 0o600
    assert cache.stat().st_mode & 0o777 == 0o700
    loads = compiled_again(monkeypatch)
    cached = rulecache.load_rules_cached(rules_dir, cache)
    assert loads == []
    assert cached.version == fresh.version == first.version
    assert outcome(cached) == outcome(fresh) != []
    # named conditions are written by name in explanations, as the rule writes them
    [rule] = cached.compiled.rules
    assert unparse(rule.condition, rule.condition_names) == "signed or near(deal, leader, 3)"
    for article in ARTICLES:
        assert render(explain(cached, article)) == render(explain(fresh, article))


def test_an_edited_rule_is_compiled_again(
    rules_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    rulecache.load_rules_cached(rules_dir, cache)
    (rules_dir / "r.yaml").write_text(RULE.replace("[deal,", "[contract,"), encoding="utf-8")
    loads = compiled_again(monkeypatch)
    rules = rulecache.load_rules_cached(rules_dir, cache)
    assert loads == [rules_dir]
    assert not rules.match(ARTICLES[0])
    assert len(list(cache.glob("*.pickle"))) == 2


@pytest.mark.parametrize("opened", ["file", "directory"])
def test_a_cache_others_may_write_is_not_read(
    rules_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, opened: str
) -> None:
    cache = tmp_path / "cache"
    rulecache.load_rules_cached(rules_dir, cache)
    [kept] = cache.glob("*.pickle")
    os.chmod(kept if opened == "file" else cache, 0o666 if opened == "file" else 0o777)
    loads = compiled_again(monkeypatch)
    assert outcome(rulecache.load_rules_cached(rules_dir, cache)) == outcome(load_rules(rules_dir))
    assert loads == [rules_dir]


def test_a_damaged_cache_file_is_compiled_again_and_replaced(
    rules_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    rulecache.load_rules_cached(rules_dir, cache)
    [kept] = cache.glob("*.pickle")
    whole = kept.read_bytes()
    kept.write_bytes(whole[: len(whole) // 2])
    loads = compiled_again(monkeypatch)
    assert outcome(rulecache.load_rules_cached(rules_dir, cache)) == outcome(load_rules(rules_dir))
    assert loads == [rules_dir]
    assert kept.read_bytes() == whole


def test_rules_with_errors_are_reported_and_never_kept(write_rules: RuleWriter, tmp_path: Path) -> None:
    directory = write_rules({"r.yaml": "id: r\ntitle: R\nparts: {a: {any: [x]}}\ncondition: b\n"})
    cache = tmp_path / "cache"
    with pytest.raises(RuleLoadError):
        rulecache.load_rules_cached(directory, cache)
    assert not list(cache.glob("*"))


def test_the_cache_can_be_turned_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(rulecache.ENVIRONMENT, "off")
    assert rulecache.cache_directory() is None
    monkeypatch.setenv(rulecache.ENVIRONMENT, str(tmp_path))
    assert rulecache.cache_directory() == tmp_path
    monkeypatch.delenv(rulecache.ENVIRONMENT)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert rulecache.cache_directory() == tmp_path / "geoalert" / "rules"


def test_old_files_and_abandoned_writes_are_cleared(rules_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    for number in range(rulecache.KEEP):
        old = cache / f"{number:064x}{rulecache.SUFFIX}"
        old.write_bytes(b"")
        os.utime(old, (1000 + number, 1000 + number))
    abandoned, writing = cache / ".abandoned.part", cache / ".writing.part"
    abandoned.write_bytes(b"")
    writing.write_bytes(b"")
    os.utime(abandoned, (1000, 1000))
    rulecache.load_rules_cached(rules_dir, cache)
    assert len(list(cache.glob(f"*{rulecache.SUFFIX}"))) == rulecache.KEEP
    assert not (cache / f"{0:064x}{rulecache.SUFFIX}").exists()
    assert not abandoned.exists()
    assert writing.exists()
