"""Evaluate compiled rules against one article and explain each match.

A condition is evaluated over a window of the article's joined text: the
whole article at the top, one sentence inside ``sentence(...)``, a few words
around an anchor inside ``near(...)``. A part holds in a window when enough
distinct terms or entities of it occur there; what held becomes evidence.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable
from typing import NamedTuple

from service.matching.compiled import CompiledGuard, CompiledPart, CompiledRule, CompiledRules
from service.matching.condition import And, AtLeast, Near, Node, Not, Or, Ref, Sentence
from service.matching.document import Document
from service.matching.entities import CompiledEntity
from service.matching.schema import ALL_FIELDS
from service.matching.text import snippet
from service.models import Evidence

MAX_EVIDENCE = 10
MAX_ANCHORS = 200  # bound the work of one sentence()/near() on a very long article
_YEAR_DIGITS = 4
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_WORD = re.compile(r"[a-z]+")


class Hit(NamedTuple):
    start: int
    end: int
    term: str
    entity: str | None
    key: object  # what counts as one distinct occurrence for 'min'


class _EntityHit(NamedTuple):
    start: int
    end: int
    term: str
    entity: int


# (part name, hit, found inside a sentence() or near() window)
Proof = list[tuple[str, Hit, bool]]
_WindowOf = Callable[[int], tuple[int, int]]


class Veto(NamedTuple):
    """An occurrence of a guarded part dropped because a guard occurred within its scope."""

    part: str
    hit: Hit
    guard: CompiledGuard
    by: Hit


class Window(NamedTuple):
    """A sentence, clause or word window tried while explaining (``ArticleMatcher.windows``)."""

    node: Sentence | Near
    start: int
    end: int
    held: bool
    absent: Node | None = None  # no window was tried: this operand holds nowhere in the enclosing text


class Decision(NamedTuple):
    route: str | None
    evidence: list[Evidence]


class ArticleMatcher:
    """The hits of one article, shared by every rule evaluated on it."""

    def __init__(self, compiled: CompiledRules, doc: Document) -> None:
        self.compiled = compiled
        self.doc = doc
        self.literal = compiled.scanner.literal_hits(doc.text, doc)
        # which regexes match is only needed to trigger rules, or once a part asks for them
        self._regexes_found: set[int] | None = None
        self._regex_spans: dict[int, list[tuple[int, int]]] = {}
        self._office: dict[tuple[str, int], tuple[bool, str | None]] = {}
        self._entity_hits: dict[str, list[_EntityHit]] = {}
        self._homes: dict[tuple[str, int], set[str]] = {}
        self._part_hits: dict[int, tuple[list[Hit], list[int]]] = {}
        self._vetoes: dict[int, list[Veto]] = {}
        self._guard_verdicts: dict[tuple[int, int, int], Hit | None] = {}
        # explain sets this to a list to hear of every outermost window tried; None costs nothing
        self.windows: list[Window] | None = None
        self._depth = 0

    def candidates(self) -> list[int]:
        """Rules that can match: those an anchor term of which occurs, and those that need none."""
        found = set(self.compiled.always)
        anchors = self.compiled.anchors
        for term_id in self.literal:
            found.update(anchors.get(term_id, ()))
        if self.compiled.regex_anchors:
            for regex_id in self._regex_ids():
                found.update(self.compiled.regex_anchors.get(regex_id, ()))
        return sorted(found)

    def evaluate(self, rule: CompiledRule) -> Decision | None:
        """The first route of the rule that holds, with its evidence; None if none does."""
        end = len(self.doc.text)
        for route, condition in rule.routes or ((None, rule.condition),):
            proof = self._holds(condition, rule, 0, end)
            if proof is not None:
                return Decision(route, self._evidence(proof, route))
        return None

    def holds(self, node: Node, rule: CompiledRule, start: int, end: int) -> list[tuple[str, Hit]] | None:
        """Whether ``node`` holds within ``[start, end)`` of the joined text, and on which hits."""
        proof = self._holds(node, rule, start, end)
        return None if proof is None else [(part, hit) for part, hit, _ in proof]

    def part_hits(self, part: CompiledPart) -> list[Hit]:
        """Every occurrence of the part in the article, after its filters and guards."""
        return self._hits_of(part)[0]

    def vetoes(self, part: CompiledPart) -> list[Veto]:
        """Occurrences of the part that its guards dropped (after its hits were gathered)."""
        return self._vetoes.get(self._cache_key(part), [])

    # -- conditions ----------------------------------------------------------

    def _holds(self, node: Node, rule: CompiledRule, start: int, end: int) -> Proof | None:
        if isinstance(node, Ref):
            part = rule.parts[rule.part_index[node.name]]
            inside = self._part_inside(part, start, end)
            return None if inside is None else [(part.name, hit, False) for hit in inside]
        if isinstance(node, Not):
            operand = node.operand
            if isinstance(operand, Ref):
                missing = self._part_inside(rule.parts[rule.part_index[operand.name]], start, end) is None
                return [] if missing else None
            return [] if self._holds(operand, rule, start, end) is None else None
        if isinstance(node, And):
            return self._all(node.operands, rule, start, end)
        if isinstance(node, Or):
            # the first alternative that holds is explanation enough
            for operand in node.operands:
                proof = self._holds(operand, rule, start, end)
                if proof is not None:
                    return proof
            return None
        if isinstance(node, AtLeast):
            held: Proof = []
            count = 0
            for operand in node.operands:
                proof = self._holds(operand, rule, start, end)
                if proof is not None:
                    held.extend(proof)
                    count += 1
                    if count == node.count:
                        return held
            return None
        if isinstance(node, Sentence):
            window_of = self.doc.clause_span if node.clause else self.doc.sentence_span
            return self._within(node, rule, start, end, window_of, any_anchor=True)
        assert isinstance(node, Near)
        words = node.words
        return self._within(
            node, rule, start, end, lambda at: self._words_around(at, words), any_anchor=False
        )

    def _all(self, operands: tuple[Node, ...], rule: CompiledRule, start: int, end: int) -> Proof | None:
        proof: Proof = []
        for operand in operands:
            held = self._holds(operand, rule, start, end)
            if held is None:
                return None
            proof.extend(held)
        return proof

    def _within(
        self,
        node: Sentence | Near,
        rule: CompiledRule,
        start: int,
        end: int,
        window_of: _WindowOf,
        *,
        any_anchor: bool,
    ) -> Proof | None:
        """Operands that all hold in one window (a sentence, or words around an anchor)."""
        self._depth += 1
        try:
            return self._within_windows(node, rule, start, end, window_of, any_anchor=any_anchor)
        finally:
            self._depth -= 1

    def _within_windows(
        self,
        node: Sentence | Near,
        rule: CompiledRule,
        start: int,
        end: int,
        window_of: _WindowOf,
        *,
        any_anchor: bool,
    ) -> Proof | None:
        operands = node.operands
        record = self.windows if self._depth == 1 else None  # explain: the outermost windows
        # Whatever must hold in a window must hold in the enclosing one: check every positive
        # operand there first, and start the search from the one with the fewest occurrences.
        anchors: list[Hit] | None = None
        for operand in operands:
            if isinstance(operand, Not):
                continue
            positions: list[Hit] | None
            if isinstance(operand, Ref):
                positions = self._part_inside(rule.parts[rule.part_index[operand.name]], start, end)
                if positions is None:
                    if record is not None:
                        record.append(Window(node, start, end, held=False, absent=operand))
                    return None
            elif self._holds(operand, rule, start, end) is None:
                if record is not None:
                    record.append(Window(node, start, end, held=False, absent=operand))
                return None
            else:
                positions = None
            # near() measures from its first operand, so only sentence() may start elsewhere
            if anchors is None or any_anchor:
                if positions is None:
                    positions = self._positions(operand, rule, start, end)
                if anchors is None or len(positions) < len(anchors):
                    anchors = positions
        assert anchors is not None
        proof: Proof = []
        tried: set[tuple[int, int]] = set()
        for hit in anchors[:MAX_ANCHORS]:
            low, high = window_of(hit.start)
            # the window around an anchor reaches its end too (near: N words after the anchor's last word)
            if hit.end > high:
                high = window_of(hit.end - 1)[1]
            window = (max(start, low), min(end, high))
            if window in tried:
                continue
            tried.add(window)
            held = self._all(operands, rule, *window)
            if record is not None:
                record.append(Window(node, window[0], window[1], held=held is not None))
            if held is not None:
                proof.extend((part, found, True) for part, found, _ in held)
        return proof or None

    def _positions(self, node: Node, rule: CompiledRule, start: int, end: int) -> list[Hit]:
        """Every occurrence from which ``node`` could hold in a window around it; unlike a proof,
        this covers all alternatives of an ``or``."""
        if isinstance(node, Ref):
            hits, starts = self._hits_of(rule.parts[rule.part_index[node.name]])
            first = bisect_left(starts, start)
            last = bisect_left(starts, end, first)
            return [hit for hit in hits[first:last] if hit.end <= end]
        if isinstance(node, Not):
            return []
        children = [
            self._positions(operand, rule, start, end)
            for operand in node.operands
            if not isinstance(operand, Not)
        ]
        if isinstance(node, (Or, AtLeast)):
            # by position only: hits of an entity part and of a term part may share start, end and term
            return sorted(
                (hit for positions in children for hit in positions), key=lambda h: (h.start, h.end)
            )
        # every positive operand of and / sentence / near is required: the rarest one will do
        return min(children, key=len)

    def _words_around(self, offset: int, words: int) -> tuple[int, int]:
        tokens = self.doc.tokens
        index = tokens.index_at(offset)
        low, high = tokens.span(index - words, index + words)
        field_start, field_end = self.doc.field_span(offset)
        return max(low, field_start), min(high, field_end)

    # -- parts ---------------------------------------------------------------

    def _part_inside(self, part: CompiledPart, start: int, end: int) -> list[Hit] | None:
        """The part's hits inside the window, if there are enough of them for the part to hold."""
        hits, starts = self._hits_of(part)
        first = bisect_left(starts, start)
        last = bisect_left(starts, end, first)
        inside = [hit for hit in hits[first:last] if hit.end <= end]
        if not inside:
            return None
        if part.required > 1 and len({hit.key for hit in inside}) < part.required:
            return None
        return inside

    @staticmethod
    def _cache_key(part: CompiledPart) -> int:
        return part.shared_id if part.shared_id >= 0 else id(part)

    def _hits_of(self, part: CompiledPart) -> tuple[list[Hit], list[int]]:
        key = self._cache_key(part)
        cached = self._part_hits.get(key)
        if cached is not None:
            return cached
        hits = self._entity_part_hits(part) if part.entity_list is not None else self._term_part_hits(part)
        doc = self.doc
        if len(part.fields) < len(ALL_FIELDS):
            hits = [hit for hit in hits if doc.field_name(hit.start) in part.fields]
        if part.year_before_published:
            hits = [hit for hit in hits if self._mentions_past_year(hit)]
        if part.month_before_published:
            hits = [hit for hit in hits if self._mentions_earlier_month(hit)]
        hits.sort()
        if part.guards and hits:
            hits = self._unguarded(part, hits, key)
        result = (hits, [hit.start for hit in hits])
        self._part_hits[key] = result
        return result

    def _unguarded(self, part: CompiledPart, hits: list[Hit], key: int) -> list[Hit]:
        """The hits no guard of the part vetoes; the vetoed ones are kept aside to explain."""
        # most guards occur nowhere in a given article: those cost one lookup, and no window
        active = [guard for guard in part.guards if self._hits_of(guard.part)[0]]
        if not active:
            return hits
        kept: list[Hit] = []
        verdicts = self._guard_verdicts
        for hit in hits:
            for guard in active:
                low, high = self._guard_window(guard, hit)
                # guarded parts share guards and sentences: each guard is judged once per window
                window = (self._cache_key(guard.part), low, high)
                if window in verdicts:
                    by = verdicts[window]
                else:
                    inside = self._part_inside(guard.part, low, high)
                    by = verdicts[window] = inside[0] if inside is not None else None
                if by is not None:
                    self._vetoes.setdefault(key, []).append(Veto(part.name, hit, guard, by))
                    break
            else:
                kept.append(hit)
        return kept

    def _guard_window(self, guard: CompiledGuard, hit: Hit) -> tuple[int, int]:
        if guard.scope == "near":
            low, high = self._words_around(hit.start, guard.words)
            if hit.end > high:
                high = self._words_around(hit.end - 1, guard.words)[1]
            return low, high
        if guard.scope == "clause":
            return self.doc.clause_span(hit.start)
        return self.doc.sentence_span(hit.start)

    def _term_part_hits(self, part: CompiledPart) -> list[Hit]:
        hits: list[Hit] = []
        displays = self.compiled.literal_displays
        found, index = self.literal, part.literal_index
        # walk whichever is shorter: the terms found in the article or the terms of the part
        if len(found) < len(index):
            pairs = [(term_id, index[term_id]) for term_id in found if term_id in index]
        else:
            pairs = [(term_id, groups) for term_id, groups in index.items() if term_id in found]
        for term_id, groups in pairs:
            for start, end in found[term_id]:
                for group in groups:
                    hits.append(Hit(start, end, displays[term_id], None, group))
        for regex_id, group in zip(part.regex_ids, part.regex_groups, strict=True):
            for start, end in self._spans_of_regex(regex_id):
                hits.append(Hit(start, end, self.compiled.regex_displays[regex_id], None, group))
        return hits

    def _regex_ids(self) -> set[int]:
        if self._regexes_found is None:
            self._regexes_found = self.compiled.scanner.regexes_found(self.doc.text)
        return self._regexes_found

    def _spans_of_regex(self, regex_id: int) -> list[tuple[int, int]]:
        if regex_id not in self._regex_ids():
            return []
        if regex_id not in self._regex_spans:
            self._regex_spans[regex_id] = self.compiled.scanner.regex_spans(regex_id, self.doc.text)
        return self._regex_spans[regex_id]

    def _office_of(self, list_name: str, index: int, entity: CompiledEntity) -> tuple[bool, str | None]:
        """Whether the entity is in office on the article's day, and for which country."""
        key = (list_name, index)
        cached = self._office.get(key)
        if cached is None:
            day = self.doc.day
            cached = (entity.in_office(day), entity.country_on(day))
            self._office[key] = cached
        return cached

    def _entity_part_hits(self, part: CompiledPart) -> list[Hit]:
        assert part.entity_list is not None
        name = part.entity_list
        entities = self.compiled.lists[name].compiled.entities
        hits: list[Hit] = []
        for found in self._entities(name):
            entity = entities[found.entity]
            needs_office = part.in_office or part.distinct == "country"
            in_office, country = self._office_of(name, found.entity, entity) if needs_office else (True, None)
            if part.in_office and not in_office:
                continue
            if part.where and not all(_attribute_matches(entity.attributes.get(k), v) for k, v in part.where):
                continue
            key: object = entity.id
            if part.distinct == "country":
                key = country or entity.attributes.get("country")
                if key is None:
                    continue
            elif part.distinct is not None and part.distinct != "id":
                key = entity.attributes.get(part.distinct)
                if key is None:
                    continue
                key = str(key)
            if part.abroad_from is not None and entity.id in self._home_countries(
                part.abroad_from, found.start
            ):
                continue
            hits.append(Hit(found.start, found.end, found.term, entity.id, key))
        return hits

    def _home_countries(self, list_name: str, offset: int) -> set[str]:
        """Countries of the people of a list who are in office and named in the sentence at ``offset``."""
        low, high = self.doc.sentence_span(offset)
        cached = self._homes.get((list_name, low))
        if cached is not None:
            return cached
        people = self.compiled.lists[list_name].compiled.entities
        found = self._entities(list_name)
        first = bisect_left(found, low, key=lambda hit: hit.start)
        homes: set[str] = set()
        for hit in found[first:]:
            if hit.start >= high:
                break
            in_office, country = self._office_of(list_name, hit.entity, people[hit.entity])
            if in_office and country is not None:
                homes.add(country)
        self._homes[(list_name, low)] = homes
        return homes

    def _entities(self, name: str) -> list[_EntityHit]:
        """Every mention of the list's entities, titles resolved by date and weak aliases checked."""
        cached = self._entity_hits.get(name)
        if cached is not None:
            return cached
        use = self.compiled.lists[name]
        offices = use.compiled.offices
        displays = self.compiled.literal_displays
        day = self.doc.day
        named: set[int] = set()
        found: list[tuple[int, int, str, int, bool]] = []
        for term_id, spans in self.literal.items():
            meanings = use.meanings.get(term_id)
            if meanings is None:
                continue
            for meaning in meanings:
                for start, end in spans:
                    entity = meaning.entity
                    if meaning.office is not None:
                        if self._next_to(start, end, use.compiled.skip_after, use.compiled.skip_before):
                            continue
                        entity = offices.holder(meaning.office, day)
                        if entity is None:
                            continue
                    assert entity is not None
                    if not meaning.weak:
                        named.add(entity)
                    found.append((start, end, displays[term_id], entity, meaning.weak))
        found.sort(key=lambda item: (item[0], -item[1]))
        result: list[_EntityHit] = []
        cover_start, cover_end = -1, -1
        for start, end, term, entity, weak in found:
            if weak and entity not in named:
                continue
            if end <= cover_end and (start, end) != (cover_start, cover_end):
                continue  # inside a longer mention: "Castro" within "Raúl Castro"
            if end > cover_end:
                cover_start, cover_end = start, end
            result.append(_EntityHit(start, end, term, entity))
        self._entity_hits[name] = result
        return result

    def _next_to(self, start: int, end: int, before: frozenset[str], after: frozenset[str]) -> bool:
        """Whether the word (or two words) before the span is in ``before``, or the word (or two
        words) after it in ``after``: "former", "who served as", "elect", "from 1998"."""
        text = self.doc.text
        if before:
            words: list[str] = []
            stop = start
            for _ in range(2):
                while stop > 0 and text[stop - 1] == " ":
                    stop -= 1
                begin = stop
                while begin > 0 and text[begin - 1].isalnum():
                    begin -= 1
                if begin == stop:
                    break
                words.insert(0, text[begin:stop])
                if len(words) == 1 and words[0] in before:
                    return True
                stop = begin
            if len(words) == 2 and " ".join(words) in before:
                return True
        if after:
            words = []
            begin = end
            for _ in range(2):
                while begin < len(text) and text[begin] == " ":
                    begin += 1
                stop = begin
                while stop < len(text) and text[stop].isalnum():
                    stop += 1
                if begin == stop:
                    break
                words.append(text[begin:stop])
                if len(words) == 1 and words[0] in after:
                    return True
                begin = stop
            if len(words) == 2 and " ".join(words) in after:
                return True
        return False

    def _mentions_earlier_month(self, hit: Hit) -> bool:
        """Whether the hit names a month before the publication month ("in June" in August)."""
        month = self.doc.day.month
        words = _WORD.findall(self.doc.text[hit.start : hit.end])
        return any(_MONTHS.get(word, 13) < month for word in words)

    def _mentions_past_year(self, hit: Hit) -> bool:
        text = self.doc.text[hit.start : hit.end]
        year = self.doc.day.year
        return any(
            text[i : i + _YEAR_DIGITS].isdigit() and int(text[i : i + _YEAR_DIGITS]) < year
            for i in range(len(text) - _YEAR_DIGITS + 1)
            if (i == 0 or not text[i - 1].isdigit())
            and (i + _YEAR_DIGITS == len(text) or not text[i + _YEAR_DIGITS].isdigit())
        )

    # -- evidence ------------------------------------------------------------

    def _evidence(self, proof: Proof, route: str | None = None) -> list[Evidence]:
        """The proof as evidence: what held within sentences or word windows first, then one
        mention per entity or term for parts that only had to occur somewhere in the article."""
        chosen: dict[tuple[int, int, str], tuple[str, Hit]] = {}
        for part, hit, scoped in sorted(proof, key=lambda item: (not item[2], item[1].start)):
            if scoped:
                chosen.setdefault((hit.start, hit.end, part), (part, hit))
        seen_keys: set[tuple[str, object]] = set()
        for part, hit, scoped in sorted(proof, key=lambda item: item[1].start):
            if not scoped and (part, hit.key) not in seen_keys:
                seen_keys.add((part, hit.key))
                chosen.setdefault((hit.start, hit.end, part), (part, hit))
        doc = self.doc
        evidence: list[Evidence] = []
        for part, hit in list(chosen.values())[:MAX_EVIDENCE]:
            field, text, first, last = doc.original(hit.start, hit.end)
            evidence.append(
                Evidence(
                    part=part,
                    field=field,
                    term=hit.term,
                    text=text[first:last],
                    start=first,
                    end=last,
                    snippet=snippet(text, first, last),
                    entity=hit.entity,
                    route=route,
                )
            )
        return evidence


def _attribute_matches(value: object, wanted: str | bool | tuple[str, ...]) -> bool:
    values = (
        set(map(str, value))
        if isinstance(value, list)
        else {value if isinstance(value, bool) else str(value)}
    )
    if isinstance(wanted, tuple):
        return bool(values.intersection(wanted))
    return wanted in values
