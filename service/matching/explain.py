"""Why a rule did or did not match an article: the tool every rule editor asks for first.

For each rule and article: every part's occurrences, the occurrences a guard
vetoed (which guard, on which words), and for each route the candidate
sentences, clauses or word windows the matcher tried, each with what decided
it: held, which condition was missing, or which negated condition vetoed it.

Nothing here decides anything. The matcher that raises alerts runs, with a
list attached to hear of the windows it tries (``ArticleMatcher.windows``);
the reasons are then asked of the same matcher (``ArticleMatcher.holds``), so
an explanation cannot drift from what the service does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from pydantic import BaseModel, Field

from service.matching.compiled import CompiledRule
from service.matching.condition import Near, Node, Not, references, unparse
from service.matching.document import Document
from service.matching.evaluate import ArticleMatcher, Hit, Veto, Window
from service.matching.ruleset import RuleSet
from service.models import Article, ArticleField

MAX_WINDOWS = 40  # per route: a long article tried in every sentence would bury the answer
MAX_HITS = 30  # per list of occurrences
MAX_TEXT = 400  # characters of a window's text


class Occurrence(BaseModel):
    """One occurrence of a part (or guard) in the article."""

    part: str = Field(description="the part (or guard) it belongs to")
    field: ArticleField
    term: str = Field(description="the rule term or list entry that matched")
    text: str = Field(description="the words as they stand in the article")
    start: int = Field(description="character offset in the field")
    end: int
    entity: str | None = Field(default=None, description="list entry id, for entity parts")


class GuardVeto(BaseModel):
    """An occurrence of a guarded part that a guard dropped."""

    part: str
    occurrence: Occurrence
    guard: str = Field(description="the guard's name")
    scope: str = Field(description="where the guard bites: 'same sentence', 'same clause', 'near N words'")
    by: Occurrence = Field(description="the guard's own occurrence that vetoed it")


class SetAside(BaseModel):
    """An occurrence of a part or guard dropped because it lay inside one of its ``not_within`` terms."""

    occurrence: Occurrence
    within: Occurrence = Field(description="the not_within match it lay inside")


class WindowExplanation(BaseModel):
    """A sentence, clause or word window the matcher tried for a route."""

    scope: str = Field(description="sentence, clause or near; 'article' when no window could be tried")
    field: ArticleField | None = Field(description="null for the whole article")
    start: int = Field(description="character offset of the window in the field")
    end: int
    text: str = Field(description=f"the window's text (at most {MAX_TEXT} characters)")
    held: bool
    missing: str | None = Field(
        None, description="the condition that did not hold in the window, as written in the rule"
    )
    vetoed_by: str | None = Field(default=None, description="the negated condition that held in the window")
    veto: list[Occurrence] = Field(default_factory=list, description="the occurrences that vetoed it")
    occurrences: list[Occurrence] = Field(
        default_factory=list, description="occurrences of the route's parts inside the window"
    )


class RouteExplanation(BaseModel):
    route: str | None = Field(description="the route's name; null for a rule with one 'condition'")
    condition: str = Field(description="the route's condition, as parsed")
    held: bool
    failed: str | None = Field(
        None,
        description="when it did not hold: the first condition (at the top of the route) that did not",
    )
    windows: list[WindowExplanation] = Field(default_factory=list)
    windows_omitted: int = Field(0, description=f"windows beyond the first {MAX_WINDOWS}")


class RuleExplanation(BaseModel):
    rule: str
    matched: bool
    route: str | None = Field(default=None, description="the first route that held")
    candidate: bool = Field(
        description="whether an anchor term of the rule occurs; the service evaluates only candidates, "
        "so a rule that is not one cannot match"
    )
    parts: dict[str, int] = Field(
        description="occurrences of each part in the article, after filters and guards"
    )
    guarded: list[GuardVeto] = Field(default_factory=list, description="occurrences dropped by guards")
    spared: list[GuardVeto] = Field(
        default_factory=list, description="occurrences a guard would have dropped but spares"
    )
    set_aside: list[SetAside] = Field(
        default_factory=list,
        description="occurrences of parts, and of the guards on them, that lay inside a not_within term",
    )
    routes: list[RouteExplanation]


class ArticleExplanation(BaseModel):
    article: str = Field(description="the article's id")
    rules: list[RuleExplanation]


def explain(
    rules: RuleSet, article: Article, *, rule_ids: Iterable[str] | None = None, now: dt.datetime | None = None
) -> ArticleExplanation:
    """How every rule (or the named ones) fared on ``article``, and why."""
    wanted = set(rule_ids) if rule_ids is not None else None
    compiled = rules.compiled
    doc = Document(article, now or dt.datetime.now(dt.UTC))
    matcher = ArticleMatcher(compiled, doc)
    candidates = set(matcher.candidates())
    explained = [
        _Explainer(matcher, rule).explain(index in candidates)
        for index, rule in enumerate(compiled.rules)
        if wanted is None or rule.info.id in wanted
    ]
    return ArticleExplanation(article=article.id, rules=explained)


class _Explainer:
    def __init__(self, matcher: ArticleMatcher, rule: CompiledRule) -> None:
        self.matcher = matcher
        self.rule = rule
        self.doc = matcher.doc

    def explain(self, candidate: bool) -> RuleExplanation:
        rule, matcher = self.rule, self.matcher
        routes = [self._route(name, node) for name, node in rule.routes or ((None, rule.condition),)]
        first = next((route for route in routes if route.held), None)
        guarded = [self._guard_veto(veto) for part in rule.parts for veto in matcher.vetoes(part)]
        spared = [self._guard_veto(veto) for part in rule.parts for veto in matcher.spared(part)]
        # the parts' own, then their guards' (once each): "in 2022" inside "ordered in 2022"
        selections = {part.name: part for part in rule.parts}
        for part in rule.parts:
            for guard in part.guards:
                selections.setdefault(guard.name, guard.part)
        set_aside = [
            SetAside(
                occurrence=self._occurrence(name, hit),
                within=self._occurrence(f"{name} not_within", inside),
            )
            for name, selection in selections.items()
            for hit, inside in matcher.set_aside(selection)
        ]
        return RuleExplanation(
            rule=rule.info.id,
            matched=first is not None and candidate,
            route=first.route if first is not None and candidate else None,
            candidate=candidate,
            parts={part.name: len(matcher.part_hits(part)) for part in rule.parts},
            guarded=guarded[:MAX_HITS],
            spared=spared[:MAX_HITS],
            set_aside=set_aside[:MAX_HITS],
            routes=routes,
        )

    def _route(self, name: str | None, node: Node) -> RouteExplanation:
        matcher = self.matcher
        end = len(self.doc.text)
        windows: list[Window] = []
        matcher.windows = windows
        try:
            held = matcher.holds(node, self.rule, 0, end) is not None
        finally:
            matcher.windows = None
        explained = [self._window(window, node) for window in windows[:MAX_WINDOWS]]
        return RouteExplanation(
            route=name,
            condition=unparse(node, self.rule.condition_names),
            held=held,
            failed=None if held else self._first_failure(node, 0, end),
            windows=explained,
            windows_omitted=max(0, len(windows) - MAX_WINDOWS),
        )

    def _first_failure(self, node: Node, start: int, end: int) -> str:
        """The first operand of a conjunction that does not hold, as written."""
        operands = getattr(node, "operands", None)
        if type(node).__name__ == "And" and operands is not None:
            for operand in operands:
                if self.matcher.holds(operand, self.rule, start, end) is None:
                    return unparse(operand, self.rule.condition_names)
        return unparse(node, self.rule.condition_names)

    def _window(self, window: Window, route: Node) -> WindowExplanation:
        node = window.node
        scope = "near" if isinstance(node, Near) else "clause" if node.clause else "sentence"
        missing: str | None = None
        vetoed_by: str | None = None
        veto: list[Occurrence] = []
        if window.absent is not None:
            missing = unparse(window.absent, self.rule.condition_names)
            scope = "article" if (window.start, window.end) == (0, len(self.doc.text)) else scope
        elif not window.held:
            for operand in node.operands:
                if isinstance(operand, Not):
                    proof = self.matcher.holds(operand.operand, self.rule, window.start, window.end)
                    if proof is not None:
                        vetoed_by = unparse(operand.operand, self.rule.condition_names)
                        veto = _distinct([self._occurrence(part, hit) for part, hit in proof])
                        break
                elif self.matcher.holds(operand, self.rule, window.start, window.end) is None:
                    missing = unparse(operand, self.rule.condition_names)
                    break
        field: ArticleField | None
        if scope == "article":
            field, text, first, last = None, "", 0, 0
        else:
            field, original, first, last = self.doc.original(window.start, max(window.start, window.end - 1))
            last = min(len(original), last + 1)
            text = " ".join(original[first:last].split())
        return WindowExplanation(
            scope=scope,
            field=field,
            start=first,
            end=last,
            text=text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…",
            held=window.held,
            missing=missing,
            vetoed_by=vetoed_by,
            veto=veto,
            occurrences=self._inside(route, window.start, window.end),
        )

    def _inside(self, route: Node, start: int, end: int) -> list[Occurrence]:
        found: list[Occurrence] = []
        for name in dict.fromkeys(ref.name for ref in references(route)):
            part = self.rule.parts[self.rule.part_index[name]]
            for hit in self.matcher.part_hits(part):
                if start <= hit.start and hit.end <= end:
                    found.append(self._occurrence(name, hit))
        found.sort(key=lambda occurrence: occurrence.start)
        return _distinct(found)

    def _guard_veto(self, veto: Veto) -> GuardVeto:
        return GuardVeto(
            part=veto.part,
            occurrence=self._occurrence(veto.part, veto.hit),
            guard=veto.guard.name,
            scope=veto.guard.describe(),
            by=self._occurrence(veto.guard.name, veto.by),
        )

    def _occurrence(self, part: str, hit: Hit) -> Occurrence:
        field, original, first, last = self.doc.original(hit.start, hit.end)
        return Occurrence(
            part=part,
            field=field,
            term=hit.term,
            text=original[first:last],
            start=first,
            end=last,
            entity=hit.entity,
        )


def render(explanation: ArticleExplanation, title: str = "") -> list[str]:
    """The explanation as lines of text for a terminal."""
    lines = [f"article {explanation.article}" + (f": {title}" if title else "")]
    for rule in explanation.rules:
        verdict = (
            f"matched by route {rule.route}" if rule.route else "matched" if rule.matched else "no match"
        )
        if not rule.candidate:
            verdict += " (not a candidate: none of its anchor terms occurs)"
        lines.append(f"  {rule.rule}: {verdict}")
        found = ", ".join(f"{name} {count}" for name, count in rule.parts.items() if count)
        lines.append(f"    parts found: {found or 'none'}")
        for veto in rule.guarded:
            lines.append(
                f"    guard {veto.guard} ({veto.scope}) vetoed {_quote(veto.occurrence)} by {_quote(veto.by)}"
            )
        for veto in rule.spared:
            lines.append(
                f"    guard {veto.guard} ({veto.scope}) spared {_quote(veto.occurrence)} despite {_quote(veto.by)}"
            )
        for aside in rule.set_aside:
            lines.append(f"    set aside {_quote(aside.occurrence)} inside {_quote(aside.within)}")
        for route in rule.routes:
            name = route.route or "condition"
            outcome = "held" if route.held else f"failed: {route.failed}"
            lines.append(f"    {name}: {outcome}")
            for window in route.windows:
                if window.held:
                    why = "held"
                elif window.vetoed_by is not None:
                    why = f"vetoed by {window.vetoed_by}: " + ", ".join(_quote(o) for o in window.veto)
                else:
                    why = f"missing {window.missing}"
                if window.field is None:
                    lines.append(f"      in the whole article: {why}")
                    continue
                lines.append(f"      {window.scope} {window.field} {window.start}-{window.end}: {why}")
                lines.append(f"        | {window.text[:160]}")
            if route.windows_omitted:
                lines.append(f"      ... and {route.windows_omitted} more windows")
    return lines


def _distinct(occurrences: list[Occurrence]) -> list[Occurrence]:
    """Each occurrence once (a term listed twice in a part is found twice), at most ``MAX_HITS``."""
    seen: set[tuple[str, str | None, int, int]] = set()
    kept: list[Occurrence] = []
    for occurrence in occurrences:
        key = (occurrence.part, occurrence.field, occurrence.start, occurrence.end)
        if key not in seen:
            seen.add(key)
            kept.append(occurrence)
    return kept[:MAX_HITS]


def _quote(occurrence: Occurrence) -> str:
    return f'{occurrence.part} "{occurrence.text}" ({occurrence.field} {occurrence.start})'
