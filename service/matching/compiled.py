"""The compiled form of a rules directory: what the matcher runs, built by the compiler."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from service.matching.condition import Near, Node, Not, Ref, Sentence
from service.matching.entities import AliasMeaning, CompiledEntityList
from service.matching.freshness import ListFacts
from service.matching.info import RuleInfo
from service.matching.scanner import Scanner
from service.matching.terms import LiteralTerm
from service.models import Article, ArticleField


@dataclass(frozen=True)
class CompiledPart:
    name: str
    literal_ids: tuple[int, ...] = ()
    literal_groups: tuple[int, ...] = ()
    regex_ids: tuple[int, ...] = ()
    regex_groups: tuple[int, ...] = ()
    required: int = 1  # distinct groups (or entities, or attribute values) needed
    entity_list: str | None = None
    where: tuple[tuple[str, str | bool | tuple[str, ...]], ...] = ()
    in_office: bool = False
    distinct: str | None = None
    abroad_from: str | None = None  # entity list of office holders whose own country is dropped
    made_abroad: str | None = None  # entity list of places: keep products whose origin is another
    made_at_home: str | None = None  # the same list: keep products whose origin is the only one named
    # the same list of places: keep products whose origin the sentence does not name, in an
    # article that names another country
    origin_elsewhere: str | None = None
    fields: frozenset[ArticleField] = frozenset()
    year_before_published: bool = False
    month_before_published: bool = False
    month_after_published: bool = False
    opens_clause: bool = False  # keep only matches that open their clause (filters.opens_clause)
    # terms whose occurrences an occurrence must not lie inside (``not_within``), as a part
    not_within: CompiledPart | None = None
    # literal term id -> groups it counts for; built from literal_ids and literal_groups
    literal_index: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    # shared guards that veto an occurrence of this part when they occur within their scope of it
    guards: tuple[CompiledGuard, ...] = ()
    # the literal terms (for entity parts: every alias and title of the list) whose absence from
    # an article means the part cannot occur there; shared by the parts of one list
    term_ids: frozenset[int] = frozenset()
    # the registered filters (service.matching.filters) its options call for, in order
    filters: tuple[str, ...] = ()
    # parts that differ only in name (the same term list in many rules) share one number,
    # so an article's hits for them are gathered once
    shared_id: int = -1

    def __post_init__(self) -> None:
        index: dict[int, tuple[int, ...]] = {}
        for term_id, group in zip(self.literal_ids, self.literal_groups, strict=True):
            index[term_id] = (*index.get(term_id, ()), group)
        object.__setattr__(self, "literal_index", index)


@dataclass(frozen=True)
class CompiledGuard:
    """A shared guard: its selection, and how far from a guarded occurrence it bites."""

    name: str
    part: CompiledPart
    scope: str  # "sentence", "clause", "article" or "near"
    words: int = 0  # for "near"
    in_clause: bool = False  # "near" bounded by the occurrence's clause as well
    spares: CompiledPart | None = None  # occurrences that are one of these terms are never vetoed
    forward: bool = False  # vetoes only occurrences after its own

    def describe(self) -> str:
        if self.scope == "article":
            return "anywhere in the article"
        after = ", after it" if self.forward else ""
        if self.scope != "near":
            return f"same {self.scope}{after}"
        where = f"near {self.words} words in the clause" if self.in_clause else f"near {self.words} words"
        return where + after


class RoutePlan(NamedTuple):
    """One route of a rule as the evaluator takes it (``CompiledRule.plans``)."""

    route: str | None
    condition: Node
    needs: tuple[tuple[int, ...], ...]  # the route's route_checks
    window_parts: tuple[CompiledPart, ...]  # a sentence() or near() of parts alone: its parts


@dataclass(frozen=True)
class RuleExample:
    expect_match: bool
    number: int  # 1-based, within its kind
    article: Article
    line: int


@dataclass(frozen=True)
class CompiledRule:
    info: RuleInfo
    parts: tuple[CompiledPart, ...]
    part_index: Mapping[str, int]
    condition: Node  # every route, or'ed: what anchors and baselines look at
    examples: tuple[RuleExample, ...]
    # named alternatives in order; a rule written with one 'condition' has one route named None
    routes: tuple[tuple[str | None, Node], ...] = ()
    # per route: groups of part indexes it needs one of each to have a term (anchors.route_needs)
    route_needs: tuple[tuple[tuple[int, ...], ...], ...] = ()
    # part name -> part, built from parts: a condition names its parts, and the evaluator looks
    # each up once per window
    part_named: Mapping[str, CompiledPart] = field(default_factory=dict)
    # the identity of each named condition's tree -> its name, so explanations write it by name
    condition_names: Mapping[int, str] = field(default_factory=dict)
    # per route: the route_needs the evaluator checks before the route's condition; none for a
    # sentence() or near() of parts alone, whose window looks at the same parts first
    route_checks: tuple[tuple[tuple[int, ...], ...], ...] = field(init=False, repr=False, compare=False)
    # per route, what the evaluator walks for every candidate article, resolved once here: the
    # route, its condition, its route_checks, and for a sentence() or near() of parts alone (most
    # conditions) those parts in the order the window names them, else ()
    plans: tuple[RoutePlan, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        part_named = {part.name: part for part in self.parts}
        object.__setattr__(self, "part_named", part_named)
        checks = tuple(
            () if isinstance(node, (Sentence, Near)) and node.part_names else needs
            for (_, node), needs in zip(self.routes, self.route_needs, strict=True)
        )
        object.__setattr__(self, "route_checks", checks)
        plans = tuple(
            RoutePlan(route, node, needs, _window_parts(node, part_named))
            for (route, node), needs in zip(self.routes, checks, strict=True)
        )
        object.__setattr__(self, "plans", plans)

    def __getstate__(self) -> dict[str, object]:
        """A pickled rule (``rulecache``) keeps its named conditions by their trees: the
        identities ``condition_names`` is keyed by are those of this process only."""
        trees = {id(node): node for node in _subtrees(self.condition)}
        state = dict(self.__dict__)
        state["condition_names"] = [
            (trees[key], name) for key, name in self.condition_names.items() if key in trees
        ]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        named = state.pop("condition_names")
        assert isinstance(named, list)
        self.__dict__.update(state)
        object.__setattr__(self, "condition_names", {id(node): name for node, name in named})


def _window_parts(node: Node, part_named: Mapping[str, CompiledPart]) -> tuple[CompiledPart, ...]:
    """The parts of a sentence() or near() of parts alone, in the order it names them; () for
    any other condition (or one naming a part the rule lacks, which evaluation reports)."""
    if not isinstance(node, (Sentence, Near)) or not all(name in part_named for name in node.part_names):
        return ()
    return tuple(part_named[name] for name in node.part_names)


def _subtrees(node: Node) -> list[Node]:
    """Every node of a condition's tree, itself first."""
    if isinstance(node, Ref):
        return [node]
    children = (node.operand,) if isinstance(node, Not) else node.operands
    return [node, *(sub for child in children for sub in _subtrees(child))]


@dataclass(frozen=True)
class EntityListUse:
    compiled: CompiledEntityList
    meanings: Mapping[int, tuple[AliasMeaning, ...]]  # literal term id -> what it names


@dataclass(frozen=True)
class CompiledRules:
    rules: tuple[CompiledRule, ...]
    lists: Mapping[str, EntityListUse]
    scanner: Scanner
    literals: tuple[LiteralTerm, ...]
    literal_displays: tuple[str, ...]
    regex_displays: tuple[str, ...]
    anchors: Mapping[int, tuple[int, ...]]  # literal term id -> indexes of rules it can trigger
    regex_anchors: Mapping[int, tuple[int, ...]]
    always: tuple[int, ...]  # rules that can match without any term (e.g. "not x")
    guards: Mapping[str, CompiledGuard] = field(default_factory=dict)
    list_facts: tuple[ListFacts, ...] = ()  # as_of dates and unverified entries of every list
    warnings: tuple[str, ...] = ()  # "path:line:col: message" of terms that load but cannot match as written
    # the anchor terms alone (see anchors.py): an article in which none occurs, most news, can match
    # no rule, and is passed over without the scan of every term; None where some rule needs no term
    # or has a regular expression for anchor
    anchor_scanner: Scanner | None = None
    regex_anchor_ids: frozenset[int] = frozenset()  # the keys of regex_anchors, to intersect with
