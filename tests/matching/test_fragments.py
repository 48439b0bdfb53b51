"""A term list named inside a regex ({@name}) stands for its terms there, as alternatives."""

from pathlib import Path

import pytest
from conftest import RuleWriter

from service.matching import RuleLoadError, RuleSet, load_rules
from service.models import Article

MONTHS = """
list: months
terms: [january, february, march, april, may]
"""

RULE = """
id: r
title: R
parts:
  dated: {any: ["TERM"]}
condition: dated
"""


def rules(write_rules: RuleWriter, term: str, lists: dict[str, str] | None = None) -> RuleSet:
    files = {"r.yaml": RULE.replace("TERM", term), "lists/months.yaml": MONTHS, **(lists or {})}
    return load_rules(write_rules(files))


def fired(ruleset: RuleSet, body: str) -> bool:
    return bool(ruleset.match(Article(id="a", title="News", body=body)))


def errors(write_rules: RuleWriter, term: str, lists: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(RuleLoadError) as failure:
        rules(write_rules, term, lists)
    return [str(error) for error in failure.value.errors]


def test_a_list_named_in_a_regex_matches_as_its_terms_written_out_would(write_rules: RuleWriter) -> None:
    ruleset = rules(write_rules, "/\\\\bin (?:early |late )?{@months}\\\\b/")
    assert fired(ruleset, "The two leaders met in early March.")
    assert fired(ruleset, "They met in May.")
    assert not fired(ruleset, "They met in Maybury.")  # the \b after the group still holds
    assert not fired(ruleset, "They may meet in June.")  # not in the list
    [pattern] = ruleset.compiled.scanner._sources
    assert pattern == "\\bin (?:early |late )?(?:january|february|march|april|may)\\b"


def test_a_regex_with_a_list_is_shown_as_written(write_rules: RuleWriter) -> None:
    ruleset = rules(write_rules, "/\\\\bin {@months}\\\\b/")
    [match] = ruleset.match(Article(id="a", title="News", body="They met in April."))
    assert [evidence.term for evidence in match.evidence] == ["/\\bin {@months}\\b/"]


def test_a_phrase_of_the_list_stands_for_itself_not_for_regex_syntax(write_rules: RuleWriter) -> None:
    navies = {"lists/navies.yaml": "list: navies\nterms: [u.s., hmas]\n"}
    ruleset = rules(write_rules, "/\\\\bthe {@navies} navy\\\\b/", navies)
    assert fired(ruleset, "Crews of the U.S. navy sailed on.")
    assert not fired(ruleset, "Crews of the uxs navy sailed on.")  # "." is not any character


def test_an_unknown_list_in_a_regex_is_an_error_at_the_term(write_rules: RuleWriter, tmp_path: Path) -> None:
    assert errors(write_rules, "/\\\\bin {@monts}\\\\b/") == [
        f"{tmp_path}/rules/r.yaml:4:17: unknown list '@monts', did you mean 'months'?"
    ]


def test_a_list_that_cannot_stand_in_a_regex_is_an_error_that_says_why(write_rules: RuleWriter) -> None:
    prefixed = {"lists/talks.yaml": "list: talks\nterms: [negotiat*]\n"}
    [message] = errors(write_rules, "/\\\\b{@talks} resumed\\\\b/", prefixed)
    assert message.endswith("list '@talks' has the prefix term 'negotiat*', which cannot stand in a regex")


def test_a_list_whose_regex_names_the_list_itself_is_an_error(write_rules: RuleWriter) -> None:
    looping = {"lists/loop.yaml": 'list: loop\nterms: ["/\\\\\\\\bon {@loop}\\\\\\\\b/", monday]\n'}
    messages = errors(write_rules, "@loop", looping)
    assert any("list 'loop' includes itself: loop -> loop" in message for message in messages)
