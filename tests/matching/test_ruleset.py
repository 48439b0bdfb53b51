"""The interface the service core and the HTTP API call."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import RuleWriter

from service.matching import RuleInfo, RuleSet, load_rules
from service.matching.compiled import CompiledRule
from service.matching.evaluate import ArticleMatcher, Decision
from service.models import Article

RULE = """
id: summit
title: Leaders' summit
description: Leaders meet.
severity: high
tags: [diplomacy]
parts:
  meeting: {any: [summit]}
condition: meeting
"""


def test_rule_info_carries_the_metadata_and_source_file(write_rules: RuleWriter) -> None:
    directory = write_rules({"summit.yaml": RULE})
    [info] = load_rules(directory).rules
    assert info == RuleInfo(
        id="summit",
        title="Leaders' summit",
        severity="high",
        tags=["diplomacy"],
        description="Leaders meet.",
        path=str(directory / "summit.yaml"),
    )


def test_rule_info_serialises_to_json(write_rules: RuleWriter) -> None:
    [info] = load_rules(write_rules({"summit.yaml": RULE})).rules
    assert json.loads(info.model_dump_json())["id"] == "summit"


def test_get_finds_a_rule_by_id(write_rules: RuleWriter) -> None:
    rules = load_rules(write_rules({"summit.yaml": RULE}))
    assert rules.get("summit") is not None
    assert rules.get("nothing") is None


def test_a_match_carries_the_rule_metadata(write_rules: RuleWriter) -> None:
    rules = load_rules(write_rules({"summit.yaml": RULE}))
    [match] = rules.match(Article(id="a", title="G20 summit opens"))
    assert (match.rule, match.title, match.severity, match.tags) == (
        "summit",
        "Leaders' summit",
        "high",
        ["diplomacy"],
    )


def test_an_empty_rule_set_matches_nothing() -> None:
    assert RuleSet().match(Article(id="a", title="summit")) == []


def test_matching_is_safe_from_many_threads(write_rules: RuleWriter) -> None:
    rules = load_rules(write_rules({"summit.yaml": RULE}))
    articles = [Article(id=str(i), body="summit " * (i % 3)) for i in range(200)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda a: len(rules.match(a)), articles))
    assert results == [0 if i % 3 == 0 else 1 for i in range(200)]


def test_a_rule_that_fails_on_an_article_is_skipped_and_the_others_still_match(
    write_rules: RuleWriter, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    rules = load_rules(
        write_rules({"summit.yaml": RULE, "talks.yaml": RULE.replace("id: summit", "id: talks")})
    )
    evaluate = ArticleMatcher.evaluate

    def fails_on_summit(self: ArticleMatcher, rule: CompiledRule) -> Decision | None:
        if rule.info.id == "summit":
            raise IndexError("a defect in one rule's evaluation")
        return evaluate(self, rule)

    monkeypatch.setattr(ArticleMatcher, "evaluate", fails_on_summit)
    failed: list[str] = []
    matches = rules.match(Article(id="a1", title="G20 summit opens"), on_error=failed.append)
    assert [m.rule for m in matches] == ["talks"]
    assert failed == ["summit"]
    assert "rule 'summit' failed on article 'a1'" in caplog.text


def test_articles_without_an_anchor_term_are_passed_over_yet_a_rule_needing_no_term_still_matches(
    write_rules: RuleWriter,
) -> None:
    anchored = load_rules(write_rules({"summit.yaml": RULE}))
    assert anchored.compiled.anchor_scanner is not None
    assert anchored.match(Article(id="a", body="A summit in Oslo.")) != []
    # "summits" inside another word is no occurrence, for the screen as for the full scan
    assert anchored.match(Article(id="b", body="The summitry of it all.")) == []
    quiet = RULE.replace("id: summit", "id: quiet").replace("condition: meeting", "condition: not meeting")
    both = load_rules(write_rules({"summit.yaml": RULE, "quiet.yaml": quiet}))
    assert both.compiled.anchor_scanner is None
    assert [m.rule for m in both.match(Article(id="c", body="Nothing happened."))] == ["quiet"]
