"""Named conditions: a guard or an alternative written once in a rule and used by name."""

from pathlib import Path

import pytest
from conftest import RuleWriter

from service.matching import RuleError, RuleLoadError, RuleSet, load_rules
from service.matching.explain import explain
from service.models import Article

RULE = """
id: r
title: R
parts:
  deal: {any: [deal]}
  arms: {any: [tanks, jets]}
  home: {any: [domestic]}
  talk: {any: [talks]}
conditions:
  at_home: clause(deal, home)
  sold: sentence(deal, arms, not at_home)
condition: sold or sentence(talk, arms)
"""


def rules_of(write_rules: RuleWriter, rule: str) -> RuleSet:
    return load_rules(write_rules({"r.yaml": rule}))


def errors_of(directory: Path) -> list[RuleError]:
    with pytest.raises(RuleLoadError) as failure:
        load_rules(directory)
    return failure.value.errors


def fired(rules: RuleSet, body: str) -> bool:
    return bool(rules.match(Article(id="a", body=body)))


def test_a_named_condition_holds_where_it_would_written_out_and_may_use_another(
    write_rules: RuleWriter,
) -> None:
    rules = rules_of(write_rules, RULE)
    assert fired(rules, "A deal for tanks was signed.")
    assert not fired(rules, "A domestic deal for tanks was signed.")
    assert fired(rules, "A domestic deal was signed; talks on jets go on.")
    written_out = RULE.replace(
        "condition: sold or", "condition: sentence(deal, arms, not clause(deal, home)) or"
    )
    written_out = written_out.replace("  sold: sentence(deal, arms, not at_home)\n", "")
    written_out = written_out.replace("  at_home: clause(deal, home)\n", "").replace("conditions:\n", "")
    plain = rules_of(write_rules, written_out)
    for body in ("A deal for tanks.", "A domestic deal for tanks.", "Talks on jets.", "A deal."):
        assert fired(plain, body) == fired(rules, body)


def test_an_unknown_part_in_a_named_condition_is_located_in_it(write_rules: RuleWriter) -> None:
    directory = write_rules({"r.yaml": RULE.replace("clause(deal, home)", "clause(deal, hom)")})
    [error] = errors_of(directory)
    assert error.message == "condition: unknown part 'hom', did you mean 'home'?"
    assert (error.line, error.col) == (9, 25)


def test_a_named_condition_that_uses_itself_is_an_error(write_rules: RuleWriter) -> None:
    directory = write_rules({"r.yaml": RULE.replace("clause(deal, home)", "clause(deal, sold)")})
    messages = [error.message for error in errors_of(directory)]
    assert "condition 'at_home' uses itself (at_home -> sold -> at_home)" in messages


def test_a_named_condition_no_one_uses_is_an_error(write_rules: RuleWriter) -> None:
    directory = write_rules({"r.yaml": RULE.replace("conditions:\n", "conditions:\n  spare: deal\n")})
    [error] = errors_of(directory)
    assert error.message == "condition 'spare' is not used"
    assert (error.line, error.col) == (9, 3)


def test_a_named_condition_cannot_share_a_parts_name_or_a_keyword(write_rules: RuleWriter) -> None:
    directory = write_rules(
        {"r.yaml": RULE.replace("  at_home: clause(deal, home)", "  home: clause(deal, home)")}
    )
    messages = [error.message for error in errors_of(directory)]
    assert "condition 'home' has the name of a part" in messages
    directory = write_rules({"r.yaml": RULE.replace("conditions:\n", "conditions:\n  near: deal\n")})
    assert any("condition keywords: near" in error.message for error in errors_of(directory))


def test_a_negated_named_condition_cannot_open_a_window(write_rules: RuleWriter) -> None:
    rule = RULE.replace("  at_home: clause(deal, home)", "  at_home: not home").replace(
        "sentence(deal, arms, not at_home)", "sentence(at_home, deal, arms)"
    )
    [error] = errors_of(write_rules({"r.yaml": rule}))
    assert error.message == "condition: the first argument of sentence() cannot be negated"
    assert (error.line, error.col) == (10, 18)


def test_an_explanation_writes_a_named_condition_by_its_name(write_rules: RuleWriter) -> None:
    rules = rules_of(write_rules, RULE)
    [rule] = explain(rules, Article(id="a", body="A domestic deal for tanks.")).rules
    [route] = rule.routes
    assert route.condition == "sold or sentence(talk, arms)"
    [window] = [window for window in route.windows if window.vetoed_by is not None]
    assert window.vetoed_by == "at_home"
