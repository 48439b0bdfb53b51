"""Text normalisation: fold once per article, keep the way back to the original.

Matching runs on a folded copy of the text (case-folded, accents and other
combining marks removed, hyphens and line breaks as spaces, curly quotes as
straight ones) so that "Erdoğan", "ERDOGAN" and "erdogan" are one word and
"Kim Jong-un" reads like "Kim Jong Un". Nearly every character folds to
exactly one character, so the folded text usually lines up with the original
and offsets need no map; only when some character grows or vanishes
("ß" -> "ss", a lone combining accent) is an offset map built.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right

_SPACE_LIKE = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u00ad")
_APOSTROPHES = frozenset("\u2018\u2019\u201b\u02bc\u2032`\u00b4")
_QUOTES = frozenset("\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033")
_DROPPED = frozenset("\u0640\u200b\u200c\u200d\ufeff")  # Arabic tatweel and zero-width joiners


def _is_hangul_syllable(char: str) -> bool:
    # NFKD would split Korean syllables into jamo; they are kept whole.
    return "\uac00" <= char <= "\ud7a3"


def fold_char(char: str, *, keep_case: bool = False) -> str:
    if char.isspace() or char in _SPACE_LIKE or char == "\x00":
        return " "
    if char in _APOSTROPHES:
        return "'"
    if char in _QUOTES:
        return '"'
    if char in _DROPPED:
        return ""
    if _is_hangul_syllable(char):
        return char
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
        self.irregular_re: re.Pattern[str] | None = None
        for code in range(128):
            self[code] = fold_char(chr(code))

    def __missing__(self, code: int) -> str:
        folded = fold_char(chr(code))
        if len(folded) != 1:
            self.irregular.add(chr(code))
            self.irregular_re = re.compile("[" + "".join(re.escape(c) for c in sorted(self.irregular)) + "]")
        self[code] = folded
        return folded


_TABLE = _FoldTable()


def fold(text: str) -> str:
    """The folded form of ``text``, as terms and articles are compared."""
    return text.translate(_TABLE)


def fold_keep_case(text: str) -> str:
    """Like ``fold`` but keeping capitals, to check case-sensitive terms."""
    return "".join(fold_char(c, keep_case=True) for c in text)


class FoldedText:
    """A text and its folded form, with offsets convertible between the two."""

    __slots__ = ("_from_orig", "_to_orig", "folded", "original")

    def __init__(self, original: str) -> None:
        self.original = original
        self.folded = original.translate(_TABLE)
        pattern = _TABLE.irregular_re
        self._to_orig: list[int] | None = None
        self._from_orig: list[int] | None = None
        if pattern is not None and not original.isascii() and pattern.search(original):
            self._build_map()

    def _build_map(self) -> None:
        to_orig: list[int] = []
        for index, char in enumerate(self.original):
            to_orig.extend([index] * len(_TABLE[ord(char)]))
        to_orig.append(len(self.original))
        self._to_orig = to_orig

    def to_original(self, offset: int) -> int:
        return offset if self._to_orig is None else self._to_orig[offset]

    def from_original(self, offset: int) -> int:
        return offset if self._to_orig is None else bisect_left(self._to_orig, offset)


# A full stop after one of these does not end a sentence.
_ABBREVIATION_WORDS = (
    "mr mrs ms dr prof gen lt col maj capt sgt adm sen rep gov pres st jr sr rev no nos vs etc inc corp co "
    "ltd jan feb mar apr jun jul aug sep sept oct nov dec mt ft approx est dept fig"
)
_ABBREVIATIONS = frozenset(_ABBREVIATION_WORDS.split())
_SENTENCE_END = re.compile(r"[.!?\u3002\uff01\uff1f\u061f]+[\"'\u201d\u2019\u00bb)\]]*(?=\s)|\n")
_WORD_BEFORE = re.compile(r"(\S+)$")
_INITIALISM = re.compile(r"^(?:[a-z]\.)*[a-z]$")


def sentence_starts(text: str) -> list[int]:
    """Offsets where sentences begin: after . ! ? followed by a capital, and after line breaks."""
    starts = [0]
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        nxt = end
        while nxt < len(text) and text[nxt].isspace():
            nxt += 1
        if nxt >= len(text):
            break
        if match.group() != "\n":
            if text[nxt].islower():
                continue
            if match.group()[0] == "." and _is_abbreviation(text, match.start()):
                continue
        if nxt > starts[-1]:
            starts.append(nxt)
    return starts


def _is_abbreviation(text: str, dot: int) -> bool:
    before = _WORD_BEFORE.search(text, max(0, dot - 24), dot)
    if before is None:
        return False
    word = before.group(1).lstrip("(\"'\u201c\u2018").lower()
    return word in _ABBREVIATIONS or bool(_INITIALISM.match(word))


_WORD = re.compile(r"\w+")


class Tokens:
    """Word positions of a text, to measure distances in words."""

    __slots__ = ("ends", "starts")

    def __init__(self, text: str) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        for match in _WORD.finditer(text):
            self.starts.append(match.start())
            self.ends.append(match.end())

    def index_at(self, offset: int) -> int:
        """Index of the word containing ``offset``, or of the last word before it."""
        return max(0, bisect_right(self.starts, offset) - 1)

    def span(self, first: int, last: int) -> tuple[int, int]:
        first = max(0, first)
        last = min(len(self.starts) - 1, last)
        if last < first:
            return (0, 0)
        return (self.starts[first], self.ends[last])


def snippet(text: str, start: int, end: int, width: int = 60) -> str:
    """About ``width`` characters either side of ``text[start:end]``, cut at spaces."""
    left = max(0, start - width)
    right = min(len(text), end + width)
    if left > 0:
        space = text.find(" ", left, start)
        left = space + 1 if space != -1 else left
    if right < len(text):
        space = text.rfind(" ", end, right)
        right = space if space != -1 else right
    body = " ".join(text[left:right].split())
    return ("…" if left > 0 else "") + body + ("…" if right < len(text) else "")
