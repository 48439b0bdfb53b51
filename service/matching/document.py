"""One article prepared for matching: its fields folded into one searchable text.

The title, summary and body are folded and joined with a separator that no
term can match, so a single automaton pass covers every field; offsets in
that joined text map back to a field and to the field's original characters.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from bisect import bisect_left, bisect_right

from service.matching.schema import ALL_FIELDS
from service.matching.terms import WORD_MARKS
from service.matching.text import FIELD_SEPARATOR, FoldedText, sentence_starts
from service.models import Article, ArticleField

# Where a sentence turns to another event: "will send tanks to Ukraine | after
# Russian strikes killed 20". A time measured from the other event goes with it: "rose on
# Monday, | two days after Modi visited Washington". Text here is folded (lower case).
_BREAK_WORDS = (
    r"(?:after|before|ahead of|while|whereas|although|though|despite|because|until|following|which|when|amid"
    # the same turns in French, German, Spanish, Portuguese and Italian (folded: no accents)
    r"|apres|avant de|avant que|alors que|tandis que|bien que|nachdem|bevor|wahrend|obwohl"
    r"|despues de|antes de|mientras|aunque|depois de|enquanto|embora|dopo|prima di|mentre)"
)
# The time measured from the other event, which goes with the turn, in the same languages: "signé
# mercredi, | quatre ans après la visite". Folded text has no hyphens: "quatre-vingts" is "quatre vingts".
_SINCE_WHEN = (
    r"(?:(?:just|only|barely|mere|some|a peine|seulement|apenas|solo|appena|nur|knapp) )?"
    # the count in digits or words: "two", "sixty", "quatre", "a few"
    r"(?:(?:a few|a dozen|several|few|\d[\d,.]*|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
    r"|fifteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|a hundred|hundreds of|dozens of"
    r"|quelques|plusieurs|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|quinze|vingt|trente|quarante|cinquante"
    r"|soixante|vingts|cent"
    r"|unos|unas|varios|varias|algunos|algunas|alguns|algumas|dos|dois|duas|tres|cuatro|quatro|cinco|seis|siete"
    r"|sete|ocho|oito|nueve|nove|diez|dez|quince|quinze|veinte|vinte|treinta|trinta|cuarenta|quarenta|cincuenta"
    r"|cinquenta|sesenta|sessenta|setenta|ochenta|oitenta|noventa|cien|cem"
    r"|alcuni|alcune|pochi|due|tre|quattro|cinque|sei|sette|otto|dieci|quindici|venti|trenta|quaranta"
    r"|cinquanta|sessanta|settanta|ottanta|novanta|cento"
    r"|einige|wenige|zwei|drei|vier|funf|sechs|sieben|acht|neun|zehn|zwanzig|dreissig|vierzig|funfzig"
    r"|sechzig|siebzig|achtzig|neunzig|hundert) )?"
    r"(?:hours?|days?|weeks?|months?|years?|decades?"
    r"|heures|jours|semaines|mois|ans|annees|horas|dias|semanas|meses|anos|ore|giorni|settimane|mesi|anni"
    r"|stunden|tage|tagen|wochen|monate|monaten|jahre|jahren) "
)
# A comma before "and" and a verb of saying or deciding with "that" opens what was said or decided,
# a clause of its own: "held their first meeting in five years in Kazan, | and agreed that the
# Special Representatives would meet at an early date".
# A comma before "and" and a new subject joins two clauses: "ministers discuss ammunition stocks, |
# and the UN envoy presses the army to accept a truce" (a list ends in a noun, not a clause). A
# colon before a number opens a list of what the clause names, and stays in it: "approved two
# possible sales worth $93 million: 100 Javelin missiles and 216 Excalibur rounds".
#
# Every break opens with one of ";:," or a space: the pattern opens with that one class, and each
# kind of break then looks back at the character to go on from it (a comma or a space before a
# turn, marked by the empty group "turn"). A pattern that opens with a single class is searched
# by skipping, in C, to its characters; alternatives that each open otherwise are tried at every
# character of every sentence split.
_CLAUSE_BREAK = re.compile(
    r"[;:,\s](?:(?<=;)\s+|(?<=:)\s+(?!\d)|(?<=\s)\s*[-\u2013\u2014]+\s+"
    rf"|(?P<turn>)(?:(?<=,)\s+|(?<=\s)\s*)(?=(?P<word>{_BREAK_WORDS})\s)"
    r"|(?<=,)\s+(?=and (?:agreed|decided|announced|said|stressed|noted|added) that\s)"
    r"|(?<=,)\s+(?=(?:and (?:the|a|an|its|their|his|her|this|these|those)\s"
    r"|et (?:le|la|l'|les|un|une|son|sa|ses|leur|leurs)|y (?:el|la|los|las|un|una|su|sus)"
    r"|e (?:il|lo|la|l'|i|gli|le|o|a|os|as|um|uma|seu|sua)|und (?:der|die|das|den|dem|ein|eine|sein|seine|ihr|ihre))\b))"
)
# the time right before a turn, looked for only where a turn is found
_TIME_BEFORE = re.compile(rf"(?<!\w){_SINCE_WHEN[:-1]}\Z")
# "When" right after a named time is that time, not a turn to another event: what follows "last
# met in Brasilia in July, when Modi made a state visit" happened then, and is history with it.
_NAMED_TIME_BEFORE = re.compile(
    r"(?<!\w)(?:january|february|march|april|may|june|july|august|september|october|november|december"
    r"|monday|tuesday|wednesday|thursday|friday|saturday|sunday|(?:january|february|march|april|may|june|july"
    r"|august|september|october|november|december) \d{1,2}|(?:19|20)\d\d|last (?:year|month|week)"
    r"|yesterday|at the time|then)\W*\Z"
)
# Nor is "until" before a time alone, which dates the clause it stands in: "The carrier that served as the
# Royal Navy's flagship until this spring was formally handed over to Brazil", "the flagship until 2018, was".
_UNTIL_A_TIME = re.compile(
    r"until (?:(?:this|last|early|late|mid|earlier this|late last|the end of|the start of) )?"
    r"(?:spring|summer|autumn|fall|winter|year|month|week|recently|now|then|today|yesterday|lately"
    r"|january|february|march|april|may|june|july|august|september|october|november|december|(?:19|20)\d\d)"
    r"(?: (?:19|20)\d\d)?\b"
    # and the clause's own verb or a comma right after it; before an object the time opens what follows ("rolled
    # over until the end of July 2025 the rest of the sanctions regime")
    r"(?=,|\s+(?:was|were|is|are|has|have|had|will|would)\b)"
)
# Nor is "which" right after a year, with its preposition: "the arms deal of 1999, in which South
# Africa bought frigates" tells what was done then.
_YEAR_BEFORE_WHICH = re.compile(r"(?<!\w)(?:19|20)\d\d\W*(?:in|under|by|through|with|during|for)?\W*\Z")
# The same turn opening a sentence runs to its first comma: "Days after the vote, | Starmer met
# Macron".
_LEADING = re.compile(rf"[\"'(]?(?:{_SINCE_WHEN})?{_BREAK_WORDS}\s[^,;:.]{{1,120}},\s*")
# A clause that opens with such a turn: "two days after Modi visited Washington"
_TURN = re.compile(rf"[\"'(]?(?:{_SINCE_WHEN})?{_BREAK_WORDS}\s")
# A relative clause about a person, between commas: "Putin, who last saw Xi in 2023, met him on
# Tuesday". It is a clause of its own on both sides, so what it tells (a year, "last") stays in it;
# so is one that ends the sentence: "opened by Turkey's foreign minister, who urged both sides to
# aim for a ceasefire."
_RELATIVE = re.compile(r",\s+(?:who|whom|whose)\s[^,;:.]{1,120}(?:,\s*|(?=[.!?\"')\s]*\Z))")
# A participle phrase between commas tells of the subject, not of another event: no break inside
# "The contract, signed after two years of trials, covers 96 K2 tanks".
_PARTICIPLE = re.compile(
    r",\s+(?!(?:then|when|even|often|seven|eleven|been)\s)\w+(?:ed|en|ght)\s[^,;:.]{1,80},"
)


class Document:
    __slots__ = ("_clauses", "_reversed", "_sentences", "_words", "day", "field_starts", "fields", "text")

    def __init__(self, article: Article, now: dt.datetime) -> None:
        published = article.published or now
        if published.tzinfo is not None:
            published = published.astimezone(dt.UTC)
        self.day: dt.date = published.date()
        self.fields: list[tuple[ArticleField, FoldedText]] = []
        self.field_starts: list[int] = []
        pieces: list[str] = []
        offset = 0
        for name in ALL_FIELDS:
            folded = FoldedText(article.text(name))
            self.fields.append((name, folded))
            self.field_starts.append(offset)
            pieces.append(folded.folded)
            offset += len(folded.folded) + len(FIELD_SEPARATOR)
        self.text = FIELD_SEPARATOR.join(pieces)
        self._sentences: list[int] | None = None
        self._clauses: dict[int, list[int]] = {}
        self._reversed: str | None = None
        self._words: dict[tuple[int, int], tuple[int, int]] = {}

    def field_index(self, offset: int) -> int:
        return bisect_right(self.field_starts, offset) - 1

    def field_name(self, offset: int) -> ArticleField:
        return self.fields[self.field_index(offset)][0]

    def field_span(self, offset: int) -> tuple[int, int]:
        index = self.field_index(offset)
        start = self.field_starts[index]
        return start, start + len(self.fields[index][1].folded)

    def original(self, start: int, end: int) -> tuple[ArticleField, str, int, int]:
        """The field, its original text, and the original offsets of a span of the joined text; a
        span that runs on past the end of the field where it starts ends with that field."""
        index = self.field_index(start)
        name, folded = self.fields[index]
        base = self.field_starts[index]
        end = min(end, base + len(folded.folded))
        return name, folded.original, folded.to_original(start - base), folded.to_original(end - base)

    def original_text(self, start: int, end: int) -> str:
        _, text, first, last = self.original(start, end)
        return text[first:last]

    @property
    def sentences(self) -> list[int]:
        """Start offsets of every sentence in the joined text; each field starts a sentence."""
        if self._sentences is None:
            starts: list[int] = []
            for (name, folded), base in zip(self.fields, self.field_starts, strict=True):
                found = sentence_starts(folded.original, headline=name == "title")
                if folded.lines_up:
                    starts.extend([base + start for start in found] if base else found)
                else:
                    starts.extend(base + folded.from_original(start) for start in found)
            self._sentences = starts
        return self._sentences

    def sentence_span(self, offset: int) -> tuple[int, int]:
        starts = self._sentences if self._sentences is not None else self.sentences
        index = bisect_right(starts, offset) - 1
        end = starts[index + 1] if index + 1 < len(starts) else len(self.text)
        return starts[index], end

    def clause_span(self, offset: int) -> tuple[int, int]:
        """The clause of its sentence that ``offset`` falls in."""
        low, high = self.sentence_span(offset)
        starts = self._clauses.get(low)
        if starts is None:
            starts = self._clause_starts(low, high)
            self._clauses[low] = starts
        index = bisect_right(starts, offset) - 1
        return starts[index], starts[index + 1] if index + 1 < len(starts) else high

    def is_turn(self, offset: int) -> bool:
        """Whether the clause at ``offset`` is a turn to another event ("..., days after Xi visited
        Moscow"): who is named there is not who the main clause is about."""
        low, _ = self.clause_span(offset)
        return _TURN.match(self.text, low) is not None

    def _clause_starts(self, low: int, high: int) -> list[int]:
        sentence = self.text[low:high]
        leading = _LEADING.match(sentence)
        # no break inside an opening "After ..., " or a participle phrase between commas
        # (in text order and apart, so the one that could hold a break is found by bisection)
        closed = [(-1, leading.end())] if leading is not None else []
        closed += [
            (m.start(), m.end()) for m in _PARTICIPLE.finditer(sentence, closed[0][1] if closed else 0)
        ]
        firsts = [first for first, _ in closed]
        breaks: set[int] = set()
        # after a turn measured in time ("four months after a conflict with India in May, during
        # which both sides fired missiles before agreeing to halt hostilities"), the turns that follow
        # tell of that earlier event and stay in its clause, up to a break of another kind
        measured = False
        for match in _CLAUSE_BREAK.finditer(sentence):
            at = match.end()
            word = match.group("word")
            if match.group("turn") is None:
                measured = False
            elif measured:
                continue
            if word == "when" and _NAMED_TIME_BEFORE.search(
                sentence, max(0, match.start() - 20), match.start()
            ):
                continue
            if word == "until" and _UNTIL_A_TIME.match(sentence, match.end()):
                continue
            if word == "which" and (
                _YEAR_BEFORE_WHICH.search(sentence, max(0, match.start() - 16), match.start())
                or sentence.endswith(" of", 0, match.start())
            ):
                # "of which" names a part of the noun before it, in its clause: "the first flight
                # trial of which is expected only in 2027"
                continue
            if match.group("turn") is not None:
                time = _TIME_BEFORE.search(sentence, max(0, match.start() - 40), match.start())
                if time is not None:
                    at = time.start()
                    measured = True
            around = bisect_left(firsts, at) - 1
            if around < 0 or at >= closed[around][1]:
                breaks.add(low + at)
        if leading is not None:
            breaks.add(low + leading.end())
        for match in _RELATIVE.finditer(sentence):
            breaks.update((low + match.start() + 1, low + match.end()))
        return [low, *sorted(edge for edge in breaks if low < edge < high)]

    def words_around(self, start: int, end: int, words: int) -> tuple[int, int]:
        """From ``words`` words before the word at ``start`` to ``words`` words after the last word
        of the span ending at ``end``, within its field."""
        low, high = self.words_at(start, words)
        if self.spans_words(start, end):
            high = max(high, self.words_at(end - 1, words)[1])
        return low, high

    def spans_words(self, start: int, end: int) -> bool:
        """Whether the span holds more than one word (a phrase, or a hyphenated word)."""
        return _NON_WORD.search(self.text, start, end) is not None

    def words_at(self, offset: int, words: int) -> tuple[int, int]:
        """From ``words`` words before the word at ``offset`` (or the last one before it) to
        ``words`` words after it, within its field.

        Found by regular expressions run from that word: forwards on the text, backwards on the
        text reversed (made once), so no article is split into all its words for a few windows.
        """
        known = self._words.get((offset, words))
        if known is not None:
            return known
        text = self.text
        size = len(text)
        if self._reversed is None:
            self._reversed = text[::-1]
        backwards = self._reversed
        # the start of the word containing offset, or of the last word before it
        run = _WORD_RUN_BACK.match(backwards, size - offset - 1) if offset < size else None
        if run is not None and run.end() > size - offset - 1:
            word = size - run.end()
        else:
            before = _LAST_WORD_BACK.match(backwards, size - offset)
            if before is not None:
                word = size - before.end()
            else:
                first = _WORD.search(text)
                word = first.start() if first is not None else 0
        after = _words_after(words).match(text, word)
        high = after.end() if after is not None else word
        before_words = _words_before(words).match(backwards, size - word)
        low = size - before_words.end() if before_words is not None else word
        field_start, field_end = self.field_span(offset)
        window = (max(low, field_start), min(high, field_end))
        self._words[(offset, words)] = window
        return window


# A word's characters: Python's \w leaves out the vowel signs and viramas of the Indic scripts
# (categories Mn and Mc), which would cut "मिसाइल" into three words and make every word count
# in Hindi two or three times too long
_MARKS = "".join(sorted(WORD_MARKS))
_W = rf"[\w{_MARKS}]"
_NW = rf"[^\w{_MARKS}]"
_WORD = re.compile(rf"{_W}+")
_NON_WORD = re.compile(_NW)
_WORD_RUN_BACK = re.compile(rf"{_W}*")
_LAST_WORD_BACK = re.compile(rf"{_NW}*{_W}+")


@functools.cache
def _words_after(count: int) -> re.Pattern[str]:
    return re.compile(rf"{_W}+(?:{_NW}+{_W}+){{0,{count}}}")


@functools.cache
def _words_before(count: int) -> re.Pattern[str]:
    return re.compile(rf"(?:{_NW}+{_W}+){{0,{count}}}")
