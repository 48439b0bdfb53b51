"""Every problem in a rules directory is reported at once, at the line and column to edit."""

from pathlib import Path

import pytest
from conftest import RuleWriter

from service.errors import ConfigFileError, FileProblem
from service.matching import RuleError, RuleLoadError, load_rules

GOOD_RULE = """
id: good
title: Good
parts:
  meeting: {any: [~meet]}
condition: meeting
"""


def errors_of(directory: Path) -> list[RuleError]:
    with pytest.raises(RuleLoadError) as failure:
        load_rules(directory)
    return failure.value.errors


def test_a_misspelt_key_is_rejected_with_a_suggestion(write_rules: RuleWriter) -> None:
    directory = write_rules({"r.yaml": "id: r\ntitle: R\nparts:\n  a: {any: [x]}\ncondtion: a\n"})
    messages = [str(e) for e in errors_of(directory)]
    assert messages == [f"{directory}/r.yaml:5:1: unknown key 'condtion', did you mean 'condition'?"]


def test_a_misspelt_nested_key_points_at_its_own_line(write_rules: RuleWriter) -> None:
    directory = write_rules(
        {"r.yaml": "id: r\ntitle: R\nparts:\n  a:\n    any: [x]\n    minn: 2\ncondition: a\n"}
    )
    [error] = errors_of(directory)
    assert (error.line, error.col, error.message) == (6, 5, "unknown key 'minn', did you mean 'min'?")


def test_a_wrong_value_type_names_the_field(write_rules: RuleWriter) -> None:
    directory = write_rules(
        {"r.yaml": "id: r\ntitle: R\nseverity: urgent\nparts:\n  a: {any: [x]}\ncondition: a\n"}
    )
    [error] = errors_of(directory)
    assert error.line == 3
    assert error.message.startswith("severity:")


def test_a_duplicate_key_is_an_error_not_a_silent_override(write_rules: RuleWriter) -> None:
    directory = write_rules({"r.yaml": GOOD_RULE + "title: Again\n"})
    [error] = errors_of(directory)
    assert "duplicate key 'title' (first at line 2)" in error.message


def test_yaml_syntax_errors_are_located(write_rules: RuleWriter) -> None:
    directory = write_rules({"r.yaml": "id: r\ntitle: [unclosed\n"})
    [error] = errors_of(directory)
    assert error.message.startswith("YAML syntax error")
    assert error.line >= 2


def test_a_condition_error_points_into_the_condition(write_rules: RuleWriter) -> None:
    directory = write_rules(
        {"r.yaml": "id: r\ntitle: R\nparts:\n  meeting: {any: [x]}\ncondition: meeting and\n"}
    )
    [error] = errors_of(directory)
    assert (error.line, error.col) == (5, 23)


PARTS = "id: r\ntitle: R\nparts:\n  meeting: {any: [x]}\n  leaders: {any: [y]}\n"


@pytest.mark.parametrize(
    ("condition", "line", "col"),
    [
        # folded block: the unknown part on the third line of the condition
        ("condition: >\n  sentence(leaders,\n           meeting,\n           not phone)\n", 9, 16),
        # literal block
        ("condition: |\n  sentence(leaders,\n     not phone)\n", 8, 10),
        # plain scalar over several lines
        ("condition: sentence(leaders,\n  meeting, not phone)\n", 7, 16),
        # quoted, over several lines
        ('condition: "sentence(leaders,\n  meeting, not phone)"\n', 7, 16),
    ],
)
def test_an_error_in_a_multi_line_condition_points_at_its_own_line_and_column(
    write_rules: RuleWriter, condition: str, line: int, col: int
) -> None:
    [error] = errors_of(write_rules({"r.yaml": PARTS + condition}))
    assert error.message == "condition: unknown part 'phone'"
    assert (error.line, error.col) == (line, col)


def test_a_syntax_error_at_the_end_of_a_block_condition_points_just_after_it(write_rules: RuleWriter) -> None:
    [error] = errors_of(
        write_rules({"r.yaml": PARTS + "condition: >\n  sentence(leaders,\n     meeting and\n"})
    )
    assert error.message.startswith("condition: expected")
    assert (error.line, error.col) == (8, 17)


def test_an_error_in_a_route_points_into_the_route(write_rules: RuleWriter) -> None:
    routes = "routes:\n  one: meeting\n  two:\n    condition: >\n      sentence(leaders,\n        mee)\n"
    [error] = errors_of(write_rules({"r.yaml": PARTS + routes}))
    assert "unknown part 'mee'" in error.message
    assert (error.line, error.col) == (11, 9)


def test_a_condition_nested_too_deep_is_a_located_error(write_rules: RuleWriter) -> None:
    [error] = errors_of(
        write_rules({"r.yaml": PARTS + "condition: meeting and " + "(" * 40 + "leaders" + ")" * 40 + "\n"})
    )
    assert "nested deeper than" in error.message
    assert error.line == 6
    assert error.col > 23


def test_an_unknown_part_in_the_condition_gets_a_suggestion(write_rules: RuleWriter) -> None:
    directory = write_rules({"r.yaml": "id: r\ntitle: R\nparts:\n  meeting: {any: [x]}\ncondition: meetng\n"})
    messages = [e.message for e in errors_of(directory)]
    assert "condition: unknown part 'meetng', did you mean 'meeting'?" in messages


def test_a_part_left_out_of_the_condition_is_reported(write_rules: RuleWriter) -> None:
    directory = write_rules(
        {"r.yaml": "id: r\ntitle: R\nparts:\n  a: {any: [x]}\n  b: {any: [y]}\ncondition: a\n"}
    )
    [error] = errors_of(directory)
    assert error.message == "part 'b' is not used in the condition"
    assert error.line == 5


def test_an_unknown_list_is_reported_at_the_term(write_rules: RuleWriter) -> None:
    directory = write_rules(
        {
            "r.yaml": "id: r\ntitle: R\nparts:\n  a: {any: [x, '@meeting_wrds']}\ncondition: a\n",
            "lists/m.yaml": "list: meeting_words\nterms: [meet]\n",
        }
    )
    [error] = errors_of(directory)
    assert error.message == "unknown list '@meeting_wrds', did you mean 'meeting_words'?"


def test_a_list_that_includes_itself_is_reported(write_rules: RuleWriter) -> None:
    directory = write_rules(
        {"lists/a.yaml": "list: a\nterms: ['@b']\n", "lists/b.yaml": "list: b\nterms: ['@a']\n"}
    )
    assert any("includes itself" in e.message for e in errors_of(directory))


def test_an_invalid_regex_is_reported_with_the_reason(write_rules: RuleWriter) -> None:
    directory = write_rules(
        {"r.yaml": "id: r\ntitle: R\nparts:\n  a: {any: ['/(unclosed/']}\ncondition: a\n"}
    )
    [error] = errors_of(directory)
    assert "invalid regular expression" in error.message
    assert error.line == 4


def test_errors_from_every_file_are_collected(write_rules: RuleWriter) -> None:
    directory = write_rules(
        {
            "one.yaml": "id: one\ntitle: One\nparts: {a: {any: [x]}}\ncondition: b\n",
            "two.yaml": "id: two\ntitle: Two\nparts: {a: {anyy: [x]}}\ncondition: a\n",
            "three.yaml": GOOD_RULE,
        }
    )
    paths = {Path(e.path).name for e in errors_of(directory)}
    assert paths == {"one.yaml", "two.yaml"}


def test_two_rules_cannot_share_an_id(write_rules: RuleWriter) -> None:
    directory = write_rules({"a.yaml": GOOD_RULE, "b.yaml": GOOD_RULE})
    [error] = errors_of(directory)
    assert "rule id 'good' is already used" in error.message


def test_an_office_role_must_be_a_known_title(write_rules: RuleWriter) -> None:
    people = """
    list: people
    entities:
      - {id: p, name: P, attributes: {country: X}, offices: [{role: presdent, from: 2020-01-01}]}
    titles: {places: places, roles: {president: [president]}, templates: ["{demonym} {title}"]}
    """
    places = "list: places\nentities: [{id: X, name: Xland}]\n"
    directory = write_rules({"lists/people.yaml": people, "lists/places.yaml": places})
    [error] = errors_of(directory)
    assert error.message == "unknown role 'presdent', did you mean 'president'?"


@pytest.mark.parametrize("key", ["beside_places", "joined_places"])
def test_a_title_beside_or_after_places_must_name_a_known_role_at_its_line(
    write_rules: RuleWriter, key: str
) -> None:
    people = f"""
    list: people
    entities:
      - {{id: p, name: P, attributes: {{country: X}}, offices: [{{role: president, from: 2020-01-01}}]}}
    titles:
      places: places
      roles: {{president: [president]}}
      templates: ["{{demonym}} {{title}}"]
      {key}:
        presdent: [président]
    """
    places = "list: places\nentities: [{id: X, name: Xland}]\n"
    directory = write_rules({"lists/people.yaml": people, "lists/places.yaml": places})
    [error] = errors_of(directory)
    assert error.message == "unknown role 'presdent', did you mean 'president'?"
    assert error.line == 9


def test_a_rule_error_prints_as_path_line_column_message() -> None:
    assert str(RuleError("rules/a.yaml", 3, 7, "bad")) == "rules/a.yaml:3:7: bad"


def test_hidden_files_are_ignored_but_a_hidden_parent_directory_is_not(tmp_path: Path) -> None:
    directory = tmp_path / ".config" / "rules"
    (directory / ".drafts").mkdir(parents=True)
    (directory / "good.yaml").write_text(GOOD_RULE)
    (directory / ".drafts" / "broken.yaml").write_text("id: [\n")
    assert [info.id for info in load_rules(directory).rules] == ["good"]


def test_weak_is_only_for_entity_aliases(write_rules: RuleWriter) -> None:
    directory = write_rules(
        {"r.yaml": "id: r\ntitle: R\nparts:\n  a: {any: [{text: x, weak: true}]}\ncondition: a\n"}
    )
    [error] = errors_of(directory)
    assert error.message == "'weak' applies only to entity aliases"


def test_a_rules_error_is_a_config_file_error_with_the_same_problems(write_rules: RuleWriter) -> None:
    directory = write_rules({"r.yaml": GOOD_RULE + "title: Again\n"})
    with pytest.raises(ConfigFileError) as failure:
        load_rules(directory)
    assert isinstance(failure.value, RuleLoadError)
    assert failure.value.problems == failure.value.errors
    assert all(isinstance(problem, FileProblem) for problem in failure.value.problems)
