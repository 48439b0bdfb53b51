import pytest

from service.matching.condition import (
    And,
    AtLeast,
    ConditionError,
    Near,
    Not,
    Or,
    Ref,
    Sentence,
    parse_condition,
    unparse,
)
from service.matching.schema import json_schema


def test_and_binds_tighter_than_or() -> None:
    assert parse_condition("a or b and c") == Or((Ref("a", 0), And((Ref("b", 5), Ref("c", 11)))))


def test_sentence_takes_negated_arguments_after_the_first() -> None:
    node = parse_condition("sentence(a, b, not c)")
    assert node == Sentence((Ref("a", 9), Ref("b", 12), Not(Ref("c", 19))))


def test_clause_is_a_sentence_scope_narrowed_to_one_clause() -> None:
    node = parse_condition("clause(a, not b)")
    assert node == Sentence((Ref("a", 7), Not(Ref("b", 14))), clause=True)


def test_near_ends_with_a_word_count() -> None:
    node = parse_condition("near(a, b, 5)")
    assert isinstance(node, Near)
    assert node.words == 5


def test_n_of_counts_its_arguments() -> None:
    node = parse_condition("2 of (a, b, c)")
    assert isinstance(node, AtLeast)
    assert node.count == 2


def test_keywords_may_be_upper_case() -> None:
    assert parse_condition("a AND NOT b") == And((Ref("a", 0), Not(Ref("b", 10))))


@pytest.mark.parametrize(
    ("text", "position"),
    [("a and", 5), ("a or (b", 7), ("a $ b", 2), ("a b", 2)],
)
def test_syntax_errors_carry_their_position(text: str, position: int) -> None:
    with pytest.raises(ConditionError) as error:
        parse_condition(text)
    assert error.value.position == position


def test_the_search_in_sentence_cannot_start_from_a_negation() -> None:
    with pytest.raises(ConditionError, match="cannot be negated"):
        parse_condition("sentence(not a, b)")


def test_n_of_cannot_ask_for_more_than_it_has() -> None:
    with pytest.raises(ConditionError, match="between 1 and 2"):
        parse_condition("3 of (a, b)")


def test_nesting_is_bounded_so_a_hostile_condition_cannot_exhaust_the_stack() -> None:
    with pytest.raises(ConditionError, match="nested deeper than 24 levels") as error:
        parse_condition("not " * 5000 + "a")
    assert error.value.position == 4 * 24
    with pytest.raises(ConditionError, match="nested deeper"):
        parse_condition("(" * 5000 + "a" + ")" * 5000)


def test_a_condition_at_the_depth_limit_still_parses() -> None:
    assert parse_condition("(" * 23 + "a" + ")" * 23) == Ref("a", 23)


def test_the_schema_refuses_every_keyword_the_parser_knows_as_a_part_name() -> None:
    definitions = json_schema()["$defs"]
    refused = set(definitions["RuleFile"]["properties"]["parts"]["propertyNames"]["not"]["enum"])
    assert refused == set(definitions["GuardFile"]["properties"]["guards"]["propertyNames"]["not"]["enum"])
    assert "clause" in refused
    assert "clause" in definitions["RuleFile"]["properties"]["condition"]["description"]
    for keyword in refused:
        with pytest.raises(ConditionError):
            parse_condition(keyword)


@pytest.mark.parametrize(
    "text",
    ["sentence(a, b, not c)", "a and (b or c)", "2 of (a, b, near(c, d, 4))", "clause(a, not (b and c))"],
)
def test_unparse_writes_a_condition_back(text: str) -> None:
    assert unparse(parse_condition(text)) == text
