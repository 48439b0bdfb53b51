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

from service.matching.compiled import CompiledPart, CompiledRule, CompiledRules
from service.matching.condition import And, AtLeast, Near, Node, Not, Or, Ref, Sentence
from service.matching.document import Document
from service.matching.filters import Veto
from service.matching.hit import Hit
from service.matching.occurrences import Occurrences
from service.matching.text import snippet
from service.models import ArticleField, Evidence

__all__ = ["ArticleMatcher", "Decision", "Hit", "Veto", "Window"]

MAX_EVIDENCE = 10
MAX_ANCHORS = 200  # bound the work of one sentence()/near() on a very long article

# (part name, hit, found inside a sentence() or near() window)
Proof = list[tuple[str, Hit, bool]]
_WindowOf = Callable[[int], tuple[int, int]]
# a span's field, original text and offsets there, and snippet
_Located = tuple[ArticleField, str, int, int, str]


# Evidence is made by the dozen for an article that matches many rules: its validator takes the
# fields as one dict, the same validation as ``Evidence(...)`` without the keyword arguments and
# the Python frame of the model's __init__ (about half the cost)
_validate_evidence: Callable[[dict[str, object]], Evidence] = Evidence.__pydantic_validator__.validate_python


def _proof_start(item: tuple[str, Hit, bool]) -> int:
    return item[1].start


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
        self.occurrences = Occurrences(compiled, doc)
        self._found = self.occurrences.found  # literal terms found in the article
        self._present: dict[int, bool] = {}
        self._spans: dict[tuple[int, int], _Located] = {}  # evidence located in the original text
        # Evidence made for this article, by part, span, term, entity and route: rules that match
        # on the same words under the same part name (a shared list of actions, say) share one
        # read-only instance, as an alert shares its match's
        self._made: dict[tuple[str, int, int, str, str | None, str | None], Evidence] = {}
        # explain sets this to a list to hear of every outermost window tried; None costs nothing
        self.windows: list[Window] | None = None
        self._depth = 0

    def candidates(self) -> list[int]:
        """Rules that can match: those an anchor term of which occurs, and those that need none."""
        found = set(self.compiled.always)
        anchors = self.compiled.anchors
        # the article's few hundred terms against the anchors, in one set operation in C: most of
        # them anchor no rule
        for term_id in self.occurrences.literal.keys() & anchors.keys():
            found.update(anchors[term_id])
        regex_anchors = self.compiled.regex_anchors
        if regex_anchors and len(found) < len(self.compiled.rules):
            # of the regexes that may match (prefilter), only those that could bring in a rule no
            # literal has are run
            for regex_id in self.occurrences.regexes_maybe() & self.compiled.regex_anchor_ids:
                rules = regex_anchors[regex_id]
                if not found.issuperset(rules) and self.occurrences.regex_found(regex_id):
                    found.update(rules)
        return sorted(found)

    def evaluate(self, rule: CompiledRule) -> Decision | None:
        """The first route of the rule that holds, with its evidence; None if none does."""
        end = len(self.doc.text)
        for route, condition, needs, window_parts in rule.plans:
            if needs and not self._can_hold(rule, needs):
                continue
            if window_parts and self.windows is None:
                # a sentence() or near() of parts alone (most routes), with its parts resolved
                # when the rule was compiled: straight to its windows, without the walk of _holds
                assert isinstance(condition, (Sentence, Near))
                proof = self._part_windows(condition, window_parts, 0, end)
            else:
                proof = self._holds(condition, rule, 0, end)
            if proof is not None:
                return Decision(route, self._evidence(proof, route))
        return None

    def _can_hold(self, rule: CompiledRule, needs: tuple[tuple[int, ...], ...]) -> bool:
        """Whether, for each group of parts a route needs one of, one has a term in the article
        (see ``anchors.route_needs``). Far cheaper than windows and filters, and false for most
        routes an anchor term brought to an article that is about something else."""
        present = self._present
        for group in needs:
            for index in group:
                part = rule.parts[index]
                found = present.get(part.shared_id)
                if found or (found is None and self._has_term(part)):
                    break
            else:
                return False
        return True

    def _has_term(self, part: CompiledPart) -> bool:
        """Whether one of the part's terms or regular expressions occurs in the article: a part
        without one has no occurrence, and is ruled out without its filters and guards."""
        found = self._present.get(part.shared_id)
        if found is None:
            found = not part.term_ids.isdisjoint(self._found) or (
                bool(part.regex_ids) and self.occurrences.any_regex_found(part.regex_ids)
            )
            self._present[part.shared_id] = found
        return found

    def holds(self, node: Node, rule: CompiledRule, start: int, end: int) -> list[tuple[str, Hit]] | None:
        """Whether ``node`` holds within ``[start, end)`` of the joined text, and on which hits."""
        proof = self._holds(node, rule, start, end)
        return None if proof is None else [(part, hit) for part, hit, _ in proof]

    def part_hits(self, part: CompiledPart) -> list[Hit]:
        """Every occurrence of the part in the article, after its filters and guards."""
        return self.occurrences.of(part)[0]

    def vetoes(self, part: CompiledPart) -> list[Veto]:
        """Occurrences of the part that its guards dropped (after its hits were gathered)."""
        return self.occurrences.vetoes.get(self.occurrences.key(part), [])

    def spared(self, part: CompiledPart) -> list[Veto]:
        """Occurrences of the part a guard would have dropped but spares (after its hits were gathered)."""
        return self.occurrences.spared.get(self.occurrences.key(part), [])

    def set_aside(self, part: CompiledPart) -> list[tuple[Hit, Hit]]:
        """Occurrences of the part that lay inside a ``not_within`` match, each with that match
        (after its hits were gathered)."""
        return self.occurrences.set_aside.get(self.occurrences.key(part), [])

    # -- conditions ----------------------------------------------------------

    def _holds(self, node: Node, rule: CompiledRule, start: int, end: int) -> Proof | None:
        if isinstance(node, Ref):
            part = rule.part_named[node.name]
            inside = self.occurrences.inside(part, start, end)
            return None if inside is None else [(part.name, hit, False) for hit in inside]
        if isinstance(node, Sentence):  # before the rest: most conditions are windows
            window_of = self.doc.clause_span if node.clause else self.doc.sentence_span
            if node.part_names and self.windows is None:
                return self._part_windows(node, self._named(rule, node), start, end)
            return self._within(node, rule, start, end, window_of, any_anchor=True)
        if isinstance(node, Not):
            operand = node.operand
            if isinstance(operand, Ref):
                missing = self.occurrences.inside(rule.part_named[operand.name], start, end) is None
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
        assert isinstance(node, Near)
        words = node.words
        words_at = self.doc.words_at
        if node.part_names and self.windows is None:
            return self._part_windows(node, self._named(rule, node), start, end)
        return self._within(node, rule, start, end, lambda at: words_at(at, words), any_anchor=False)

    def _all(
        self, operands: tuple[Node, ...], rule: CompiledRule, start: int, end: int, reach: int | None = None
    ) -> Proof | None:
        """Every operand holds between ``start`` and ``end``; with ``reach`` (a near() window), a
        part's occurrence that begins there may run on up to ``reach``."""
        proof: Proof = []
        occurrences = self.occurrences
        for operand in operands:
            if isinstance(operand, Ref):  # most operands: looked up here rather than through _holds
                part = rule.part_named[operand.name]
                if reach is None:
                    hits = occurrences.inside(part, start, end)
                else:
                    hits = occurrences.reaching(part, start, end, reach)
                if hits is None:
                    return None
                name = part.name
                proof.extend([(name, hit, False) for hit in hits])
                continue
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
        if self.windows is None:  # matching, not explaining: no window to record at any depth
            return self._within_windows(node, rule, start, end, window_of, any_anchor=any_anchor)
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
        # Whatever must hold in a window must hold in the enclosing one: every part named here must
        # occur there, and every other positive operand must have somewhere to start from. The
        # search starts from the operand with the fewest occurrences (near() from its first).
        first = operands[0]
        if record is None:
            # a part no term of which occurs rules the window out at once; looked at before the
            # other parts' occurrences, whose filters and guards cost far more than the look-up
            present = self._present
            for operand in node.search_order:
                if not isinstance(operand, Ref):
                    break  # the parts come first
                part = rule.part_named[operand.name]
                found = present.get(part.shared_id)
                if found is False or (found is None and not self._has_term(part)):
                    return None
        anchors: list[Hit] | None = None
        for operand in node.search_order:
            if isinstance(operand, Not):
                break
            positions: list[Hit] | None
            if isinstance(operand, Ref):
                positions = self.occurrences.inside(rule.part_named[operand.name], start, end)
            elif any_anchor or operand is first:
                positions = self._positions(operand, rule, start, end) or None
            else:
                continue
            if positions is None:
                if record is not None:
                    record.append(Window(node, start, end, held=False, absent=operand))
                return None
            if (any_anchor or operand is first) and (anchors is None or len(positions) < len(anchors)):
                anchors = positions
        assert anchors is not None
        near = isinstance(node, Near)  # a sentence holds its anchors whole
        proof: Proof = []
        tried: set[tuple[int, int]] = set()
        for hit in anchors[:MAX_ANCHORS]:
            low, high = window_of(hit.start)
            # the window around an anchor reaches its end too (near: N words after the anchor's last
            # word, however many words the anchor has)
            if hit.end > high or (near and self.doc.spans_words(hit.start, hit.end)):
                high = max(high, window_of(hit.end - 1)[1])
            window = (max(start, low), min(end, high))
            if window in tried:
                continue
            tried.add(window)
            held = self._all(operands, rule, *window, reach=end if near else None)
            if record is not None:
                record.append(Window(node, window[0], window[1], held=held is not None))
            if held is not None:
                proof.extend([(part, found, True) for part, found, _ in held])
        return proof or None

    @staticmethod
    def _named(rule: CompiledRule, node: Sentence | Near) -> tuple[CompiledPart, ...]:
        """The parts a window of parts alone names (``CompiledRule.plans`` has those of a route's
        outermost window)."""
        return tuple(rule.part_named[name] for name in node.part_names)

    def _part_windows(
        self, node: Sentence | Near, parts: tuple[CompiledPart, ...], start: int, end: int
    ) -> Proof | None:
        """``_within_windows`` for a window of parts alone (most of them), while matching: the
        parts' occurrences are looked up once, then bisected for each window, without the walk of
        the tree and the look-ups of ``_all`` for every anchor."""
        present = self._present
        for part in parts:  # a part no term of which occurs rules the window out at once
            found = present.get(part.shared_id)
            if found is False or (found is None and not self._has_term(part)):
                return None
        window_of: _WindowOf
        if isinstance(node, Near):
            near = True
            words = node.words
            words_at = self.doc.words_at
            window_of = lambda at: words_at(at, words)  # noqa: E731
        else:
            near = False
            window_of = self.doc.clause_span if node.clause else self.doc.sentence_span
        occurrences = self.occurrences
        whole = start == 0 and end == len(self.doc.text)  # most windows are looked for everywhere
        anchors: list[Hit] | None = None
        sources: list[tuple[str, int, list[Hit], list[int]]] = []
        for part in parts:
            hits, starts = occurrences.of(part)
            if whole and part.required < 2:
                # every occurrence lies in the article: what ``inside`` would find there
                positions: list[Hit] | None = hits or None
            else:
                positions = occurrences.inside(part, start, end)
            if positions is None:
                return None
            # a sentence searches from the part with the fewest occurrences, near() from its first
            if anchors is None or (not near and len(positions) < len(anchors)):
                anchors = positions
            sources.append((part.name, part.required, hits, starts))
        assert anchors is not None
        spans_words = self.doc.spans_words
        proof: Proof = []
        tried: set[tuple[int, int]] = set()
        for hit in anchors[:MAX_ANCHORS]:
            low, high = window_of(hit.start)
            if hit.end > high or (near and spans_words(hit.start, hit.end)):  # as in _within_windows
                high = max(high, window_of(hit.end - 1)[1])
            if low < start:
                low = start
            if high > end:
                high = end
            if (low, high) in tried:
                continue
            tried.add((low, high))
            limit = end if near else high  # occurrences that begin in a word window may run on
            held = len(proof)
            for name, required, hits, starts in sources:
                # the part's occurrences inside the window go straight onto the proof: a window
                # has one or two, for which a loop costs less than the lists of comprehensions
                mark = len(proof)
                for index in range(bisect_left(starts, low), bisect_left(starts, high)):
                    occurrence = hits[index]
                    if occurrence.end <= limit:
                        proof.append((name, occurrence, True))
                if len(proof) == mark or (
                    required > 1 and len({item[1].key for item in proof[mark:]}) < required
                ):
                    del proof[held:]  # the window does not hold: what its other parts had goes
                    break
        return proof or None

    def _positions(self, node: Node, rule: CompiledRule, start: int, end: int) -> list[Hit]:
        """Every occurrence from which ``node`` could hold in a window around it; unlike a proof,
        this covers all alternatives of an ``or``."""
        if isinstance(node, Ref):
            hits, starts = self.occurrences.of(rule.part_named[node.name])
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

    # -- evidence ------------------------------------------------------------

    def _evidence(self, proof: Proof, route: str | None = None) -> list[Evidence]:
        """The proof as evidence: what held within sentences or word windows first, then one
        mention per entity or term for parts that only had to occur somewhere in the article."""
        chosen: dict[tuple[int, int, str], tuple[str, Hit]] = {}
        in_order = sorted(proof, key=_proof_start)
        unscoped = False
        for part, hit, scoped in in_order:
            if scoped:
                chosen.setdefault((hit.start, hit.end, part), (part, hit))
            else:
                unscoped = True
        if unscoped:  # a window's proof (most) has none
            seen_keys: set[tuple[str, object]] = set()
            for part, hit, scoped in in_order:
                if not scoped and (part, hit.key) not in seen_keys:
                    seen_keys.add((part, hit.key))
                    chosen.setdefault((hit.start, hit.end, part), (part, hit))
        evidence: list[Evidence] = []
        made = self._made
        for part, hit in list(chosen.values())[:MAX_EVIDENCE]:
            key = (part, hit.start, hit.end, hit.term, hit.entity, route)
            item = made.get(key)
            if item is None:
                field, text, first, last, excerpt = self._located(hit.start, hit.end)
                item = made[key] = _validate_evidence(
                    {
                        "part": part,
                        "field": field,
                        "term": hit.term,
                        "text": text,
                        "start": first,
                        "end": last,
                        "snippet": excerpt,
                        "entity": hit.entity,
                        "route": route,
                    }
                )
            evidence.append(item)
        return evidence

    def _located(self, start: int, end: int) -> _Located:
        """A span of the joined text in its field's original text, with its snippet: rules that
        match the same words (a shared list of actions, say) give the same evidence."""
        located = self._spans.get((start, end))
        if located is None:
            field, text, first, last = self.doc.original(start, end)
            located = (field, text[first:last], first, last, snippet(text, first, last))
            self._spans[(start, end)] = located
        return located
