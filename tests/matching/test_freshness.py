"""Lists say when their facts were checked: stale lists and unverified entries are reported."""

import datetime as dt
from pathlib import Path

import pytest
from conftest import RuleWriter

from service.cli import main
from service.matching import load_rules
from service.matching.freshness import ListFacts, freshness_summary, freshness_warnings

RULE = "id: r\ntitle: R\nparts:\n  who: {entity: people}\ncondition: who\n"
PEOPLE = """
list: people
as_of: 2026-01-10
entities:
  - id: ana
    name: Ana Example
    offices: [{role: president, from: 2020-01-01, note: "successor after the 2026 election unverified"}]
  - id: bo
    name: Bo Example
    unverified: true
  - id: cy
    name: Cy Example
"""
PLACES = "list: places\nas_of: 2026-03-01\nstale_after_days: 400\nentities: [{id: X, name: Xland}]\n"
TODAY = dt.date(2026, 6, 1)


@pytest.fixture
def directory(write_rules: RuleWriter) -> Path:
    return write_rules({"r.yaml": RULE, "lists/people.yaml": PEOPLE, "lists/places.yaml": PLACES})


def test_a_list_older_than_the_set_age_is_reported_at_its_as_of_line(directory: Path) -> None:
    facts = load_rules(directory).compiled.list_facts
    warnings = freshness_warnings(facts, TODAY, max_age_days=90)
    assert warnings[0] == (
        f"{directory}/lists/people.yaml:2: list 'people' was last checked on 2026-01-10 "
        "(142 days ago, more than 90)"
    )
    # a list's own stale_after_days wins over the default
    assert not any("'places'" in warning for warning in warnings)
    assert freshness_warnings(facts, TODAY, max_age_days=200)[0].endswith(
        "unverified: ana (president) (successor after the 2026 election unverified)"
    )


def test_entries_and_offices_marked_unverified_are_listed_with_their_lines(directory: Path) -> None:
    facts = load_rules(directory).compiled.list_facts
    unverified = [w for w in freshness_warnings(facts, TODAY, max_age_days=1000)]
    assert unverified == [
        f"{directory}/lists/people.yaml:6: unverified: ana (president) (successor after the 2026 election unverified)",
        f"{directory}/lists/people.yaml:7: unverified: bo",
    ]


def test_rules_check_warns_but_passes(directory: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", str(directory), "--max-list-age", "1"]) == 0
    out = capsys.readouterr().out
    assert "warning: " in out
    assert "list 'people' was last checked on 2026-01-10" in out
    assert "unverified: bo" in out


def test_the_health_summary_gives_places_and_dates_not_the_lists_text(directory: Path) -> None:
    facts = load_rules(directory).compiled.list_facts
    # as the matcher publishes them to Redis for the api role, and back
    restored = tuple(ListFacts.from_record(f.to_record()) for f in facts)
    summary = freshness_summary(restored, TODAY, 90)
    assert summary == {
        "max_age_days": 90,
        "stale": [{"list": "people", "as_of": "2026-01-10", "age_days": 142}],
        "unverified": 2,
        "unverified_at": [f"{directory}/lists/people.yaml:6", f"{directory}/lists/people.yaml:7"],
    }
    assert "successor" not in str(summary)
