"""Which rules an article can trigger, decided from the terms found in it.

Each rule gets an *anchor*: parts of which at least one must occur for the rule
to match, chosen among the parts its condition requires as the one with the
longest (so rarest) terms. After the one-pass scan, only rules whose anchor
terms occurred are evaluated, so thousands of rules about other things cost
almost nothing. Rules that can match without any term (``not x``) are always
evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from service.matching.compiled import CompiledPart, CompiledRule, EntityListUse
from service.matching.condition import And, AtLeast, Near, Node, Not, Or, Ref, Sentence
from service.matching.terms import LiteralTerm

Index = dict[int, tuple[int, ...]]


def candidate_index(
    rules: Sequence[CompiledRule], lists: Mapping[str, EntityListUse], literals: Sequence[LiteralTerm]
) -> tuple[Index, Index, tuple[int, ...]]:
    """Literal term -> rules, regex -> rules, and the rules to evaluate for every article."""
    chooser = _AnchorChooser(lists, literals)
    anchors: dict[int, set[int]] = {}
    regex_anchors: dict[int, set[int]] = {}
    always: list[int] = []
    for index, rule in enumerate(rules):
        chosen = chooser.anchor(rule.condition, rule)
        if chosen is None:
            always.append(index)
            continue
        for part_index in chosen:
            part = rule.parts[part_index]
            for term_id in chooser.literal_ids(part):
                anchors.setdefault(term_id, set()).add(index)
            for regex_id in part.regex_ids:
                regex_anchors.setdefault(regex_id, set()).add(index)
    return (
        {k: tuple(sorted(v)) for k, v in anchors.items()},
        {k: tuple(sorted(v)) for k, v in regex_anchors.items()},
        tuple(always),
    )


class _AnchorChooser:
    def __init__(self, lists: Mapping[str, EntityListUse], literals: Sequence[LiteralTerm]) -> None:
        self._lists = lists
        self._literals = literals
        # an entity list holds thousands of forms and every rule of a library uses the same few
        # lists: the shortest form of a part is worked out once per distinct part
        self._shortest: dict[object, int] = {}

    def literal_ids(self, part: CompiledPart) -> tuple[int, ...]:
        if part.entity_list is None:
            return part.literal_ids
        use = self._lists.get(part.entity_list)
        return tuple(use.meanings) if use else ()

    def anchor(self, node: Node, rule: CompiledRule) -> frozenset[int] | None:
        """Parts of which at least one must occur for ``node`` to hold; None if none is needed."""
        if isinstance(node, Ref):
            return frozenset({rule.part_index[node.name]})
        if isinstance(node, Not):
            return None
        subs = [self.anchor(operand, rule) for operand in node.operands]
        if isinstance(node, (And, Sentence, Near)):
            known = [sub for sub in subs if sub is not None]
            return max(known, key=lambda parts: self._rarity(parts, rule)) if known else None
        assert isinstance(node, (Or, AtLeast))
        if any(sub is None for sub in subs):
            return None
        return frozenset().union(*(sub for sub in subs if sub is not None))

    def _rarity(self, parts: frozenset[int], rule: CompiledRule) -> int:
        # longer literal forms occur less often; a set of parts is only as rare as its commonest form
        return min(self._shortest_form(rule.parts[index]) for index in parts)

    def _shortest_form(self, part: CompiledPart) -> int:
        key: object = part.entity_list if part.entity_list is not None else part.literal_ids
        known = self._shortest.get(key)
        if known is None:
            lengths = [_weight(v) for i in self.literal_ids(part) for v in self._literals[i].variants]
            known = self._shortest[key] = min(lengths, default=1)
        return known


def _weight(text: str) -> int:
    # a Chinese character or a Korean syllable says about as much as a short Latin word; most
    # forms are plain ASCII, which is worth checking first for the tens of thousands of them
    if text.isascii():
        return len(text)
    return len(text) + 2 * len(_WIDE.findall(text))


_WIDE = re.compile("[\u2e80-\U0010ffff]")


def route_needs(node: Node, part_index: Mapping[str, int]) -> tuple[tuple[int, ...], ...]:
    """Groups of parts of which the route needs at least one each to have a term in an article:
    every part an and, sentence() or near() requires is a group of one, an or (or 'N of') a group
    of every part its alternatives need. A necessary condition, checked before any window."""
    if isinstance(node, Ref):
        return ((part_index[node.name],),)
    if isinstance(node, Not):
        return ()
    children = [route_needs(operand, part_index) for operand in node.operands]
    if isinstance(node, (And, Sentence, Near)):
        return tuple(dict.fromkeys(group for child in children for group in child))
    if any(not child for child in children):
        return ()  # an alternative that needs nothing
    return (tuple(sorted({index for child in children for group in child for index in group})),)
