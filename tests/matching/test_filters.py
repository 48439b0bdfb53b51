"""Part options are registered filters, applied in a fixed order after the occurrences are found."""

from conftest import PEOPLE, PLACES, RuleWriter

from service.matching import load_rules
from service.matching.filters import title_skipped

PARTS = """
id: r
title: R
fields: [title, body]
parts:
  leaders: {entity: people, in_office: true, min: 2, distinct: country, where: {country: [RU, KP]}}
  place: {entity: places, abroad_from: people}
  dated: {any: ['/in \\d{4}/'], year: before_published, fields: [body]}
  month: {any: [in june], month: before_published}
  plain: {any: [talks]}
  people: {entity: people}
condition: leaders and place and dated and month and plain and people
"""


def test_a_part_runs_the_filters_its_options_call_for_in_a_fixed_order(write_rules: RuleWriter) -> None:
    rules = load_rules(
        write_rules({"r.yaml": PARTS, "lists/people.yaml": PEOPLE, "lists/places.yaml": PLACES})
    )
    [rule] = rules.compiled.rules
    filters = {part.name: part.filters for part in rule.parts}
    assert filters == {
        "leaders": ("fields", "in_office", "where", "distinct"),
        "place": ("fields", "abroad_from"),
        "dated": ("fields", "year_before_published"),
        "month": ("fields", "month_before_published"),
        "plain": ("fields",),
        "people": ("fields",),
    }


def test_a_title_after_former_or_before_elect_names_no_one_in_office() -> None:
    text = "the former russian president and the russian president elect met the russian president"
    skip_after, skip_before = frozenset({"former", "served as"}), frozenset({"elect"})
    first = text.index("russian president")
    second = text.index("russian president", first + 1)
    third = text.rindex("russian president")
    assert title_skipped(text, first, first + 17, skip_after, skip_before)
    assert title_skipped(text, second, second + 17, skip_after, skip_before)
    assert not title_skipped(text, third, third + 17, skip_after, skip_before)
    served = "who served as russian president"
    assert title_skipped(served, 14, 31, skip_after, skip_before)
