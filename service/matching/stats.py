"""How often each part, guard and veto of each rule fires on a corpus.

A guard or a negated condition that vetoes far more often than the event it
guards occurs stands out here before it costs recall on real news. The counts
come from the explanations (``explain``), so they count what the matcher did.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel, Field

from service.matching.explain import explain
from service.matching.ruleset import RuleSet
from service.models import Article


class Tally(BaseModel):
    articles: int = Field(default=0, description="articles where it fired at least once")
    times: int = Field(default=0, description="times it fired in all")


class RuleStats(BaseModel):
    rule: str
    articles: int
    matched: int
    routes: dict[str, int] = Field(description="articles matched by each route (the first that held)")
    parts: dict[str, Tally] = Field(description="occurrences of each part, after filters and guards")
    guards: dict[str, Tally] = Field(description="'guard on part': occurrences the guard vetoed")
    vetoes: dict[str, Tally] = Field(description="negated conditions: windows they vetoed")
    missing: dict[str, Tally] = Field(description="conditions missing from windows that were tried")


def corpus_stats(
    rules: RuleSet,
    articles: Iterable[Article],
    *,
    rule_ids: Iterable[str] | None = None,
    now: dt.datetime | None = None,
) -> list[RuleStats]:
    wanted = list(rule_ids) if rule_ids is not None else None
    ids = [info.id for info in rules.rules if wanted is None or info.id in wanted]
    counts = {rule: _Counts() for rule in ids}
    for article in articles:
        for explained in explain(rules, article, rule_ids=ids, now=now).rules:
            count = counts[explained.rule]
            count.articles += 1
            if explained.matched:
                count.matched += 1
                count.routes[explained.route or "condition"] += 1
            for part, times in explained.parts.items():
                count.add("parts", part, times)
            guards: Counter[str] = Counter(f"{veto.guard} on {veto.part}" for veto in explained.guarded)
            for name, times in guards.items():
                count.add("guards", name, times)
            vetoes: Counter[str] = Counter()
            missing: Counter[str] = Counter()
            for route in explained.routes:
                for window in route.windows:
                    if window.vetoed_by is not None:
                        vetoes[f"not {window.vetoed_by}"] += 1
                    elif window.missing is not None:
                        missing[window.missing] += 1
            for name, times in vetoes.items():
                count.add("vetoes", name, times)
            for name, times in missing.items():
                count.add("missing", name, times)
    return [counts[rule].result(rule) for rule in ids]


class _Counts:
    def __init__(self) -> None:
        self.articles = 0
        self.matched = 0
        self.routes: Counter[str] = Counter()
        self.tallies: dict[str, dict[str, Tally]] = {"parts": {}, "guards": {}, "vetoes": {}, "missing": {}}

    def add(self, kind: str, name: str, times: int) -> None:
        tally = self.tallies[kind].setdefault(name, Tally())
        if times:
            tally.articles += 1
            tally.times += times

    def result(self, rule: str) -> RuleStats:
        def ordered(kind: str) -> dict[str, Tally]:
            items = self.tallies[kind].items()
            if kind != "parts":
                items = sorted(items, key=lambda item: (-item[1].articles, item[0]))  # type: ignore[assignment]
            return dict(items)

        return RuleStats(
            rule=rule,
            articles=self.articles,
            matched=self.matched,
            routes=dict(self.routes.most_common()),
            parts=ordered("parts"),
            guards=ordered("guards"),
            vetoes=ordered("vetoes"),
            missing=ordered("missing"),
        )


def render_stats(stats: list[RuleStats]) -> list[str]:
    lines: list[str] = []
    for rule in stats:
        routes = ", ".join(f"{name} {count}" for name, count in rule.routes.items())
        lines.append(
            f"{rule.rule}: {rule.matched} of {rule.articles} articles matched"
            + (f" ({routes})" if routes else "")
        )
        for title, kind in (
            ("part", rule.parts),
            ("guard on part (occurrences vetoed)", rule.guards),
            ("veto (windows vetoed)", rule.vetoes),
            ("missing from a window tried", rule.missing),
        ):
            if not kind:
                continue
            width = max(len(title), *(len(name) for name in kind))
            lines.append(f"  {title:<{width}}  {'articles':>8}  {'times':>6}")
            for name, tally in kind.items():
                lines.append(f"  {name:<{width}}  {tally.articles:>8}  {tally.times:>6}")
    return lines
