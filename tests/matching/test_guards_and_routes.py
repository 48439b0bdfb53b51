"""Shared guards, defined once and scoped to where they bite, and named alternatives (routes)."""

import datetime as dt
from pathlib import Path

import pytest
from conftest import PEOPLE, PLACES, RuleWriter

from service.matching import RuleLoadError, RuleSet, load_rules
from service.matching.compiled import CompiledGuard
from service.models import Article

DAY = dt.datetime(2023, 9, 5, tzinfo=dt.UTC)

GUARDS = """
guards:
  speculation:
    description: the event is only possible
    any: [may, could, rumoured]
  hedge:
    any: [never, denied]
    near: 3
  history:
    any: [history, anniversary]
    scope: clause
  past_year:
    any: ['/\\b(?:19|20)\\d\\d\\b/']
    year: before_published
"""


def rules_with(write_rules: RuleWriter, rule: str, guards: str = GUARDS) -> RuleSet:
    return load_rules(
        write_rules(
            {
                "r.yaml": rule,
                "guards/common.yaml": guards,
                "lists/people.yaml": PEOPLE,
                "lists/places.yaml": PLACES,
            }
        )
    )


def fired(rules: RuleSet, body: str) -> bool:
    return bool(rules.match(Article(id="a", body=body, published=DAY)))


GUARDED = """
id: r
title: R
parts:
  leaders: {entity: people, in_office: true, min: 2, distinct: country}
  meeting: {any: [~meet, summit], guards: [GUARDS]}
condition: sentence(leaders, meeting)
"""


def guarded(write_rules: RuleWriter, *names: str) -> RuleSet:
    return rules_with(write_rules, GUARDED.replace("GUARDS", ", ".join(names)))


def test_a_sentence_guard_vetoes_the_event_word_of_its_sentence_only(write_rules: RuleWriter) -> None:
    rules = guarded(write_rules, "speculation")
    assert not fired(rules, "Putin may meet Kim Jong Un.")
    assert fired(rules, "Putin met Kim Jong Un. A deal may follow.")


def test_a_near_guard_bites_only_within_its_words(write_rules: RuleWriter) -> None:
    rules = guarded(write_rules, "hedge")
    assert not fired(rules, "Putin will never meet Kim Jong Un.")
    assert fired(rules, "Putin met Kim Jong Un on Tuesday in Vladivostok, a claim Moscow never denied.")


def test_a_near_guard_counts_its_words_from_the_last_word_of_a_phrase(write_rules: RuleWriter) -> None:
    rule = GUARDED.replace("[~meet, summit]", "[~meet, hold a summit with]")
    rules = rules_with(write_rules, rule.replace("GUARDS", "hedge"))
    # "never" is three words from the last word of the phrase, and six from its first
    assert not fired(rules, "Putin and Kim Jong Un hold a summit with no aides, never mind the protocol.")
    assert fired(
        rules, "Putin and Kim Jong Un hold a summit with their aides and staff, never mind the protocol."
    )


def test_a_near_guard_phrase_that_starts_within_its_words_bites_though_it_runs_past_them(
    write_rules: RuleWriter,
) -> None:
    guards = GUARDS + "  ruled_out:\n    any: ['/\\bnever (?:\\w+ ){0,8}?ruled out\\b/']\n    near: 3\n"
    rules = rules_with(write_rules, GUARDED.replace("GUARDS", "ruled_out"), guards)
    # the phrase begins two words after "meet" and ends nine words later
    assert not fired(rules, "Putin and Kim Jong Un would meet, never once in all these long years ruled out.")
    assert fired(rules, "Putin and Kim Jong Un met in Vladivostok on a grey Tuesday, never ruled out.")


def test_a_guard_that_opens_its_clause_places_all_of_it(write_rules: RuleWriter) -> None:
    guards = GUARDS + (
        "  year_first:\n    any: ['/\\bin (?:19|20)\\d\\d\\b/']\n    opens_clause: true\n"
        "    year: before_published\n    scope: clause\n"
    )
    rules = rules_with(write_rules, GUARDED.replace("GUARDS", "year_first"), guards)
    assert not fired(rules, "Talks stalled; and in 2019 Putin and Kim Jong Un met in Vladivostok.")
    # a year further in the clause is not what the clause opens with
    assert fired(rules, "Putin and Kim Jong Un, who first spoke in 2019, met again.")


def test_a_dateline_before_a_clause_opener_leaves_it_the_opener(write_rules: RuleWriter) -> None:
    guards = GUARDS + (
        "  ago_first:\n    any: ['/\\bfive years ago\\b/']\n    opens_clause: true\n    scope: sentence\n"
    )
    rules = rules_with(write_rules, GUARDED.replace("GUARDS", "ago_first"), guards)
    assert not fired(rules, "NEW DELHI - Five years ago Putin and Kim Jong Un met in Vladivostok.")
    assert not fired(
        rules, "SEOUL, Dec 25 (Reuters) - Five years ago Putin and Kim Jong Un met in Vladivostok."
    )
    # words that are no dateline still stand before it
    assert fired(rules, "Now, after Five years ago Putin and Kim Jong Un met in Vladivostok.")


def test_a_clause_guard_bites_only_in_the_clause_of_the_event_word(write_rules: RuleWriter) -> None:
    rules = guarded(write_rules, "history")
    assert not fired(rules, "Putin and Kim Jong Un met on the anniversary of the treaty.")
    assert fired(rules, "Putin met Kim Jong Un, after a speech on the history of the war.")


def test_an_article_guard_vetoes_the_event_word_wherever_it_stands_in_the_piece(
    write_rules: RuleWriter,
) -> None:
    guards = GUARDS + "  almanac:\n    any: [today in history]\n    scope: article\n"
    rules = rules_with(write_rules, GUARDED.replace("GUARDS", "almanac"), guards)
    assert not fired(rules, "Today in history. Forty years on, a column recalls it. Putin met Kim Jong Un.")
    assert fired(rules, "A column recalls a war. Putin met Kim Jong Un.")


def test_a_guard_keeps_its_own_filters(write_rules: RuleWriter) -> None:
    rules = guarded(write_rules, "past_year")
    assert not fired(rules, "Putin and Kim Jong Un met in 2019 in Vladivostok.")
    assert fired(rules, "Putin and Kim Jong Un met in 2023 in Vladivostok.")


def test_one_guard_file_serves_every_rule(write_rules: RuleWriter) -> None:
    other = "id: s\ntitle: S\nparts:\n  talk: {any: [talks], guards: [speculation]}\ncondition: talk\n"
    directory = write_rules(
        {
            "r.yaml": GUARDED.replace("GUARDS", "speculation"),
            "s.yaml": other,
            "guards/common.yaml": GUARDS,
            "lists/people.yaml": PEOPLE,
            "lists/places.yaml": PLACES,
        }
    )
    rules = load_rules(directory)
    assert {
        m.rule for m in rules.match(Article(id="a", body="Putin met Kim Jong Un for talks.", published=DAY))
    } == {
        "r",
        "s",
    }
    assert not rules.match(Article(id="a", body="Putin could meet Kim Jong Un for talks.", published=DAY))


def test_an_unknown_guard_is_an_error_with_a_suggestion(write_rules: RuleWriter) -> None:
    with pytest.raises(RuleLoadError) as failure:
        guarded(write_rules, "speculaton")
    [error] = failure.value.errors
    assert error.path.endswith("r.yaml")
    assert error.line == 5
    assert "unknown guard 'speculaton', did you mean 'speculation'?" in error.message


def test_a_guard_defined_twice_is_an_error(write_rules: RuleWriter) -> None:
    directory = write_rules(
        {
            "r.yaml": "id: r\ntitle: R\nparts:\n  a: {any: [x], guards: [g]}\ncondition: a\n",
            "guards/one.yaml": "guards:\n  g: {any: [y]}\n",
            "guards/two.yaml": "guards:\n  g: {any: [z]}\n",
        }
    )
    with pytest.raises(RuleLoadError) as failure:
        load_rules(directory)
    [error] = failure.value.errors
    assert error.path.endswith("two.yaml")
    assert "guard 'g' is already defined" in error.message


def test_a_guard_named_in_a_condition_is_explained(write_rules: RuleWriter) -> None:
    with pytest.raises(RuleLoadError) as failure:
        rules_with(write_rules, "id: r\ntitle: R\nparts:\n  a: {any: [x]}\ncondition: a and not hedge\n")
    assert "'hedge' is a guard" in failure.value.errors[0].message


def test_a_near_guard_with_an_article_scope_is_refused(write_rules: RuleWriter) -> None:
    guards = GUARDS + "  almanac:\n    any: [today in history]\n    scope: article\n    near: 3\n"
    with pytest.raises(RuleLoadError) as failure:
        rules_with(write_rules, GUARDED.replace("GUARDS", "almanac"), guards)
    assert "cannot also take the whole article" in failure.value.errors[0].message


def test_a_near_guard_with_a_sentence_scope_is_refused_as_saying_nothing(write_rules: RuleWriter) -> None:
    with pytest.raises(RuleLoadError) as failure:
        rules_with(
            write_rules,
            GUARDED.replace("GUARDS", "g"),
            "guards:\n  g: {any: [y], scope: sentence, near: 3}\n",
        )
    assert "'near' already stays inside the sentence" in failure.value.errors[0].message


def test_a_near_guard_bounded_by_its_clause_does_not_reach_across_a_clause_break(
    write_rules: RuleWriter,
) -> None:
    far_reaching = "guards:\n  old: {any: [long ago], near: 10}\n"
    in_clause = "guards:\n  old: {any: [long ago], near: 10, scope: clause}\n"
    across = "Kim Jong Un met Vladimir Putin on Tuesday, after they met long ago."
    within = "Kim Jong Un met Vladimir Putin in Vostochny long ago."
    assert not fired(rules_with(write_rules, GUARDED.replace("GUARDS", "old"), far_reaching), across)
    assert fired(rules_with(write_rules, GUARDED.replace("GUARDS", "old"), in_clause), across)
    assert not fired(rules_with(write_rules, GUARDED.replace("GUARDS", "old"), in_clause), within)


ROUTES = """
id: r
title: R
parts:
  leaders: {entity: people, in_office: true, min: 2, distinct: country}
  meeting: {any: [~meet]}
  leader: {entity: people, in_office: true}
  travel: {any: [~fly to, ~travel to]}
  abroad: {entity: places}
routes:
  meeting: sentence(leaders, meeting)
  visit_abroad:
    description: a sitting leader travelling abroad
    condition: >
      sentence(leader,
               near(travel, abroad, 3))
"""


def test_the_first_route_that_holds_names_the_match_and_its_evidence(write_rules: RuleWriter) -> None:
    rules = rules_with(write_rules, ROUTES)
    [match] = rules.match(Article(id="a", body="Putin flew to North Korea.", published=DAY))
    assert match.route == "visit_abroad"
    assert {e.route for e in match.evidence} == {"visit_abroad"}
    [match] = rules.match(
        Article(id="a", body="Putin met Kim Jong Un after he flew to North Korea.", published=DAY)
    )
    assert match.route == "meeting"


def test_a_rule_has_a_condition_or_routes_not_both(write_rules: RuleWriter) -> None:
    with pytest.raises(RuleLoadError) as failure:
        rules_with(write_rules, ROUTES + "condition: meeting\n")
    assert "exactly one of 'condition' or 'routes'" in failure.value.errors[0].message


def test_a_part_used_by_no_route_is_an_error(write_rules: RuleWriter) -> None:
    with pytest.raises(RuleLoadError) as failure:
        rules_with(write_rules, ROUTES.replace("parts:\n", "parts:\n  spare: {any: [x]}\n"))
    assert failure.value.errors[0].message == "part 'spare' is not used in any route"


def test_a_rule_without_routes_matches_with_no_route(write_rules: RuleWriter, tmp_path: Path) -> None:
    rules = rules_with(write_rules, "id: r\ntitle: R\nparts:\n  a: {any: [talks]}\ncondition: a\n")
    [match] = rules.match(Article(id="a", body="talks", published=DAY))
    assert match.route is None


def test_a_relative_clause_between_commas_keeps_its_year_to_itself(write_rules: RuleWriter) -> None:
    in_clause = "guards:\n  old: {any: ['/\\b20\\d\\d\\b/'], near: 12, scope: clause}\n"
    rules = rules_with(write_rules, GUARDED.replace("GUARDS", "old"), in_clause)
    assert fired(rules, "Putin, who last met Kim Jong Un in 2019, met him again on Tuesday.")
    assert not fired(rules, "Putin met Kim Jong Un in Vladivostok in 2019.")


def test_a_relative_clause_that_ends_the_sentence_keeps_its_words_to_itself(write_rules: RuleWriter) -> None:
    in_clause = "guards:\n  old: {any: ['/\\b20\\d\\d\\b/'], scope: clause}\n"
    rules = rules_with(write_rules, GUARDED.replace("GUARDS", "old"), in_clause)
    assert fired(rules, "Putin met Kim Jong Un on Tuesday, who had been his guest in 2019.")
    assert not fired(rules, "Putin met Kim Jong Un on Tuesday, as he had in 2019.")


def test_a_guard_spares_the_terms_it_is_told_to_spare(write_rules: RuleWriter) -> None:
    # the year is the invitation's: the meeting it was issued for is news of today
    guards = "guards:\n  decided: {any: ['/invited in 20\\d\\d/'], spares: [~meet]}\n"
    rule = GUARDED.replace("[~meet, summit]", "[~meet, summit, invited]").replace("GUARDS", "decided")
    rules = rules_with(write_rules, rule, guards)
    assert fired(rules, "Putin met Kim Jong Un, whom he invited in 2019, on Tuesday.")
    assert not fired(rules, "Putin and Kim Jong Un were at the summit he invited in 2019 to hold.")
    unspared = rules_with(write_rules, rule, guards.replace(", spares: [~meet]", ""))
    assert not fired(unspared, "Putin met Kim Jong Un, whom he invited in 2019, on Tuesday.")


def test_a_forward_guard_vetoes_only_what_follows_it(write_rules: RuleWriter) -> None:
    # a year and ", when" place what follows in that year; the news before it is measured from it
    guards = "guards:\n  then: {any: ['/\\b20\\d\\d, when\\b/'], forward: true}\n"
    rules = rules_with(write_rules, GUARDED.replace("GUARDS", "then"), guards)
    assert fired(
        rules, "Putin met Kim Jong Un on Tuesday, their first talks since 2019, when a deal fell through."
    )
    assert not fired(
        rules,
        "Guides recall 2019, when Putin and Kim Jong Un held talks there, a summit remembered for little.",
    )
    both_ways = rules_with(
        write_rules, GUARDED.replace("GUARDS", "then"), guards.replace(", forward: true", "")
    )
    assert not fired(
        both_ways, "Putin met Kim Jong Un on Tuesday, their first talks since 2019, when a deal fell through."
    )


def test_a_forward_guard_keeps_to_its_clause_and_words(write_rules: RuleWriter) -> None:
    guards = "guards:\n  then: {any: ['/\\b20\\d\\d, when\\b/'], forward: true, near: 6, scope: clause}\n"
    rules = rules_with(write_rules, GUARDED.replace("GUARDS", "then"), guards)
    assert not fired(rules, "In 2019, when Putin and Kim Jong Un met, it snowed.")
    # further than its words, or past a clause break after it, the guard does not reach
    assert fired(rules, "In 2019, when it snowed for days on end across the region, Putin met Kim Jong Un.")
    assert fired(rules, "It was 2019, when it snowed; Putin met Kim Jong Un.")


def test_a_forward_guard_over_the_whole_article_is_refused(write_rules: RuleWriter) -> None:
    guards = GUARDS + "  almanac:\n    any: [today in history]\n    scope: article\n    forward: true\n"
    with pytest.raises(RuleLoadError) as failure:
        rules_with(write_rules, GUARDED.replace("GUARDS", "almanac"), guards)
    assert "cannot take the whole article" in failure.value.errors[0].message


def old_year_spared_by(write_rules: RuleWriter, not_within: str) -> tuple[RuleSet, CompiledGuard]:
    """A rule whose meeting is guarded by an earlier year, unless the year lies inside
    ``not_within``; checked on a year the guard spares and on one it does not."""
    guards = (
        "guards:\n"
        "  old:\n"
        "    any: ['/\\bin 20\\d\\d\\b/']\n"
        f"    not_within: ['{not_within}']\n"
        "    year: before_published\n"
        "    near: 12\n"
        "    scope: clause\n"
    )
    rules = rules_with(write_rules, GUARDED.replace("GUARDS", "old"), guards)
    assert fired(rules, "Putin met Kim Jong Un, invited to Russia in 2019, in Vladivostok.")
    assert not fired(rules, "Putin met Kim Jong Un in Vladivostok in 2019.")
    [rule] = rules.compiled.rules
    [guard] = rule.parts[rule.part_index["meeting"]].guards
    return rules, guard


def test_a_selection_drops_a_match_inside_one_of_its_not_within_terms(write_rules: RuleWriter) -> None:
    _, guard = old_year_spared_by(write_rules, "/\\binvited(?: [a-z]+){0,3} in 20\\d\\d\\b/")
    assert guard.part.filters == ("not_within", "year_before_published")


def test_a_not_within_regex_without_a_screen_is_run_alone_when_asked_and_still_spares(
    write_rules: RuleWriter,
) -> None:
    # "(?:to|of) " and " in " are too common to screen by: such a regex is run on any article; read
    # only around a guard's occurrence, it is run alone when asked, not in the pass every article pays
    rules, guard = old_year_spared_by(write_rules, "/\\b(?:to|of) [a-z]+ in [0-9]{4}\\b/")
    assert guard.part.not_within is not None
    [around] = guard.part.not_within.regex_ids
    scanner = rules.compiled.scanner
    assert around in scanner.unscreened
    assert around not in scanner.together
