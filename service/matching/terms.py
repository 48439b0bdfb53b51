"""The term syntax, and where a term may match.

meet           a phrase, on word boundaries, case and accents ignored
~meet          the word and its inflections (meets, met, meeting)
take ~delivery inflect one word of a phrase
Путин*         a word prefix (Путина, Путину); only at the end of a term
/f ?16[a-z]?/  an RE2 regular expression over the folded text
@transfers     every term of the term list 'transfers'
\\~literal      a leading backslash turns the syntax off
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from dataclasses import dataclass

import re2

from service.matching.inflect import inflections
from service.matching.text import fold, fold_char, fold_keep_case

MAX_VARIANTS = 256


class TermSyntaxError(ValueError):
    """A term that cannot be compiled; the message says why."""


@dataclass(frozen=True)
class LiteralTerm:
    display: str
    variants: tuple[str, ...]  # folded forms, the keys of the automaton
    cased: tuple[str, ...] | None  # forms to compare against for case-sensitive terms
    prefix: bool


@dataclass(frozen=True)
class RegexTerm:
    display: str
    pattern: str


@dataclass(frozen=True)
class ListRef:
    name: str


ParsedTerm = LiteralTerm | RegexTerm | ListRef
_LIST_NAME = re.compile(r"^@([a-z][a-z0-9_]*)$")


# Every compile of the rules parses the same tens of thousands of aliases and titles again (a
# backtest compiles twice, the console's editor on each check): parsed terms are immutable, so a
# process keeps the most recent ones. Bounded, since rule text comes from users.
@functools.lru_cache(maxsize=1 << 16)
def parse_term(text: str, *, case_sensitive: bool = False) -> ParsedTerm:
    if text.startswith("\\"):
        return _literal(text, text[1:], case_sensitive, parse_syntax=False)
    if len(text) >= 2 and text.startswith("/") and text.endswith("/"):
        return _regex(text)
    if text.startswith("@"):
        match = _LIST_NAME.match(text)
        if match is None:
            raise TermSyntaxError(f"'{text}' is not a valid list reference (expected '@name')")
        return ListRef(match.group(1))
    return _literal(text, text, case_sensitive, parse_syntax=True)


def re2_options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # errors are reported to the user with file and line instead
    options.max_mem = 64 << 20
    return options


def compile_regex(pattern: str) -> re2._Regexp:
    """An RE2 regex: linear-time matching, so no pattern can hang the matcher."""
    try:
        return re2.compile(pattern, re2_options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise TermSyntaxError(f"invalid regular expression /{pattern}/: {reason}") from None


def _regex(text: str) -> RegexTerm:
    # The text is matched folded (accents and hamza dropped, lower case), so the pattern's own
    # letters are folded the same way, or "/lâ/" and "/لإنهاء/" would never match. ASCII is left
    # as written (lower case, then): it holds the syntax (\W, \D), which folding must not touch.
    pattern = "".join(char if char.isascii() else fold_char(char) for char in text[1:-1])
    compile_regex(pattern)
    return RegexTerm(text, pattern)


# a letter or a digit: what str.isalnum() is true of, tested by one search in C
_ALNUM = re.compile(r"[^\W_]")


def _literal(display: str, text: str, case_sensitive: bool, *, parse_syntax: bool) -> LiteralTerm:
    words = text.split()
    if not parse_syntax or ("*" not in text and "~" not in text):
        # A phrase without syntax, as nearly all of the tens of thousands of aliases and titles
        # of a library are: its one form, folded once.
        phrase = " ".join(words)
        form = fold(phrase)
        if not words or _ALNUM.search(form) is None:
            raise TermSyntaxError(f"term '{display}' has no letters or digits")
        cased_form = (" ".join(fold_keep_case(phrase).split()),) if case_sensitive else None
        return LiteralTerm(display, (" ".join(form.split()),), cased_form, False)
    prefix = False
    choices: list[list[str]] = []
    for position, word in enumerate(words):
        if parse_syntax and word.endswith("*"):
            if position != len(words) - 1 or word.count("*") > 1:
                raise TermSyntaxError(f"'*' is only allowed at the end of a term: '{display}'")
            prefix = True
            word = word[:-1]
        if parse_syntax and word.startswith("~"):
            word = word[1:]
            if not word:
                raise TermSyntaxError(f"'~' must be followed by a word: '{display}'")
            choices.append(sorted(inflections(word) | inflections(word.lower())))
        else:
            choices.append([word])
        if not word:
            raise TermSyntaxError(f"empty word in term '{display}'")
    if not choices or not any(ch.isalnum() for ch in fold(text)):
        raise TermSyntaxError(f"term '{display}' has no letters or digits")
    phrases = [" ".join(combo) for combo in itertools.product(*choices)]
    if len(phrases) > MAX_VARIANTS:
        raise TermSyntaxError(f"term '{display}' expands to more than {MAX_VARIANTS} forms")
    folded = tuple(" ".join(fold(p).split()) for p in phrases)
    cased = tuple(" ".join(fold_keep_case(p).split()) for p in phrases) if case_sensitive else None
    return LiteralTerm(display, folded, cased, prefix)


# The vowel signs and other combining marks of the scripts of India and South-East Asia belong
# to the word they are written in ("चीनी", sugar, is not "चीन", China, and a mark): folding keeps
# them where it drops the accents of Latin letters, and str.isalnum does not count them.
WORD_MARKS = frozenset(
    chr(code) for code in range(0x0900, 0x1100) if unicodedata.category(chr(code)) in ("Mn", "Mc")
)


def _is_word(char: str) -> bool:
    return char.isalnum() or char in WORD_MARKS


def unspaced_script(char: str) -> bool:
    """Scripts written without spaces between words, or with particles glued on (Korean)."""
    code = ord(char)
    return (
        0x1100 <= code <= 0x11FF  # Hangul jamo
        or 0xAC00 <= code <= 0xD7A3  # Hangul syllables
        or 0x3040 <= code <= 0x30FF  # kana
        or 0x3400 <= code <= 0x9FFF  # CJK ideographs
        or 0x0E00 <= code <= 0x0E7F  # Thai
    )


def script_break(before: str, after: str) -> bool:
    """Whether two touching characters belong to different words because one is of a script
    written without spaces and the other is not: a Latin name glued to Japanese, Chinese or Korean
    ("F-35Bの初号機", "购买F-16战斗机", "K2전차") ends or starts there."""
    return unspaced_script(before) != unspaced_script(after)


def _no_left_boundary_needed(char: str) -> bool:
    code = ord(char)
    return 0x3040 <= code <= 0x30FF or 0x3400 <= code <= 0x9FFF or 0x0E00 <= code <= 0x0E7F


def _is_arabic(char: str) -> bool:
    return 0x0600 <= ord(char) <= 0x06FF


# Arabic glues conjunctions, prepositions and the article onto the next word:
# "وقطر" (and Qatar), "لقطر" (for Qatar), "الأمريكية" (the American).
_ARABIC_PROCLITICS = re.compile(r"^(?:[وف]?[بلك]?(?:ال)?|[وف]?لل)$")


# How a match is judged when a word character stands right before it (``left_ok``), by its first
# character: kept, dropped, or kept after a look at the word it is glued to (Arabic)
LEFT_FREE, LEFT_NEVER, LEFT_CHECK = 0, 1, 2


def left_rule(first: str) -> int:
    """``left_ok`` of a match starting with ``first`` and preceded by a word character, as far as
    it is known from that character alone."""
    if not _is_word(first) or _no_left_boundary_needed(first):
        return LEFT_FREE
    return LEFT_CHECK if _is_arabic(first) else LEFT_NEVER


def left_ok(text: str, start: int) -> bool:
    if start == 0 or not _is_word(text[start - 1]) or not _is_word(text[start]):
        return True
    first = text[start]
    if _no_left_boundary_needed(first):
        return True
    if _is_arabic(first):
        word_start = start
        while word_start > 0 and _is_word(text[word_start - 1]):
            word_start -= 1
        return bool(_ARABIC_PROCLITICS.match(text[word_start:start]))
    return False


# ... and attached pronouns onto its end: "تزويدها بطائرات مسيرة" (supplying it with drones), "لقاءهما"
# (their meeting). Not the "ي" of "my", which also makes adjectives of nouns ("مصري", Egyptian).
_ARABIC_ENCLITICS = frozenset(("ه", "ها", "هم", "هما", "هن", "كم", "كما", "نا"))


def right_open(last: str, *, prefix: bool) -> bool:
    """Whether a match ending with ``last`` can stand when a word character follows it
    (``right_end`` other than -1)."""
    return prefix or unspaced_script(last) or _is_arabic(last)


def right_end(text: str, end: int, *, prefix: bool) -> int:
    """Where a match ending at ``end`` really ends, or -1 if it stops inside a word."""
    if end >= len(text) or not _is_word(text[end]) or not _is_word(text[end - 1]):
        return end
    if prefix:
        return _word_end(text, end)
    if unspaced_script(text[end - 1]):
        return end
    if _is_arabic(text[end - 1]):
        word_end = _word_end(text, end)
        if text[end:word_end] in _ARABIC_ENCLITICS:
            return word_end
    return -1


def _word_end(text: str, start: int) -> int:
    """Where the word that goes on at ``start`` ends."""
    while start < len(text) and _is_word(text[start]):
        start += 1
    return start
