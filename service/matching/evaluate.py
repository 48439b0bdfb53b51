"""Evaluate compiled rules against one article and explain each match.

A condition is evaluated over a window of the article's joined text: the
whole article at the top, one sentence inside ``sentence(...)``, a few words
around an anchor inside ``near(...)``. A part holds in a window when enough
distinct terms or entities of it occur there; what held becomes evidence.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from typing import NamedTuple

from service.matching.compiler import CompiledPart, CompiledRule, CompiledRules
from service.matching.condition import And, AtLeast, Near, Node, Not, Or, Ref, Sentence
from service.matching.document import Document
from service.models import Evidence

MAX_EVIDENCE = 20
MAX_ANCHORS = 200  # bound the work of one sentence()/near() on a very long article
_YEAR_DIGITS = 4


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


Proof = list[tuple[str, Hit]]
_WindowOf = Callable[[int], tuple[int, int]]


class ArticleMatcher:
    """The hits of one article, shared by every rule evaluated on it."""

    def __init__(self, compiled: CompiledRules, doc: Document) -> None:
        self.compiled = compiled
        self.doc = doc
        self.literal = compiled.scanner.literal_hits(doc.text, doc)
        self.regex = compiled.scanner.regex_hits(doc.text)
        self._entity_hits: dict[str, list[_EntityHit]] = {}
        self._part_hits: dict[int, tuple[list[Hit], list[int]]] = {}

    def candidates(self) -> list[int]:
        """Rules that can match: those an anchor term of which occurs, and those that need none."""
        found = set(self.compiled.always)
        anchors = self.compiled.anchors
        for term_id in self.literal:
            found.update(anchors.get(term_id, ()))
        for regex_id in self.regex:
            found.update(self.compiled.regex_anchors.get(regex_id, ()))
        return sorted(found)

    def evaluate(self, rule: CompiledRule) -> list[Evidence] | None:
        proof = self._holds(rule.condition, rule, 0, len(self.doc.text))
        if proof is None:
            return None
        return self._evidence(proof)

    # -- conditions ----------------------------------------------------------

    def _holds(self, node: Node, rule: CompiledRule, start: int, end: int) -> Proof | None:
        if isinstance(node, Ref):
            part = rule.parts[rule.part_index[node.name]]
            return self._part_holds(part, start, end)
        if isinstance(node, Not):
            return [] if self._holds(node.operand, rule, start, end) is None else None
        if isinstance(node, And):
            return self._all(node.operands, rule, start, end)
        if isinstance(node, Or):
            proofs = [self._holds(operand, rule, start, end) for operand in node.operands]
            held = [proof for proof in proofs if proof is not None]
            return [item for proof in held for item in proof] if held else None
        if isinstance(node, AtLeast):
            proofs = [self._holds(operand, rule, start, end) for operand in node.operands]
            held = [proof for proof in proofs if proof is not None]
            return [item for proof in held for item in proof] if len(held) >= node.count else None
        if isinstance(node, Sentence):
            return self._within(node.operands, rule, start, end, self.doc.sentence_span)
        assert isinstance(node, Near)
        return self._within(
            node.operands, rule, start, end, lambda offset: self._words_around(offset, node.words)
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
        self, operands: tuple[Node, ...], rule: CompiledRule, start: int, end: int, window_of: _WindowOf
    ) -> Proof | None:
        anchors = self._holds(operands[0], rule, start, end)
        if not anchors:
            return None
        proof: Proof = []
        tried: set[tuple[int, int]] = set()
        for _, hit in anchors[:MAX_ANCHORS]:
            low, high = window_of(hit.start)
            # the window around an anchor reaches its end too (near: N words after the anchor's last word)
            if hit.end > high:
                high = window_of(hit.end - 1)[1]
            window = (max(start, low), min(end, high))
            if window in tried:
                continue
            tried.add(window)
            held = self._all(operands, rule, *window)
            if held is not None:
                proof.extend(held)
        return proof or None

    def _words_around(self, offset: int, words: int) -> tuple[int, int]:
        tokens = self.doc.tokens
        index = tokens.index_at(offset)
        low, high = tokens.span(index - words, index + words)
        field_start, field_end = self.doc.field_span(offset)
        return max(low, field_start), min(high, field_end)

    # -- parts ---------------------------------------------------------------

    def _part_holds(self, part: CompiledPart, start: int, end: int) -> Proof | None:
        hits, starts = self._hits_of(part)
        first = bisect_left(starts, start)
        inside: list[Hit] = []
        for index in range(first, len(hits)):
            hit = hits[index]
            if hit.start >= end:
                break
            if hit.end <= end:
                inside.append(hit)
        if not inside:
            return None
        if part.required > 1 and len({hit.key for hit in inside}) < part.required:
            return None
        return [(part.name, hit) for hit in inside]

    def _hits_of(self, part: CompiledPart) -> tuple[list[Hit], list[int]]:
        cached = self._part_hits.get(id(part))
        if cached is not None:
            return cached
        hits = self._entity_part_hits(part) if part.entity_list is not None else self._term_part_hits(part)
        doc = self.doc
        hits = [hit for hit in hits if doc.field_name(hit.start) in part.fields]
        if part.year_before_published:
            hits = [hit for hit in hits if self._mentions_past_year(hit)]
        hits.sort()
        result = (hits, [hit.start for hit in hits])
        self._part_hits[id(part)] = result
        return result

    def _term_part_hits(self, part: CompiledPart) -> list[Hit]:
        hits: list[Hit] = []
        displays = self.compiled.literal_displays
        for term_id, group in zip(part.literal_ids, part.literal_groups, strict=True):
            for start, end in self.literal.get(term_id, ()):
                hits.append(Hit(start, end, displays[term_id], None, group))
        for regex_id, group in zip(part.regex_ids, part.regex_groups, strict=True):
            for start, end in self.regex.get(regex_id, ()):
                hits.append(Hit(start, end, self.compiled.regex_displays[regex_id], None, group))
        return hits

    def _entity_part_hits(self, part: CompiledPart) -> list[Hit]:
        assert part.entity_list is not None
        entities = self.compiled.lists[part.entity_list].compiled.entities
        day = self.doc.day
        hits: list[Hit] = []
        for found in self._entities(part.entity_list):
            entity = entities[found.entity]
            if part.in_office and not entity.in_office(day):
                continue
            if not all(_attribute_matches(entity.attributes.get(k), v) for k, v in part.where):
                continue
            key: object = entity.id
            if part.distinct is not None and part.distinct != "id":
                key = entity.attributes.get(part.distinct)
                if key is None:
                    continue
                key = str(key)
            hits.append(Hit(found.start, found.end, found.term, entity.id, key))
        return hits

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
                        if self._preceded_by(start, use.compiled.skip_after):
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

    def _preceded_by(self, offset: int, words: frozenset[str]) -> bool:
        if not words:
            return False
        text = self.doc.text
        end = offset
        while end > 0 and text[end - 1] == " ":
            end -= 1
        begin = end
        while begin > 0 and text[begin - 1].isalnum():
            begin -= 1
        return text[begin:end] in words

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

    def _evidence(self, proof: Proof) -> list[Evidence]:
        doc = self.doc
        unique = sorted({(hit.start, hit.end, part, hit.term, hit.entity) for part, hit in proof})
        evidence: list[Evidence] = []
        for start, end, part, term, entity in unique[:MAX_EVIDENCE]:
            field, text, first, last = doc.original(start, end)
            evidence.append(
                Evidence.model_construct(
                    part=part,
                    field=field,
                    term=term,
                    text=text[first:last],
                    start=first,
                    end=last,
                    snippet=doc.snippet(start, end),
                    entity=entity,
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
