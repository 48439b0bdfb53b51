import pytest

from service.matching.scanner import REGEXES_PER_SET, Scanner
from service.matching.terms import (
    ListRef,
    LiteralTerm,
    RegexTerm,
    TermSyntaxError,
    left_ok,
    parse_term,
    right_end,
)


def test_a_tilde_inflects_one_word_of_a_phrase() -> None:
    term = parse_term("take ~delivery")
    assert isinstance(term, LiteralTerm)
    assert "take deliveries" in term.variants


def test_slashes_make_a_regular_expression() -> None:
    assert parse_term("/f ?16/") == RegexTerm("/f ?16/", "f ?16")


def test_a_regular_expression_is_folded_as_the_text_it_searches() -> None:
    # accents, hamza and capitals are dropped from the text before matching; the pattern's own
    # letters go the same way, its ASCII syntax untouched
    assert parse_term("/lâ\\w+/") == RegexTerm("/lâ\\w+/", "la\\w+")
    assert parse_term("/لإنهاء الحرب/") == RegexTerm("/لإنهاء الحرب/", "لانهاء الحرب")
    assert parse_term("/Été \\D/") == RegexTerm("/Été \\D/", "ete \\D")


def test_an_at_sign_refers_to_a_list() -> None:
    assert parse_term("@meeting_words") == ListRef("meeting_words")


def test_a_backslash_turns_the_syntax_off() -> None:
    term = parse_term("\\~tilde")
    assert isinstance(term, LiteralTerm)
    assert term.variants == ("~tilde",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a* b", "only allowed at the end"),
        ("/(/", "invalid regular expression"),
        ("@Bad", "not a valid list reference"),
        ("---", "no letters or digits"),
    ],
)
def test_malformed_terms_are_rejected_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(TermSyntaxError, match=message):
        parse_term(text)


@pytest.mark.parametrize(
    ("text", "case_sensitive", "expected"),
    [
        ("Kim  Jong-un", False, LiteralTerm("Kim  Jong-un", ("kim jong un",), None, False)),
        ("\tErdoğan\n", True, LiteralTerm("\tErdoğan\n", ("erdogan",), ("Erdogan",), False)),
        ("ΟΔΟΣ ΑΣ", False, LiteralTerm("ΟΔΟΣ ΑΣ", ("οδοσ ασ",), None, False)),
        ("\\a*b~", False, LiteralTerm("\\a*b~", ("a*b~",), None, False)),
    ],
)
def test_a_phrase_without_syntax_is_its_one_folded_form(
    text: str, case_sensitive: bool, expected: LiteralTerm
) -> None:
    assert parse_term(text, case_sensitive=case_sensitive) == expected


@pytest.mark.parametrize("text", ["", "  ", "- _ -", "\\_"])
def test_a_phrase_of_no_letters_or_digits_is_rejected(text: str) -> None:
    with pytest.raises(TermSyntaxError, match="no letters or digits"):
        parse_term(text)


def test_a_term_must_start_at_a_word_boundary() -> None:
    assert not left_ok("summit", 3)


def test_arabic_conjunctions_and_prepositions_may_precede_a_term() -> None:
    text = "لقطر"  # "for Qatar"
    assert left_ok(text, 1)


def test_a_prefix_term_extends_to_the_end_of_the_word() -> None:
    assert right_end("путину", 5, prefix=True) == 6


def test_korean_particles_may_follow_a_term() -> None:
    assert right_end("정상회담을", 4, prefix=False) == 4


def test_arabic_attached_pronouns_may_follow_a_term() -> None:
    assert right_end("تزويدها", 5, prefix=False) == 7  # "supplying it"
    assert right_end("تزويدهم", 5, prefix=False) == 7  # "supplying them"


def test_an_arabic_term_inside_a_longer_word_is_not_found() -> None:
    assert right_end("مصري", 3, prefix=False) == -1  # "Egyptian", not "Egypt" with "my"
    assert right_end("تزويدات", 5, prefix=False) == -1


def test_a_latin_term_must_end_at_a_word_boundary() -> None:
    assert right_end("meetings", 4, prefix=False) == -1


def test_regexes_are_found_under_their_own_ids() -> None:
    # screened ones (a required string of four letters or more) and unscreened ones alike, the
    # unscreened searched in slices of REGEXES_PER_SET (one RE2 set each)
    regexes = [RegexTerm(f"/q{i}/", f"\\bq{i}\\b") for i in range(REGEXES_PER_SET * 2 + 3)]
    regexes += [RegexTerm(f"/word{i}x/", f"\\bword{i}x\\b") for i in range(30)]
    scanner = Scanner([], regexes)
    unscreened = REGEXES_PER_SET * 2 + 3
    assert scanner.unscreened == frozenset(range(unscreened))  # "q0" is too short to screen by
    found = scanner.regexes_found(f"q0, q{REGEXES_PER_SET + 2}, q{unscreened - 1}, word7x and word29x")
    assert found == {0, REGEXES_PER_SET + 2, unscreened - 1, unscreened + 7, unscreened + 29}

    # those asked about alone (read only around another term's occurrence) are found all the same
    alone = Scanner([], regexes, asked_alone=frozenset({0, unscreened - 1, unscreened + 7}))
    assert alone.together == frozenset(range(1, unscreened - 1))
    assert alone.regexes_found(f"q0, q{REGEXES_PER_SET + 2}, q{unscreened - 1}, word7x and word29x") == found


class _Plain:
    def original_text(self, start: int, end: int) -> str:
        return ""


def test_one_scan_finds_terms_and_the_regex_screens_strings() -> None:
    # "blockade" is both a term and a string the second regex requires: its scan reports it as
    # both, and the screen lets through what it lets through on its own
    literals = [parse_term("blockade"), parse_term("port")]
    regexes = [RegexTerm("/naval x/", r"\bnaval \w+"), RegexTerm("/blockade of/", r"\bblockade of\b")]
    assert all(isinstance(term, LiteralTerm) for term in literals)
    scanner = Scanner([term for term in literals if isinstance(term, LiteralTerm)], regexes)
    text = "a naval blockade of the port"
    hits, needles = scanner.scan(text, _Plain())
    assert dict(hits) == {0: [(8, 16)], 1: [(24, 28)]}
    assert scanner.screened(needles) == scanner.screen(text) == {0, 1}
    assert scanner.screened(scanner.scan("the port", _Plain())[1]) == set()
