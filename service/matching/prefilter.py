"""Screen an article for the regular expressions that can match it, before running any.

Most regular-expression terms of a library spell out words: ``\\bblock \\d+\\b``
cannot match a text without "block ", nor ``\\b(?:sent|send) (?:[\\w-]+ )?troops\\b``
one without "sent " or "send ", and "troops". Those strings are read from each
pattern's source, and one Aho-Corasick pass over an article finds which occur;
a regex is run only where a string of its rarest set did. RE2 builds each
pattern's automaton lazily, state by state, as texts lead it into new ones, so
a regex run on fewer and likelier articles costs less in that warm-up too,
which in a short-lived process such as ``geoalert match`` is most of what
regexes cost.

The reading is conservative: it knows a small part of RE2's syntax (literal
characters, escaped punctuation, groups, alternation, classes, the usual
quantifiers and assertions) and gives up on anything else (flags such as
``(?i)``, named groups, ``\\p{..}``, ``\\x..``). A pattern it gives up on, or
whose strings are all lighter than ``MIN_SCREEN`` (so common that screening
would save nothing; see ``weight``), is left unscreened: any article may match
it. Skipping a pattern wrongly would lose a match without a word, so every step
keeps to what a match must contain: a set of required strings is one that
every match of the pattern contains a string of.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import ahocorasick_rs

MIN_SCREEN = 4  # lighter strings occur in nearly every article: such a screen would pass them all
MAX_FORMS = 64  # alternatives of a run of fixed text (a group of 12 months, then " of ") kept apart

Needles = frozenset[str]  # every match contains one of these strings

_ZERO_WIDTH = frozenset("bBAz")  # \b, \B, \A, \z: match the empty string somewhere
_CLASSES = frozenset("dDwWsS")  # \d, \w, \s and their negations: one character of many


class _Unknown(Exception):
    """The pattern uses syntax this reading does not know: no string is required of it."""


@dataclass(frozen=True)
class _Info:
    """What is known of the text a piece of a pattern matches.

    ``exact``: every string it can match, when they are few (the empty string among them when
    it can match nothing); ``needs``: sets of strings every match contains one string of each.
    """

    exact: frozenset[str] | None
    needs: tuple[Needles, ...] = ()


_OTHER = _Info(None)  # one character of a class, or "."
_EMPTY = _Info(frozenset({""}))  # an assertion: ^, $, \b


def required_strings(pattern: str) -> tuple[Needles, ...]:
    """Sets of strings such that every match of ``pattern`` contains a string of each; none when
    nothing can be told (syntax this reading does not know, or nothing fixed to read)."""
    try:
        parser = _Parser(pattern)
        info = parser.alternation()
        if parser.position != len(pattern):
            raise _Unknown  # a ")" without its "("
    except _Unknown:
        return ()
    return _needs(info)


def weight(needle: str) -> int:
    """How much a string says of a text that contains it: its length without the spaces around
    it (" in " occurs in every English article, "in" too), a Chinese or Japanese character or a
    Korean syllable counting as a short word (as in anchors.py)."""
    core = needle.strip()
    if core.isascii():
        return len(core)
    return len(core) + 2 * sum(1 for char in core if char >= "\u2e80")


def _score(needles: Needles) -> tuple[int, int]:
    # the heaviest lightest string is the rarest screen; of equals, the one with fewer strings
    return min(weight(needle) for needle in needles), -len(needles)


def _useful(needles: frozenset[str] | None) -> Needles | None:
    """``needles`` if each of them says something: a required empty string requires nothing."""
    if needles is None or not needles or "" in needles:
        return None
    return needles


def _needs(info: _Info) -> tuple[Needles, ...]:
    """Every set a piece requires, its exact strings among them, without repeats."""
    exact = _useful(info.exact)
    return tuple(dict.fromkeys((*info.needs, exact) if exact is not None else info.needs))


def _best(info: _Info) -> Needles | None:
    """The rarest single set of strings a piece requires."""
    needs = _needs(info)
    return max(needs, key=_score) if needs else None


class _Parser:
    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.position = 0

    def _peek(self) -> str:
        return self.pattern[self.position] if self.position < len(self.pattern) else ""

    def alternation(self) -> _Info:
        branches = [self.sequence()]
        while self._peek() == "|":
            self.position += 1
            branches.append(self.sequence())
        if len(branches) == 1:
            return branches[0]
        exact: frozenset[str] | None = None
        if all(branch.exact is not None for branch in branches):
            exact = frozenset().union(*(branch.exact or () for branch in branches))
            if len(exact) > MAX_FORMS:
                exact = None
        # a match is a match of one branch: it contains a string that branch requires
        bests = [_best(branch) for branch in branches]
        if any(best is None for best in bests):
            return _Info(exact)
        return _Info(exact, (frozenset().union(*(best or () for best in bests)),))

    def sequence(self) -> _Info:
        needs: list[Needles] = []
        run: frozenset[str] = frozenset({""})  # the strings the current run of fixed text can be
        whole = True  # every item so far joined the run: the run is the sequence's exact strings
        while self._peek() not in ("", "|", ")"):
            item = self.quantified()
            needs.extend(item.needs)
            if item.exact is not None and len(run) * len(item.exact) <= MAX_FORMS:
                run = frozenset(a + b for a in run for b in item.exact)
                continue
            whole = False
            needs.append(run)
            run = item.exact if item.exact is not None else frozenset({""})
        needs.append(run)
        useful = [needles for needles in map(_useful, needs) if needles is not None]
        return _Info(run if whole else None, tuple(dict.fromkeys(useful)))

    def quantified(self) -> _Info:
        item = self.atom()
        char = self._peek()
        if char not in ("?", "*", "+", "{"):
            return item
        if char == "{":
            low, high = self._braces()
        else:
            self.position += 1
            low, high = {"?": (0, 1), "*": (0, None), "+": (1, None)}[char]
        if self._peek() == "?":
            self.position += 1  # lazy: matches the same strings
        if self._peek() in ("?", "*", "+", "{"):
            raise _Unknown  # a quantifier on a quantifier: not RE2 syntax
        if low == 0:
            if high == 1 and item.exact is not None:
                return _Info(item.exact | {""})
            return _EMPTY if high == 0 else _OTHER
        if low == high == 1:
            return item
        # at least one repetition: what it requires stands, its exact strings no longer
        return _Info(None, _needs(item))

    def _braces(self) -> tuple[int, int | None]:
        end = self.pattern.find("}", self.position)
        if end < 0:
            raise _Unknown
        body = self.pattern[self.position + 1 : end]
        low_text, comma, high_text = body.partition(",")
        if not low_text.isdigit() or (high_text and not high_text.isdigit()):
            raise _Unknown
        low = int(low_text)
        high = None if comma and not high_text else int(high_text or low_text)
        if high is not None and high < low:
            raise _Unknown
        self.position = end + 1
        return low, high

    def atom(self) -> _Info:
        char = self._peek()
        self.position += 1
        if char == "(":
            if self._peek() == "?":
                if self.pattern[self.position : self.position + 2] != "?:":
                    raise _Unknown  # flags, named groups
                self.position += 2
            inner = self.alternation()
            if self._peek() != ")":
                raise _Unknown
            self.position += 1
            return inner
        if char == "[":
            self._skip_class()
            return _OTHER
        if char == ".":
            return _OTHER
        if char in ("^", "$"):
            return _EMPTY
        if char == "\\":
            escaped = self._peek()
            self.position += 1
            if escaped in _ZERO_WIDTH:
                return _EMPTY
            if escaped in _CLASSES:
                return _OTHER
            if escaped and escaped.isascii() and not escaped.isalnum() and not escaped.isspace():
                return _Info(frozenset({escaped}))
            raise _Unknown  # \p{..}, \x.., \Q, \1, \n and the rest
        if char in ("*", "+", "?", "{", "}", "]", ")", "|", ""):
            raise _Unknown
        return _Info(frozenset({char}))

    def _skip_class(self) -> None:
        """Past the end of a character class: "[^,;.]", "[\\w'.-]", "[]a]"."""
        if self._peek() == "^":
            self.position += 1
        if self._peek() == "]":
            self.position += 1  # a "]" first is one of the class's characters
        while True:
            char = self._peek()
            if char == "":
                raise _Unknown
            self.position += 1
            if char == "]":
                return
            if char == "\\":
                self.position += 1
            elif char == "[" and self._peek() == ":":
                raise _Unknown  # [[:alpha:]]


class RegexScreen:
    """Which of a list of regular expressions an article can match, by their required strings.

    Each regex is screened by the rarest of its sets of strings (``_score``); its other sets
    would rule out few more articles than that one does, for a look at every string of them.
    """

    def __init__(self, patterns: Sequence[str], *, min_length: int = MIN_SCREEN) -> None:
        screens: dict[str, list[int]] = {}  # needle -> the regexes it lets through
        always: list[int] = []
        for regex_id, pattern in enumerate(patterns):
            sets = required_strings(pattern)
            best = max(sets, key=_score) if sets else None
            if best is None or _score(best)[0] < min_length:
                always.append(regex_id)
                continue
            for needle in best:
                screens.setdefault(needle, []).append(regex_id)
        self.always = tuple(always)  # without a screen: to be run on every text
        self.screened = len(patterns) - len(always)  # how many regexes have a screen
        self._regexes = [tuple(regex_ids) for regex_ids in screens.values()]
        # the strings in the order ``let_through`` numbers them; the scanner looks for them in its
        # own pass over an article (``Scanner.scan``), so this screen's automaton is built only
        # when it is used alone
        self.needles: tuple[str, ...] = tuple(screens)
        self._automaton: ahocorasick_rs.AhoCorasick | None = None

    def __getstate__(self) -> dict[str, object]:
        """What a pickled screen keeps (``rulecache``): its automaton cannot be pickled, and is
        rebuilt from its needles when next used."""
        return {**self.__dict__, "_automaton": None}

    def let_through(self, needles: Iterable[int]) -> set[int]:
        """The screened regexes that may match a text in which these strings (by their index in
        ``needles``) occur."""
        found: set[int] = set()
        regexes = self._regexes
        for needle in needles:
            found.update(regexes[needle])
        return found

    def candidates(self, text: str) -> set[int]:
        """The screened regexes that may match ``text``: those with a string of their set in it.
        The others, ``always``, may match any text."""
        if not self.needles:
            return set()
        if self._automaton is None:
            self._automaton = ahocorasick_rs.AhoCorasick(self.needles)
        return self.let_through(
            {match[0] for match in self._automaton.find_matches_as_indexes(text, overlapping=True)}
        )
