"""Part options are registered filters, applied in a fixed order after the occurrences are found."""

import datetime as dt

import pytest
from conftest import PEOPLE, PLACES, RuleWriter

from service.matching import RuleLoadError, RuleSet, load_rules
from service.matching.filters import title_skipped
from service.matching.occurrences import Occurrences
from service.models import Article

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


PRODUCTS = """
list: products
entities:
  - {id: widget, name: Widget, aliases: [Widgets], attributes: {origin: KP}}
  - {id: gadget, name: Gadget, aliases: [Gadgets], attributes: {origin: RU}}
  - {id: gizmo, name: Gizmo, aliases: [Gizmos]}
"""

IMPORTS = """
id: r
title: R
parts:
  imported: {entity: products, made_abroad: places}
condition: imported
"""


def _imports(write_rules: RuleWriter, rule: str = IMPORTS) -> RuleSet:
    return load_rules(
        write_rules({"r.yaml": rule, "lists/places.yaml": PLACES, "lists/products.yaml": PRODUCTS})
    )


def _fired(rules: RuleSet, body: str) -> bool:
    return bool(
        rules.match(Article(id="a", title="", body=body, published=dt.datetime(2025, 1, 1, tzinfo=dt.UTC)))
    )


def test_made_abroad_keeps_a_product_made_in_another_country_than_one_the_sentence_names(
    write_rules: RuleWriter,
) -> None:
    rules = _imports(write_rules)
    assert _fired(rules, "Russia bought 12 Widgets.")  # made in North Korea: the seller
    assert _fired(rules, "Russia and North Korea signed for 12 Widgets.")  # Russia is not the maker
    assert not _fired(rules, "Russia bought 12 Gadgets.")  # made at home
    assert not _fired(rules, "North Korea showed 12 Widgets.")  # the maker itself
    assert not _fired(rules, "12 Widgets arrived.")  # no country: no one to be abroad from
    assert not _fired(rules, "Russia said it was pleased. 12 Widgets arrived.")  # another sentence
    assert not _fired(rules, "Russia bought 12 Gizmos.")  # origin unknown
    [rule] = rules.compiled.rules
    assert rule.parts[0].filters == ("made_abroad",)


def test_made_abroad_needs_a_list_of_places_and_products_with_an_origin(write_rules: RuleWriter) -> None:
    with pytest.raises(RuleLoadError) as unknown:
        _imports(write_rules, IMPORTS.replace("made_abroad: places", "made_abroad: placez"))
    assert "r.yaml:4:45:" in str(unknown.value)
    with pytest.raises(RuleLoadError) as no_origin:
        _imports(write_rules, IMPORTS.replace("entity: products", "entity: places"))
    assert "needs entities with an 'origin' attribute" in str(no_origin.value)


def test_origin_elsewhere_keeps_a_product_whose_country_its_sentence_leaves_unnamed_in_a_story_of_another(
    write_rules: RuleWriter,
) -> None:
    rules = _imports(write_rules, IMPORTS.replace("made_abroad: places", "origin_elsewhere: places"))
    # the buyer named in another sentence, the product's maker in none
    assert _fired(rules, "Russia's army is growing. The first 12 Widgets landed at the base.")
    assert _fired(rules, "The first 12 Widgets landed at the base, Russian officials said.")
    assert not _fired(
        rules, "North Korea's army is growing. The first 12 Widgets landed at the base."
    )  # home
    assert not _fired(rules, "Russia is pleased. The first 12 North Korean Widgets landed.")  # maker named
    assert not _fired(rules, "The first 12 Widgets landed at the base.")  # no other country anywhere
    assert not _fired(rules, "Russia's army is growing. The first 12 Gizmos landed.")  # origin unknown
    [rule] = rules.compiled.rules
    assert rule.parts[0].filters == ("origin_elsewhere",)


def test_made_at_home_keeps_a_product_made_in_the_only_country_its_sentence_names(
    write_rules: RuleWriter,
) -> None:
    rules = _imports(write_rules, IMPORTS.replace("made_abroad: places", "made_at_home: places"))
    assert _fired(rules, "Russia ordered 12 more Gadgets.")  # an order at home
    assert not _fired(rules, "Russia ordered 12 Widgets.")  # made in North Korea: an import
    assert not _fired(rules, "Russia and North Korea signed for 12 Gadgets.")  # another state named
    assert not _fired(rules, "12 Gadgets arrived.")  # no country: the buyer is not told
    assert not _fired(rules, "Russia ordered 12 Gizmos.")  # origin unknown
    [rule] = rules.compiled.rules
    assert rule.parts[0].filters == ("made_at_home",)


@pytest.mark.parametrize("option", ["made_abroad", "made_at_home", "origin_elsewhere"])
def test_each_option_that_compares_an_origin_needs_a_list_of_places(
    write_rules: RuleWriter, option: str
) -> None:
    with pytest.raises(RuleLoadError) as unknown:
        _imports(write_rules, IMPORTS.replace("made_abroad: places", f"{option}: placez"))
    assert f"'{option}' needs an entity list of places" in str(unknown.value)


def test_a_sentence_naming_thousands_of_products_gathers_its_places_once(
    write_rules: RuleWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = _imports(write_rules)
    passes = 0
    named_between = Occurrences._named_between

    def counted(self: Occurrences, list_name: str, low: int, high: int) -> set[str]:
        nonlocal passes
        passes += 1
        return named_between(self, list_name, low, high)

    monkeypatch.setattr(Occurrences, "_named_between", counted)
    assert _fired(rules, "Russia bought Widgets and " * 2000 + "more.")
    assert passes == 1
