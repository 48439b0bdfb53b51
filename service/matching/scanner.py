"""Find every term of every rule and list in an article in one pass.

All literal forms go into one Aho-Corasick automaton, so the cost of a scan
grows with the length of the text and the number of occurrences, not with the
number of rules. Regular-expression terms are screened by the strings they
require (``prefilter``), and each is tried only when a rule needs to know
whether it matches; only those that match somewhere are then run to find
positions.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from typing import Protocol

import ahocorasick_rs
import re2

from service.matching.prefilter import RegexScreen
from service.matching.terms import (
    LEFT_FREE,
    LEFT_NEVER,
    WORD_MARKS,
    LiteralTerm,
    RegexTerm,
    compile_regex,
    left_ok,
    left_rule,
    re2_options,
    right_end,
    right_open,
    unspaced_script,
)
from service.matching.text import FIELD_SEPARATOR, fold_keep_case

# unscreened regexes searched together in one RE2 set (see Scanner.__init__)
REGEXES_PER_SET = 48
# the first character of any script written without spaces (``unspaced_script``): Thai
_FIRST_UNSPACED = "\u0e00"

Span = tuple[int, int]
Hits = dict[int, list[Span]]
# (targets, plain term ids, left rule, ends with a word character, may stand before one, first
# and last characters of a script written without spaces)
_Pattern = tuple[
    tuple[tuple[int, str | None, bool], ...], tuple[int, ...] | None, int, bool, bool, bool, bool
]


class Scanner:
    def __init__(
        self,
        literals: list[LiteralTerm],
        regexes: list[RegexTerm],
        *,
        asked_alone: frozenset[int] = frozenset(),
    ) -> None:
        entries: dict[str, list[tuple[int, str | None, bool]]] = defaultdict(list)
        for term_id, term in enumerate(literals):
            cased = term.cased or (None,) * len(term.variants)
            for variant, cased_form in zip(term.variants, cased, strict=True):
                entries[variant].append((term_id, cased_form, term.prefix))
        # per pattern of the automaton: its (term id, case to check, prefix) targets; the term ids
        # to take as they stand when no target needs its case checked; and what its first and
        # last characters tell of the word boundary checks (a match is the pattern's own text):
        # the left rule, and whether a word character after it is to be looked at, and may stand
        self._patterns: list[_Pattern] = []
        self._automaton: ahocorasick_rs.AhoCorasick | None = None
        self._variants: list[str] = []
        if entries:
            for variant, targets in entries.items():
                plain = (
                    None
                    if any(cased is not None for _, cased, _ in targets)
                    else tuple(t[0] for t in targets)
                )
                left, last_word, last_open, first_unspaced, last_unspaced = _edges(variant[0], variant[-1])
                self._patterns.append(
                    (
                        tuple(targets),
                        plain,
                        left,
                        last_word,
                        last_open or any(prefix for _, _, prefix in targets),
                        first_unspaced,
                        last_unspaced,
                    )
                )
        self._variants = list(entries)  # the automaton's patterns in order, to rebuild it (__setstate__)
        # the patterns as str, for texts beyond ASCII (regex_spans): compiled on first use, since
        # nearly every article is ASCII and a start-up compiling every regex twice costs more; two
        # threads may both compile one, and either copy serves
        self._sources = [regex.pattern for regex in regexes]
        self._regexes: dict[int, re2._Regexp] = {}
        # Which regexes a text can match, by the strings they require (prefilter); a regex is then
        # run alone, on the text encoded once per article: a pattern given as bytes takes bytes as
        # they are, where one given as str would encode the text again on every call. RE2 sets
        # that ran every regex on every article cost more, mostly in building their automata
        # state by state on new texts: a set's automaton covers every pattern in it at once.
        self._screen = RegexScreen([regex.pattern for regex in regexes])
        self.unscreened = frozenset(self._screen.always)  # any text may match these
        # The screen's strings are patterns of the same automaton, after the terms' (a string that
        # is also a term is there twice, and both are reported): one pass over an article finds
        # both, where a second automaton cost a second pass over the text
        self._first_needle = len(self._variants)
        self._automaton = self._build_automaton()
        self._tests = [re2.compile(regex.pattern.encode(), re2_options()) for regex in regexes]
        # The regexes without such strings are searched together, one pass for all of them, in
        # RE2 sets of a few dozen: a set's automaton grows with the product of its patterns'
        # bounded repeats ("(?:[\w-]+ ){0,5}?"), and past RE2's memory budget it is thrown away
        # and rebuilt on every article (188 patterns in one set: 30 times slower than in three).
        # Regexes read only around an occurrence of another term (``asked_alone``: a not_within
        # or a guard's spares) are asked about in few articles, after that term was found; in a
        # set they would cost every article the set is searched in, and a few long ones (twelve
        # months in five languages, then a future verb ten words on) made a set's automaton ten
        # times dearer to build on new texts. They are run alone, when asked.
        self.together = frozenset(self._screen.always) - asked_alone  # searched in the sets
        always = tuple(regex_id for regex_id in self._screen.always if regex_id in self.together)
        self._unscreened_ids = [
            always[first : first + REGEXES_PER_SET] for first in range(0, len(always), REGEXES_PER_SET)
        ]
        self._unscreened_sets = [(ids, self._regex_set(ids)) for ids in self._unscreened_ids]

    def __getstate__(self) -> dict[str, object]:
        """What a pickled scanner keeps (``rulecache``): its automaton and RE2 sets cannot be
        pickled, and are rebuilt from their patterns in far less time than compiling the rules."""
        state = dict(self.__dict__)
        del state["_automaton"], state["_unscreened_sets"]
        state["_regexes"] = {}
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._automaton = self._build_automaton()
        self._unscreened_sets = [(ids, self._regex_set(ids)) for ids in self._unscreened_ids]

    def _build_automaton(self) -> ahocorasick_rs.AhoCorasick | None:
        patterns = self._variants + list(self._screen.needles)
        return ahocorasick_rs.AhoCorasick(patterns) if patterns else None

    def _regex_set(self, ids: tuple[int, ...]) -> re2.Set:
        regex_set = re2.Set.SearchSet(re2_options())
        for regex_id in ids:
            regex_set.Add(self._sources[regex_id])
        regex_set.Compile()
        return regex_set

    def literal_hits(self, text: str, original: OriginalSource) -> Hits:
        return self.scan(text, original)[0]

    def scan(self, text: str, original: OriginalSource) -> tuple[Hits, list[int]]:
        """Where each literal term occurs in ``text``, and which of the regex screen's strings occur
        there (for ``screened``: a string as often as it occurs)."""
        hits: Hits = defaultdict(list)
        needles: list[int] = []
        if self._automaton is None:
            return hits, needles
        size = len(text)
        patterns = self._patterns
        marks = WORD_MARKS
        first_needle = self._first_needle
        for pattern, start, end in self._automaton.find_matches_as_indexes(text, overlapping=True):
            if pattern >= first_needle:
                needles.append(pattern - first_needle)
                continue
            targets, plain, left, last_word, right_may_open, first_unspaced, last_unspaced = patterns[pattern]
            # most candidates sit at word boundaries or fail them on the first test; the
            # script-aware checks run only when a word character touches the match. The match is
            # the pattern's own text, so its side of a script break is known from the pattern;
            # the character beside it is of a script without spaces only from U+0E00 on
            if start and left != LEFT_FREE:
                before = text[start - 1]
                if (
                    (before.isalnum() or before in marks)
                    and (left == LEFT_NEVER or not left_ok(text, start))
                    and (before >= _FIRST_UNSPACED and unspaced_script(before)) == first_unspaced
                ):
                    continue
            touching = False
            if last_word and end < size:
                after = text[end]
                touching = (after.isalnum() or after in marks) and (
                    after >= _FIRST_UNSPACED and unspaced_script(after)
                ) == last_unspaced
            if not touching:
                if plain is not None:
                    span = (start, end)
                    for term_id in plain:
                        hits[term_id].append(span)
                    continue
            elif not right_may_open:
                continue  # inside a longer word: "sign" in "signal"
            for term_id, cased, prefix in targets:
                stop = right_end(text, end, prefix=prefix) if touching else end
                if stop < 0:
                    continue
                if cased is not None and not fold_keep_case(original.original_text(start, stop)).startswith(
                    cased
                ):
                    continue
                hits[term_id].append((start, stop))
        return hits, needles

    @property
    def has_regexes(self) -> bool:
        return bool(self._sources)

    def screen(self, text: str) -> set[int]:
        """The regexes with required strings that may match ``text``: those whose strings occur.
        Any other regex with such strings cannot; those of ``unscreened`` may."""
        return self._screen.candidates(text)

    def screened(self, needles: list[int]) -> set[int]:
        """``screen`` of a text in which ``scan`` found these of the screen's strings."""
        return self._screen.let_through(set(needles))

    def unscreened_found(self, encoded: bytes) -> set[int]:
        """Which of the unscreened regexes match somewhere in a text (given encoded as UTF-8)."""
        found: set[int] = set()
        for ids, regex_set in self._unscreened_sets:
            found.update(ids[index] for index in regex_set.Match(encoded) or ())
        return found

    def regex_matches(self, regex_id: int, encoded: bytes) -> bool:
        """Whether the regex matches somewhere in a text (given encoded as UTF-8)."""
        return self._tests[regex_id].search(encoded) is not None

    def regexes_found(self, text: str) -> set[int]:
        """Which regular expressions match somewhere in ``text``."""
        encoded = text.encode()
        found = self.unscreened_found(encoded)
        alone = (self.unscreened - self.together).union(self.screen(text))
        found.update(regex_id for regex_id in alone if self.regex_matches(regex_id, encoded))
        return found

    def regex_spans(self, regex_id: int, text: str, encoded: bytes | None = None) -> list[Span]:
        """Where the regex matches ``text`` (not empty), in its characters. Given the text encoded
        as UTF-8 and all ASCII, bytes are characters: the search runs on the bytes as they are,
        without a conversion of every offset back to characters."""
        if encoded is not None and len(encoded) == len(text):
            matches = self._tests[regex_id].finditer(encoded)
        else:
            regex = self._regexes.get(regex_id)
            if regex is None:
                regex = self._regexes[regex_id] = compile_regex(self._sources[regex_id])
            matches = regex.finditer(text)
        spans = []
        for match in matches:
            start, end = match.span()
            # "not after a letter", (?:^|[^ء-ي]), also takes the separator before a field's first
            # word; a hit that began there would belong to the field before (or an empty summary)
            while start < end and text[start] == FIELD_SEPARATOR:
                start += 1
            if end > start:
                spans.append((start, end))
        return spans


@functools.cache
def _edges(opening: str, last: str) -> tuple[int, bool, bool, bool, bool]:
    """What the first and last characters of a pattern tell of the word boundary checks of its
    matches: the left rule, whether it ends with a word character, whether an unprefixed match
    may stand before one (``right_open``), and which of its ends are of a script written without
    spaces. The tens of thousands of patterns of a library begin and end with a few hundred
    characters, so each pair is worked out once."""
    return (
        left_rule(opening),
        last.isalnum() or last in WORD_MARKS,
        right_open(last, prefix=False),
        unspaced_script(opening),
        unspaced_script(last),
    )


class OriginalSource(Protocol):
    """Gives back the original characters of a span, to check case-sensitive terms."""

    def original_text(self, start: int, end: int) -> str: ...
