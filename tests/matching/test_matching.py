"""What the rule language matches, one behaviour per test."""

import datetime as dt
from collections.abc import Callable

import pytest
from conftest import PEOPLE, PLACES, RuleWriter

from service.matching import RuleSet, load_rules
from service.matching.document import Document
from service.matching.occurrences import Occurrences
from service.models import Article

Build = Callable[[str, str], RuleSet]
DAY_2023 = dt.datetime(2023, 9, 5, tzinfo=dt.UTC)


def matches(
    rules: RuleSet, body: str = "", title: str = "", published: dt.datetime | None = DAY_2023
) -> bool:
    return bool(rules.match(Article(id="a", title=title, body=body, published=published)))


def test_phrases_match_on_word_boundaries(rule_with: Build) -> None:
    rules = rule_with("a: {any: [arms deal]}", "a")
    assert matches(rules, "an arms deal was signed")
    assert not matches(rules, "the farms dealer")


def test_case_and_accents_are_ignored(rule_with: Build) -> None:
    rules = rule_with("a: {any: [Erdoğan]}", "a")
    assert matches(rules, "ERDOGAN said")


def test_a_case_sensitive_term_keeps_its_capitals(rule_with: Build) -> None:
    rules = rule_with("a: {any: [{text: US, case_sensitive: true}]}", "a")
    assert matches(rules, "the US said")
    assert not matches(rules, "told us")


def test_inflected_forms_match_a_tilde_term(rule_with: Build) -> None:
    rules = rule_with("a: {any: [~meet]}", "a")
    assert all(matches(rules, f"they {verb} today") for verb in ("meet", "meets", "met", "meeting"))


def test_a_regex_term_matches_the_folded_text(rule_with: Build) -> None:
    rules = rule_with("a: {any: ['/\\bf ?16s?\\b/']}", "a")
    assert matches(rules, "new F-16s arrived")
    assert matches(rules, "F16 jets")


def test_a_regex_kept_from_a_letter_before_it_matches_a_field_s_first_word(rule_with: Build) -> None:
    # "(?:^|[^ء-ي])" also takes the separator before a field's first word; the hit starts at the word,
    # inside the field's first sentence, with the sentence's other parts
    rules = rule_with("a: {any: ['/(?:^|[^ء-ي])وصل [^ ]+ إلى/']}\nb: {any: [القاهرة]}", "sentence(b, a)")
    assert matches(rules, "وصل ماكرون إلى القاهرة.", title="World news briefing")
    assert not matches(rules, "توصل ماكرون إلى القاهرة.", title="World news briefing")


def test_all_requires_every_term(rule_with: Build) -> None:
    rules = rule_with("a: {all: [tanks, Poland]}", "a")
    assert matches(rules, "Poland buys tanks")
    assert not matches(rules, "Poland buys jets")


def test_min_counts_distinct_terms(rule_with: Build) -> None:
    rules = rule_with("a: {any: [tanks, jets, ships], min: 2}", "a")
    assert matches(rules, "tanks and jets")
    assert not matches(rules, "tanks, tanks and tanks")


def test_not_excludes(rule_with: Build) -> None:
    rules = rule_with("a: {any: [summit]}\nb: {any: [everest]}", "a and not b")
    assert matches(rules, "the summit opened")
    assert not matches(rules, "the Everest summit")


def test_n_of_needs_that_many_parts(rule_with: Build) -> None:
    rules = rule_with("a: {any: [x]}\nb: {any: [y]}\nc: {any: [z]}", "2 of (a, b, c)")
    assert matches(rules, "x and z")
    assert not matches(rules, "only y")


def test_sentence_requires_the_parts_in_one_sentence(rule_with: Build) -> None:
    rules = rule_with("a: {any: [putin]}\nb: {any: [~meet]}", "sentence(a, b)")
    assert matches(rules, "Putin will meet him.")
    assert not matches(rules, "Putin spoke. They will meet.")


def test_a_negation_inside_sentence_only_removes_that_sentence(rule_with: Build) -> None:
    rules = rule_with("a: {any: [putin]}\nb: {any: [~meet]}\nc: {any: [phone]}", "sentence(a, b, not c)")
    assert matches(rules, "Putin met him by phone. Putin met him in Minsk.")
    assert not matches(rules, "Putin met him by phone.")


def test_a_clause_ends_where_the_sentence_turns_to_another_event(rule_with: Build) -> None:
    rules = rule_with("a: {any: [tanks]}\nb: {any: [strikes]}", "sentence(a, clause(a, not b))")
    assert matches(rules, "Germany will send tanks to Ukraine after Russian strikes on Kyiv.")
    assert matches(rules, "Germany will send tanks to Ukraine; Russian strikes went on.")
    assert not matches(rules, "Strikes by Ukrainian tanks hit the town.")


def test_a_clause_turns_in_the_other_languages_the_service_reads_too(rule_with: Build) -> None:
    rules = rule_with(
        "a: {any: [Panzer, chars, tanques]}\nb: {any: [Angriffen, frappes, ataques]}",
        "sentence(a, clause(a, not b))",
    )
    assert matches(rules, "Deutschland liefert Panzer an die Ukraine, nachdem es Angriffen auf Kiew gab.")
    assert matches(rules, "La France livrera des chars à l'Ukraine après des frappes sur Kiev.")
    assert matches(rules, "España enviará tanques a Ucrania después de los ataques rusos.")
    assert not matches(rules, "Die Panzer wurden bei Angriffen zerstört.")


def test_a_time_measured_before_a_turn_goes_with_it_in_the_other_languages_too(rule_with: Build) -> None:
    rules = rule_with(
        "a: {any: [visite, visita, Besuch]}\nb: {any: [quatre ans, dos semanas, drei Wochen]}", "clause(a, b)"
    )
    assert matches(rules, "Le contrat a été signé mercredi, quatre ans après la visite du président.")
    assert matches(
        rules, "El contrato se firmó el miércoles, dos semanas después de la visita del presidente."
    )
    assert matches(
        rules, "Der Vertrag wurde am Mittwoch unterzeichnet, drei Wochen nach dem Besuch des Präsidenten."
    )
    signed = rule_with("a: {any: [signé]}\nb: {any: [quatre ans]}", "clause(a, b)")
    assert not matches(signed, "Le contrat a été signé mercredi, quatre ans après la visite du président.")


def test_until_a_time_dates_its_clause_and_until_an_event_turns_to_it(rule_with: Build) -> None:
    rules = rule_with("a: {any: [carrier]}\nb: {any: [handed over]}", "clause(a, b)")
    assert matches(
        rules, "The carrier that served as the flagship until this spring was handed over to Brazil."
    )
    assert matches(rules, "The carrier, the flagship until 2018, was handed over to Brazil.")
    assert not matches(rules, "The carrier served as the flagship until the navy handed over its duties.")
    assert not matches(
        rules, "The navy kept the carrier until the end of March the year it handed over its duties."
    )


def test_a_word_of_an_indic_script_counts_once_with_its_vowel_signs(rule_with: Build) -> None:
    # "मिसाइल" is one word, not three: its vowel signs are no breaks between words
    five = rule_with("a: {any: [मिसाइल]}\nb: {any: [परीक्षण]}", "near(a, b, 5)")
    four = rule_with("a: {any: [मिसाइल]}\nb: {any: [परीक्षण]}", "near(a, b, 4)")
    sentence = "नई मिसाइल का ओडिशा तट से परीक्षण किया गया।"
    assert matches(five, sentence)
    assert not matches(four, sentence)


def test_a_comma_and_a_new_subject_start_a_clause_and_a_list_does_not(rule_with: Build) -> None:
    rules = rule_with("a: {any: [ammunition]}\nb: {any: [sign]}", "clause(a, b)")
    assert not matches(
        rules, "Ministers discuss ammunition stocks, and the UN envoy asks the army to sign a truce."
    )
    assert matches(rules, "They will sign for tanks, howitzers, and ammunition.")
    assert matches(rules, "They will sign for ammunition and the trucks to carry it.")


def test_what_was_agreed_or_said_after_a_comma_and_its_verb_is_a_clause_of_its_own(rule_with: Build) -> None:
    rules = rule_with("a: {any: [~meet]}\nb: {any: [early date]}", "clause(a, b)")
    assert not matches(rules, "Modi and Xi met in Kazan, and agreed that envoys would talk at an early date.")
    assert not matches(rules, "The leaders met in Kazan, and said that envoys would talk at an early date.")
    assert matches(rules, "They agreed that envoys would meet at an early date.")
    assert matches(rules, "Modi and Xi met in Kazan and agreed that envoys would talk at an early date.")


def test_a_comma_and_a_new_subject_start_a_clause_in_the_other_languages_too(rule_with: Build) -> None:
    rules = rule_with(
        "a: {any: [sanctions, sanciones, Sanktionen]}\nb: {any: [adopte, adoptó, beschlossen]}",
        "clause(a, b)",
    )
    assert not matches(rules, "Ils ont appelé à appliquer ces sanctions, et l'Union a adopté un plan.")
    assert not matches(rules, "Pidieron aplicar las sanciones, y la UE adoptó un plan.")
    assert not matches(rules, "Sie forderten Sanktionen, und die EU hat einen Plan beschlossen.")
    assert matches(rules, "L'Union a adopté des sanctions et des mesures.")


def test_a_time_measured_from_another_event_goes_with_that_event(rule_with: Build) -> None:
    rules = rule_with("a: {any: [tanks]}\nb: {any: [weeks]}", "sentence(a, clause(a, not b))")
    assert matches(rules, "Germany will send tanks to Ukraine, two weeks after the talks in Ramstein.")
    assert matches(rules, "Just weeks after the talks in Ramstein, Germany will send tanks.")
    assert not matches(rules, "Germany will send tanks within weeks.")


def test_the_turns_after_a_time_measured_from_another_event_stay_with_that_event(rule_with: Build) -> None:
    rules = rule_with("a: {any: [truce]}\nb: {any: [months after]}", "clause(a, not b)")
    assert not matches(
        rules,
        "The test came four months after a war with India in May, during which both sides fired"
        " missiles before agreeing to a truce.",
    )
    # another kind of break ends the earlier event's clause
    assert matches(rules, "The test came four months after a war with India; both sides agreed to a truce.")
    assert matches(rules, "The test came before both sides agreed to a truce, months after the war.")


def test_of_which_stays_in_the_clause_of_the_noun_it_tells_of(rule_with: Build) -> None:
    rules = rule_with("a: {any: [trial]}\nb: {any: [expected]}", "clause(a, b)")
    assert matches(rules, "A new missile, the first flight trial of which is expected in 2027.")
    assert not matches(rules, "A new missile had its first flight trial, which went as expected.")


def test_a_colon_before_a_number_opens_a_list_of_what_the_clause_names(rule_with: Build) -> None:
    rules = rule_with("a: {any: [sales]}\nb: {any: [Javelin]}", "clause(a, b)")
    assert matches(rules, "It approved two sales worth $93 million: 100 Javelin missiles and 216 rounds.")
    assert not matches(rules, "It approved two sales: the Javelin order comes later.")


def test_an_opening_turn_runs_to_its_first_comma(rule_with: Build) -> None:
    rules = rule_with("a: {any: [tanks]}\nb: {any: [strikes]}", "sentence(a, clause(a, not b))")
    assert matches(rules, "After Russian strikes on Kyiv, Germany will send tanks to Ukraine.")
    assert not matches(rules, "Russian strikes on Kyiv went on as Germany sent tanks.")


def test_a_turn_inside_a_participle_phrase_does_not_end_the_clause(rule_with: Build) -> None:
    rules = rule_with("a: {any: [contract]}\nb: {any: [tanks]}", "clause(a, b)")
    assert matches(rules, "The contract, signed after two years of trials, covers 96 K2 tanks.")
    assert not matches(rules, "The contract was signed after two years of trials with 96 K2 tanks.")
    # "then" and "when" are not participles
    assert not matches(rules, "The contract, then after a long wait, covers 96 K2 tanks.")


def test_which_right_after_a_year_stays_in_the_clause_of_that_year(rule_with: Build) -> None:
    # what a relative clause tells of a dated thing happened then: "the arms deal of 1999, in
    # which South Africa bought frigates"
    rules = rule_with(
        "a: {any: [bought]}\nb: {any: ['/\\b(?:19|20)\\d\\d\\b/']}", "sentence(a, clause(a, not b))"
    )
    assert not matches(
        rules, "The arms deal of 1999, in which South Africa bought frigates, is back in court."
    )
    assert not matches(
        rules, "The arms deal of 1999, which saw South Africa bought frigates, is back in court."
    )
    # elsewhere "which" still turns to another event
    assert matches(rules, "The 2024 budget was cut, which is why Chile bought frigates.")
    # and so does "when" after a named time
    rules = rule_with("a: {any: [visit]}\nb: {any: [july]}", "sentence(a, clause(a, not b))")
    assert not matches(rules, "They last met in Brasilia in July, when Modi made a state visit.")


def test_near_counts_words_between_terms(rule_with: Build) -> None:
    rules = rule_with("a: {any: [tanks]}\nb: {any: [~sell]}", "near(a, b, 3)")
    assert matches(rules, "sold 250 Abrams tanks")
    assert not matches(rules, "sold the big old very many tanks")


def test_near_counts_its_words_from_the_last_word_of_a_phrase(rule_with: Build) -> None:
    # a five-word phrase does not use up the window: the place is one word after its last word
    rules = rule_with("a: {any: [stepped off his plane in]}\nb: {any: [astana]}", "near(a, b, 4)")
    assert matches(rules, "Mirziyoyev stepped off his plane in Astana.")
    assert not matches(rules, "Mirziyoyev stepped off his plane in the old city of Astana.")


def test_near_counts_a_phrase_that_begins_within_its_words_though_it_runs_past_them(rule_with: Build) -> None:
    rules = rule_with("a: {any: [talks]}\nb: {any: [russia and ukraine]}", "near(a, b, 2)")
    assert matches(rules, "Talks between Russia and Ukraine resumed.")
    # a phrase that begins past the window does not count
    assert not matches(rules, "Talks on the grain corridor between Russia and Ukraine resumed.")


def test_fields_limit_where_a_part_looks(rule_with: Build) -> None:
    rules = rule_with("a: {any: [summit], fields: [title]}", "a")
    assert matches(rules, title="Summit opens")
    assert not matches(rules, body="the summit opens")


def test_the_title_is_its_own_sentence(rule_with: Build) -> None:
    rules = rule_with("a: {any: [putin]}\nb: {any: [~meet]}", "sentence(a, b)")
    assert not matches(rules, title="Putin", body="They meet today.")


def test_an_entity_part_matches_any_alias(rule_with: Build) -> None:
    rules = rule_with("p: {entity: people}", "p")
    assert matches(rules, "Путину сказали")


def test_min_with_distinct_counts_different_countries(rule_with: Build) -> None:
    rules = rule_with("p: {entity: people, min: 2, distinct: country}", "p")
    assert matches(rules, "Putin and Kim Jong Un")
    assert not matches(rules, "Putin and Dmitry Medvedev")


def test_in_office_uses_the_publication_date(rule_with: Build) -> None:
    rules = rule_with("p: {entity: people, in_office: true, min: 2, distinct: country}", "p")
    text = "Joe Biden and Vladimir Putin"
    assert matches(rules, text, published=dt.datetime(2021, 6, 16, tzinfo=dt.UTC))
    assert not matches(rules, text, published=dt.datetime(2025, 8, 15, tzinfo=dt.UTC))


def test_a_title_means_whoever_held_the_office_that_day(rule_with: Build) -> None:
    rules = rule_with("p: {entity: people, in_office: true, where: {country: RU}}", "p")
    [match_2010] = rules.match(
        Article(id="a", body="the Russian president", published=dt.datetime(2010, 1, 1))
    )
    [match_2020] = rules.match(
        Article(id="a", body="the Russian president", published=dt.datetime(2020, 1, 1))
    )
    assert (match_2010.evidence[0].entity, match_2020.evidence[0].entity) == ("medvedev", "putin")


def test_a_former_title_does_not_count(rule_with: Build) -> None:
    rules = rule_with("p: {entity: people}", "p")
    assert not matches(rules, "the former Russian president")


def test_a_title_followed_by_elect_does_not_count(rule_with: Build) -> None:
    rules = rule_with("p: {entity: people}", "p")
    assert not matches(
        rules, "the American president-elect", published=dt.datetime(2024, 12, 1, tzinfo=dt.UTC)
    )


def test_a_weak_alias_needs_a_strong_mention_of_the_same_person(rule_with: Build) -> None:
    rules = rule_with("p: {entity: people, where: {country: KP}}", "p")
    assert matches(rules, title="Kim arrives", body="Kim Jong Un arrived.")
    assert not matches(rules, "Kim arrives")


def test_a_weak_alias_named_together_with_another_leader_names_its_person(rule_with: Build) -> None:
    rules = rule_with("p: {entity: people, where: {country: KP}}", "p")
    # "Putin and Kim": paired with a head of state, Kim is not any Kim
    assert matches(rules, "Putin and Kim had breakfast together.")
    assert matches(rules, "Kim y Putin mantuvieron una reunión.")
    assert matches(rules, "Talks between Kim, Putin and Biden ended.")
    # not joined to a leader's name, or the start of a longer name: a namesake
    assert not matches(rules, "Putin praised the singer, and Kim thanked him.")
    assert not matches(rules, "Putin and Kim Kardashian were mentioned.")
    assert not matches(rules, "Putin, Kim 2 and Kim 3 were the prototypes.")
    assert not matches(rules, "Kim and Lee arrived.")


def with_weak_leader(write_rules: RuleWriter, name: str, weak: str, role: str, roles: str) -> RuleSet:
    """A rule over the people list with one more sitting leader known by a weak alias, and the
    list's roles written as ``roles``."""
    entry = (
        f"  - id: {weak.lower()}\n    name: {name}\n"
        f"    aliases: [{{text: {weak}, case_sensitive: true, weak: true}}]\n"
        "    attributes: {country: US}\n"
        f"    offices: [{{role: {role}, from: 2018-06-02, leader: true}}]\n"
    )
    people = PEOPLE.replace("titles:\n", entry + "titles:\n").replace(
        "roles: {president: [president], leader: [leader]}", roles
    )
    return with_people(write_rules, people, "id: r\ntitle: R\nparts:\n  p: {entity: people}\ncondition: p\n")


def test_a_weak_alias_right_after_its_office_title_names_the_holder(write_rules: RuleWriter) -> None:
    rules = with_weak_leader(
        write_rules,
        "Pedro Sanchez",
        "Sanchez",
        "prime minister",
        "roles: {president: [president], prime minister: [prime minister, premier], leader: [leader]}",
    )
    assert matches(rules, "Prime Minister Sanchez arrives")
    assert matches(rules, "the American premier Sanchez arrives")
    # another office's word, a word merely ending like it, or none: a namesake
    assert not matches(rules, "President Sanchez arrives")
    assert not matches(rules, "the forepremier Sanchez arrives")
    assert not matches(rules, "Sanchez arrives")
    # "leader" is said of any party's leader: "opposition leader Kim" is not Kim Jong Un
    assert not matches(rules, "opposition leader Kim arrives")


def test_a_word_before_names_introduces_a_weak_alias_and_makes_no_title(write_rules: RuleWriter) -> None:
    rules = with_weak_leader(
        write_rules,
        "Lee Jae-myung",
        "Lee",
        "president",
        "roles: {president: [president], leader: [leader]}\n  before_names: {president: [prezydenta]}",
    )
    assert matches(rules, "Nawrocki przyjął prezydenta Lee w Warszawie")
    assert not matches(rules, "Nawrocki przyjął Lee w Warszawie")
    # no "American prezydenta" is made of it
    assert not matches(rules, "the American prezydenta arrives")


def test_a_weak_alias_right_after_a_count_names_the_thing_counted(write_rules: RuleWriter) -> None:
    jets = (
        "list: jets\nentities:\n  - id: eurofighter\n    name: Eurofighter Typhoon\n"
        "    aliases: [{text: Typhoons, case_sensitive: true, weak: true}]\n"
    )
    rules = load_rules(
        write_rules(
            {
                "r.yaml": "id: r\ntitle: R\nparts:\n  j: {entity: jets}\ncondition: j\n",
                "lists/jets.yaml": jets,
            }
        )
    )
    assert matches(rules, "Turkey is to buy 20 new Typhoons from Britain.")
    assert matches(rules, "Two Typhoons landed at Ankara.")
    assert matches(rules, "Qatar ordered a dozen Typhoons.")
    # no count, or a number that counts something else
    assert not matches(rules, "The Typhoons beat the Lions 24-10.")
    assert not matches(rules, "Since 2019 Typhoons have hit the coast.")
    assert not matches(rules, "It rained for 3 days and Typhoons followed.")


def test_a_day_before_a_weak_alias_that_is_a_month_is_a_date_not_a_count(write_rules: RuleWriter) -> None:
    people = (
        "list: people\nentities:\n  - id: theresa-may\n    name: Theresa May\n"
        "    aliases: [{text: May, case_sensitive: true, weak: true}]\n"
    )
    rules = load_rules(
        write_rules(
            {
                "r.yaml": "id: r\ntitle: R\nparts:\n  p: {entity: people}\ncondition: p\n",
                "lists/people.yaml": people,
            }
        )
    )
    assert not matches(
        rules, "PARIS, 23 May - Around fifty heads of technology companies gathered at the palace."
    )
    assert not matches(rules, "The talks resumed on 5 May in Geneva.")
    assert matches(rules, "Theresa May arrived in Paris on 23 May.")


def test_a_latin_term_glued_to_chinese_japanese_or_korean_ends_where_the_script_changes(
    rule_with: Build,
) -> None:
    rules = rule_with("p: {any: [F-35B, K2]}", "p")
    assert matches(rules, "航空自衛隊はF-35Bの初号機を受領した。")
    assert matches(rules, "购买F-35B战斗机")
    assert matches(rules, "폴란드는 K2전차를 도입했다.")
    # inside a longer Latin word it is still no match
    assert not matches(rules, "F-35Bx prototypes")
    assert not matches(rules, "the K2s")


def test_a_devanagari_term_ends_where_its_word_does_not_go_on_with_a_vowel_sign(rule_with: Build) -> None:
    rules = rule_with("p: {any: [चीन]}", "p")
    assert matches(rules, "चीन ने कहा")
    # चीनी (sugar, or Chinese) goes on with the vowel sign ी
    assert not matches(rules, "चीनी के दाम बढ़े")


def test_a_mention_inside_a_longer_mention_is_not_counted_twice(rule_with: Build) -> None:
    rules = rule_with("p: {entity: people}", "p")
    [match] = rules.match(Article(id="a", body="Kim Jong Un"))
    assert [e.text for e in match.evidence] == ["Kim Jong Un"]


def test_a_missing_publication_date_means_today(rule_with: Build) -> None:
    rules = rule_with("p: {entity: people, in_office: true}", "p")
    assert not matches(rules, "Joe Biden", published=None)


def test_year_before_published_keeps_only_earlier_years(rule_with: Build) -> None:
    rules = rule_with("y: {any: ['/in (19|20)\\d\\d/'], year: before_published}", "y")
    assert matches(rules, "they met in 2019")
    assert not matches(rules, "they met in 2023")


def test_evidence_offsets_point_into_the_original_text(rule_with: Build) -> None:
    rules = rule_with("a: {any: [kiew]}", "a")
    body = "Die Straße nach Kiew"
    [match] = rules.match(Article(id="a", body=body))
    evidence = match.evidence[0]
    assert body[evidence.start : evidence.end] == "Kiew" == evidence.text


def test_a_span_that_runs_past_the_end_of_its_field_ends_with_the_field() -> None:
    # "ß" folds to two letters, so the title's offsets are mapped; a look ahead from a name at the
    # end of the title ("... GDL") reaches past it, into the body
    article = Article(id="a", title="Einigung auf der Straße mit der GDL", body="Die Bahn.")
    doc = Document(article, dt.datetime(2024, 3, 1, tzinfo=dt.UTC))
    end = doc.text.index("gdl") + 3
    assert doc.original_text(end - 3, end + 40) == "GDL"
    assert doc.original(end - 3, end + 40)[0] == "title"


def test_evidence_names_part_field_term_and_snippet(rule_with: Build) -> None:
    rules = rule_with("meeting: {any: [~meet]}", "meeting")
    [match] = rules.match(Article(id="a", title="Leaders met in Paris"))
    evidence = match.evidence[0]
    assert (evidence.part, evidence.field, evidence.term, evidence.snippet) == (
        "meeting",
        "title",
        "~meet",
        "Leaders met in Paris",
    )


def test_evidence_of_an_entity_names_the_entity(rule_with: Build) -> None:
    rules = rule_with("p: {entity: people}", "p")
    [match] = rules.match(Article(id="a", body="North Korean leader Kim Jong Un"))
    assert {e.entity for e in match.evidence} == {"kim"}


def test_sentence_tries_every_alternative_of_an_or(rule_with: Build) -> None:
    rules = rule_with("a: {any: [tanks]}\nb: {any: [jets]}\nc: {any: [~sell]}", "sentence(a or b, c)")
    assert matches(rules, "Tanks were on show. They sold jets.")


def test_near_measures_from_every_occurrence_of_its_first_argument(rule_with: Build) -> None:
    rules = rule_with("a: {any: [tanks]}\nb: {any: [~sell]}", "near(a, b, 2)")
    assert matches(rules, "tanks were shown far away from here today. Then they sold tanks.")


def test_an_entity_and_a_term_found_at_the_same_place_can_be_alternatives(rule_with: Build) -> None:
    rules = rule_with(
        "who: {entity: people}\nname: {any: [Vladimir Putin]}\nmet: {any: [~meet]}",
        "sentence(who or name, met)",
    )
    assert matches(rules, "Vladimir Putin met the delegation.")


def test_a_title_after_a_two_word_skip_phrase_does_not_count(
    rule_with: Build, write_rules: RuleWriter
) -> None:
    rules = rule_with("p: {entity: people}", "p")
    assert matches(rules, "Medvedev said the Russian president agreed")
    people = with_skip_phrases(write_rules)
    assert not matches(people, "Medvedev, who served as Russia's president, arrived")
    assert matches(people, "Putin, as Russia's president, arrived")
    assert not matches(people, "Russia's president from 2008 to 2012 arrived")


def test_a_title_whose_country_owns_something_else_names_no_one(write_rules: RuleWriter) -> None:
    people = PEOPLE.replace(
        'templates: ["{demonym} {title}", "{country}\'s {title}"]',
        'templates: ["{demonym} {title}", "{country}\'s {title}", "{title} of {country}"]',
    ).replace("skip_before: [elect]", 'skip_before: [elect, "\'s opposition"]')
    rules = with_people(write_rules, people, "id: r\ntitle: R\nparts:\n  p: {entity: people}\ncondition: p\n")
    assert matches(rules, "The president of Russia arrived.")
    # the leader of the country's opposition is not its leader
    assert not matches(rules, "The leader of Russia's opposition party arrived.")


def test_abroad_from_drops_the_home_country_of_a_leader_in_the_sentence(rule_with: Build) -> None:
    rules = rule_with(
        "p: {entity: people, in_office: true}\nc: {entity: places, abroad_from: people}",
        "sentence(p, c)",
    )
    assert matches(rules, "Putin arrives in North Korea.")
    assert not matches(rules, "Putin tours Russian regions.")
    assert not matches(rules, "Putin visits Russia.")
    # a leader out of office has no home that day
    places = rule_with("c: {entity: places, abroad_from: people}", "c")
    assert matches(places, "Dmitry Medvedev visits Russia.")
    assert not matches(places, "Putin visits Russia.")


def test_a_leader_named_in_a_turn_to_another_event_is_not_at_home_in_the_main_clause(
    rule_with: Build,
) -> None:
    rules = rule_with(
        "p: {entity: people, in_office: true}\nc: {entity: places, abroad_from: people}",
        "sentence(p, c)",
    )
    # Kim arrives in Russia; Putin is named only in what happened a week before
    assert matches(rules, "Kim arrived in Russia on Monday, a week after Putin called for closer ties.")
    assert matches(rules, "Days after Putin called for closer ties, Kim arrived in Russia.")
    # named in the main clause, or in the place's own clause, he is at home there
    assert not matches(rules, "Putin arrived in Russia on Monday, a week after Kim called for closer ties.")
    assert not matches(rules, "Kim called for closer ties, days after Putin returned to Russia.")


def test_a_turn_to_another_event_names_its_own_traveller(rule_with: Build) -> None:
    rules = rule_with(
        "p: {entity: people, in_office: true}\nc: {entity: places, abroad_from: people}",
        "sentence(p, c)",
    )
    # each at home in his own clause: Russia is Putin's, not a trip of Kim's named first
    assert not matches(rules, "Kim Jong Un spoke in North Korea, while Putin told parliament in Russia.")
    # the one named in the turn travels there
    assert matches(rules, "Kim Jong Un spoke in North Korea, while Putin arrived in North Korea.")


def test_the_place_is_abroad_for_the_first_leader_named_before_it(rule_with: Build) -> None:
    rules = rule_with(
        "p: {entity: people, in_office: true}\nc: {entity: places, abroad_from: people}",
        "sentence(p, c)",
    )
    # the one who travels is named first: Russia is abroad for Kim, home for Putin
    assert matches(rules, "Kim Jong Un told Putin in Russia that the talks went well.")
    assert matches(rules, "Kim Jong Un travelled to Russia for talks with Putin.")
    assert not matches(rules, "Putin told Kim Jong Un in Russia that the talks went well.")
    # with no one named before it, everyone named counts: "Arriving in Russia, Putin said"
    assert not matches(rules, "Arriving in Russia, Putin met Kim Jong Un.")


def test_leaders_named_together_before_the_place_travel_together(rule_with: Build) -> None:
    rules = rule_with(
        "p: {entity: people, in_office: true}\nc: {entity: places, abroad_from: people}",
        "sentence(p, c)",
    )
    # "A and B arrived in X": X is abroad for whichever of them is not at home there
    assert matches(rules, "Putin and Kim Jong Un arrived in Russia on Monday.")
    assert matches(rules, "Putin and North Korean leader Kim Jong Un arrived in Russia.")
    # both at home, or the second named only after a verb: no trip
    assert not matches(rules, "Putin and Medvedev toured Russia.")
    assert not matches(rules, "Putin told Kim Jong Un in Russia that the talks went well.")
    assert not matches(rules, "Putin and his ministers welcomed Kim Jong Un in Russia.")


def test_a_sentence_naming_thousands_of_leaders_and_places_costs_in_proportion_to_them(
    rule_with: Build, monkeypatch: pytest.MonkeyPatch
) -> None:
    # one hostile sentence of 2,000 leaders and 2,000 places: each place once looked at every
    # leader of its sentence (4 million office look-ups, seconds per article)
    rules = rule_with(
        "p: {entity: people, in_office: true}\nc: {entity: places, abroad_from: people}",
        "sentence(p, c)",
    )
    looked_up = 0
    office_of = Occurrences.office_of

    def counted(self: Occurrences, list_name: str, index: int) -> tuple[bool, str | None]:
        nonlocal looked_up
        looked_up += 1
        return office_of(self, list_name, index)

    monkeypatch.setattr(Occurrences, "office_of", counted)
    assert not matches(rules, "Putin arrived in Russia and " * 2000)
    assert looked_up <= 3 * 2000


def with_people(write_rules: RuleWriter, people: str, rule: str) -> RuleSet:
    """The rule ``rule`` over the given people list and the places list."""
    return load_rules(write_rules({"r.yaml": rule, "lists/people.yaml": people, "lists/places.yaml": PLACES}))


def with_skip_phrases(write_rules: RuleWriter) -> RuleSet:
    people = PEOPLE.replace("skip_after: [former]", "skip_after: [former, served as]").replace(
        "skip_before: [elect]", "skip_before: [elect, from 2008]"
    )
    rule = "id: r\ntitle: R\nparts:\n  p: {entity: people}\ncondition: p\n"
    return with_people(write_rules, people, rule)


def test_month_before_published_keeps_only_earlier_months(rule_with: Build) -> None:
    rules = rule_with("m: {any: ['/their meeting in [a-z]+/'], month: before_published}", "m")
    assert matches(rules, "since their meeting in June")  # published in September
    assert not matches(rules, "ahead of their meeting in November")
    assert not matches(rules, "their meeting in Geneva")


def test_month_after_published_keeps_only_later_months_which_a_past_event_had_the_year_before(
    rule_with: Build,
) -> None:
    rules = rule_with("m: {any: ['/in [a-z]+, they met/'], month: after_published}", "m")
    assert matches(rules, "In December, they met in Geneva.")  # published in September
    assert not matches(rules, "In June, they met in Geneva.")
    assert not matches(rules, "In September, they met in Geneva.")
    assert not matches(rules, "In Geneva, they met.")


def test_month_before_published_reads_the_months_of_the_other_languages(rule_with: Build) -> None:
    rules = rule_with("m: {any: ['/incontrato (?:a )?(?:meta )?[a-z]+/'], month: before_published}", "m")
    assert matches(rules, "che Trump aveva incontrato a metà maggio a Riad")  # published in September
    assert matches(rules, "incontrato Mars")  # March in French, a word of the text folded
    assert not matches(rules, "che Trump incontrato a metà novembre")
    assert not matches(rules, "incontrato Meloni")
    turkish = rule_with("m: {any: ['/[a-zı]+ ayında/'], month: before_published}", "m")
    assert matches(turkish, "Erdoğan'ın şubat ayında Endonezya'ya gerçekleştirdiği ziyaret")
    assert matches(turkish, "mayıs ayında")  # its dotless i kept by the folding
    assert not matches(turkish, "aralık ayında")


def test_a_title_with_no_country_refers_back_to_the_last_sitting_holder_of_that_role_named(
    write_rules: RuleWriter,
) -> None:
    people = PEOPLE.replace("  templates:", "  refer_back: [the, der]\n  templates:")
    rule = "id: r\ntitle: R\nparts:\n  two: {entity: people, in_office: true, min: 2, distinct: country}\ncondition: sentence(two)\n"
    rules = with_people(write_rules, people, rule)
    assert matches(rules, "Vladimir Putin arrived on Monday. The president met Kim Jong Un.")
    assert matches(rules, "Vladimir Putin arrived on Monday. Der president met Kim Jong Un.")
    # no president named before it, or only one out of office that day: the title names no one
    assert not matches(rules, "The president met Kim Jong Un. Vladimir Putin arrived on Monday.")
    assert not matches(rules, "Dmitry Medvedev arrived on Monday. The president met Kim Jong Un.")
    # "the president of ..." is someone else's title
    assert not matches(rules, "Vladimir Putin arrived. The president of the bank met Kim Jong Un.")
    assert not matches(rules, "Vladimir Putin arrived. Der president der Bank met Kim Jong Un.")
    # a role the person named before does not hold
    assert not matches(rules, "Kim Jong Un arrived on Monday. The president met Kim Jong Un.")
    # a title right before a name is that person's, not a reference back ("el presidente Donald Trump firmó")
    assert not matches(rules, "Vladimir Putin arrived on Monday. Then the president Kim Jong Un spoke.")
    assert not matches(rules, "Vladimir Putin arrived on Monday. Then the president, Kim Jong Un, spoke.")
    # off by default: a list without refer_back reads no bare title
    plain = with_people(write_rules, PEOPLE, rule)
    assert not matches(plain, "Vladimir Putin arrived on Monday. The president met Kim Jong Un.")


def test_a_title_beside_a_place_names_that_places_sitting_holder_in_either_word_order(
    write_rules: RuleWriter,
) -> None:
    people = PEOPLE.replace(
        "  templates:", "  beside_places: {president: [président, Präsident, 总统, राष्ट्रपति]}\n  templates:"
    )
    people = people.replace("skip_after: [former]", "skip_after: [former, vice]")
    places = PLACES.replace("aliases: [Russian]", "aliases: [Russian, russe, russischen, Russie, 俄罗斯, रूस]")
    rule = "id: r\ntitle: R\nparts:\n  two: {entity: people, in_office: true, min: 2, distinct: country}\ncondition: sentence(two)\n"
    rules = load_rules(
        write_rules({"r.yaml": rule, "lists/people.yaml": people, "lists/places.yaml": places})
    )
    assert matches(rules, "Le président russe a reçu Kim Jong Un.")
    assert matches(rules, "Le président de la Russie a reçu Kim Jong Un.")
    assert matches(rules, "Kim Jong Un traf den russischen Präsident.")
    assert matches(rules, "俄罗斯总统会见了Kim Jong Un。")  # no space between them in Chinese
    assert matches(rules, "रूस के राष्ट्रपति ने Kim Jong Un से मुलाकात की।")  # Hindi's "of" between
    assert not matches(rules, "前俄罗斯总统会见了Kim Jong Un。")  # "former", joined to them
    # the holder on the article's day, and a title skipped as the templates' are
    assert not matches(
        rules, "Le président russe a reçu Kim.", published=dt.datetime(2010, 1, 5, tzinfo=dt.UTC)
    )
    assert not matches(rules, "Le former président russe a reçu Kim Jong Un.")
    assert not matches(rules, "Le vice-président russe a reçu Kim Jong Un.")
    # a word between them, or a place that is not beside the title, names no one
    assert not matches(rules, "Le président du club russe a reçu Kim Jong Un.")
    plain = load_rules(
        write_rules({"r.yaml": rule, "lists/people.yaml": PEOPLE, "lists/places.yaml": places})
    )
    assert not matches(plain, "Le président russe a reçu Kim Jong Un.")


def test_a_plural_title_after_joined_places_names_each_places_sitting_holder(
    write_rules: RuleWriter,
) -> None:
    people = PEOPLE.replace(
        "  templates:",
        "  joined_places: {president: [presidents], leader: [leaders]}\n"
        "  joined_counterparts: [counterparts]\n  templates:",
    ).replace("skip_after: [former]", "skip_after: [former, business]")
    rule = "id: r\ntitle: R\nparts:\n  two: {entity: people, in_office: true, min: 2, distinct: country}\ncondition: sentence(two)\n"
    rules = with_people(write_rules, people, rule)
    assert matches(rules, "The Russian and American presidents met in Geneva.")
    assert matches(rules, "The North Korean, Russian and American leaders met in Geneva.")
    # one place names no one, nor do places after the title, nor a title skipped before the places
    assert not matches(rules, "The Russian presidents met in Geneva.")
    assert not matches(rules, "The presidents of Russia and United States met in Geneva.")
    assert not matches(rules, "The former Russian and American presidents met in Geneva.")
    assert not matches(rules, "Business Russian and American leaders met in Geneva.")
    # the holders on the article's day: Biden's term ended in January 2025
    assert not matches(
        rules, "The Russian and American presidents met.", published=dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    )
    # counterparts after a sitting leader named in the sentence, not after anyone else
    assert matches(rules, "Vladimir Putin welcomed his North Korean and American counterparts.")
    assert not matches(rules, "The envoy welcomed his North Korean and American counterparts.")
    assert not matches(rules, "Putin left. The envoy welcomed his North Korean and American counterparts.")
    assert not matches(rules, "Kim welcomed his Russian and American counterparts.")  # a weak alias
    plain = with_people(write_rules, PEOPLE, rule)
    assert not matches(plain, "The Russian and American presidents met in Geneva.")


def test_a_weak_alias_right_after_its_persons_country_names_the_person(rule_with: Build) -> None:
    rules = rule_with("two: {entity: people, in_office: true, min: 2, distinct: country}", "sentence(two)")
    assert matches(rules, "North Korea's Kim met Putin in Vostochny.")
    assert matches(rules, "The North Korean Kim met Putin in Vostochny.")
    # after another country, or with no country, the surname may be anyone's
    assert not matches(rules, "Russia's Kim met Putin in Vostochny.")
    assert not matches(rules, "Kim met Putin in Vostochny.")
