"""Backtest: run edited rules over the articles still in the stream, beside the rules in use.

One implementation for ``geoalert rules backtest`` and ``POST /v1/rules/backtest``.
Both rule sets hold only the rules under test (compiled alone, with their
lists), each article is prepared once and evaluated by both, and an alert is
counted once per rule and story, as the matcher raises it. The result is
what the edit adds and what it removes. Articles are read in chunks and
matched in a worker thread, so the event loop stays free and progress can be
reported (and the run cancelled) between chunks. A large backtest matches its chunks
in worker processes, one per core, each compiling the two sides from the same files.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import multiprocessing
import os
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from redis.asyncio import Redis

from service.matching import RuleSet, load_rules
from service.matching.document import Document
from service.models import Article, ArticleRef, Evidence, stable_id

log = logging.getLogger(__name__)

CHUNK = 1000  # articles read and matched per step; progress is reported after each
PARALLEL_FROM = 20_000  # stored articles from which a backtest matches in worker processes
MAX_PROCESSES = 4
MAX_LISTED = 500  # added / removed alerts listed in full; the counts are always complete
_SINCE = re.compile(r"^(\d{1,6})([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(value: str) -> float:
    """``7d``, ``12h``, ``30m``... -> seconds."""
    match = _SINCE.match(value.strip())
    if not match:
        raise ValueError("a duration like 30m, 12h, 7d or 2w")
    return int(match.group(1)) * _UNITS[match.group(2)]


class BacktestAlert(BaseModel):
    """An alert one side raises and the other does not."""

    id: str
    rule: str
    story_id: str
    entry: str = Field(description="the article's id in the articles stream (GET /v1/articles/{entry})")
    article: ArticleRef
    evidence: list[Evidence] = Field(default_factory=list)


class BacktestResult(BaseModel):
    rules: list[str]
    scanned: int = Field(description="articles read from the stream")
    before: int = Field(description="alerts the rules in use raise over those articles")
    after: int = Field(description="alerts the edited rules raise")
    added_count: int
    removed_count: int
    added: list[BacktestAlert] = Field(description=f"the first {MAX_LISTED} alerts only the edit raises")
    removed: list[BacktestAlert] = Field(
        description=f"the first {MAX_LISTED} alerts the edit no longer raises"
    )
    oldest: dt.datetime | None = Field(
        description="publication time... ingestion time of the oldest article read"
    )
    seconds: float
    complete: bool = Field(description="false when stopped at the article limit")


@dataclass
class _Side:
    rules: RuleSet | None
    only: frozenset[str]
    raised: dict[str, BacktestAlert] = field(default_factory=dict)

    def evaluate(self, doc: Document, article: Article, entry: str) -> None:
        if self.rules is None:
            return
        story = article.story_id or article.id
        for match in self.rules.match_document(doc, article_id=article.id):
            alert_id = stable_id("alert", match.rule, story)
            if match.rule not in self.only or alert_id in self.raised:
                continue
            self.raised[alert_id] = BacktestAlert(
                id=alert_id,
                rule=match.rule,
                story_id=story,
                entry=entry,
                article=ArticleRef(
                    id=article.id,
                    title=article.title,
                    url=article.url,
                    source=article.source,
                    published=article.published,
                ),
                evidence=match.evidence,
            )


def rule_sets_for(
    directory: Path,
    current: RuleSet,
    rule_ids: Iterable[str],
    edits: Mapping[Path, bytes] | None = None,
    against: Path | None = None,
) -> tuple[RuleSet, RuleSet]:
    """The rules under test alone: as in use (``directory``), and as edited (``edits`` or ``against``)."""
    wanted = set(rule_ids)
    others: dict[Path, bytes | None] = {
        Path(r.path): None for r in current.rules if r.id not in wanted and r.path
    }
    before = load_rules(directory, others)
    if against is None:
        return before, load_rules(directory, {**others, **(edits or {})})
    edited = load_rules(against)
    drop: dict[Path, bytes | None] = {
        Path(r.path): None for r in edited.rules if r.id not in wanted and r.path
    }
    return before, load_rules(against, drop)


def _match_chunk(
    entries: list[tuple[str, str]], before: _Side, after: _Side
) -> tuple[int, dt.datetime | None]:
    read = 0
    oldest: dt.datetime | None = None
    for entry_id, data in entries:
        try:
            article = Article.model_validate_json(data)
        except ValidationError:
            continue
        read += 1
        if oldest is None:
            oldest = article.ingested_at
        # Offices are judged on the date the matcher judged them: publication, else ingestion.
        doc = Document(article, article.ingested_at)
        before.evaluate(doc, article, entry_id)
        after.evaluate(doc, article, entry_id)
    return read, oldest


Progress = Callable[[int, int], Awaitable[None]]


@dataclass(frozen=True)
class RuleRecipe:
    """How to compile both sides again in another process (compiled rule sets do not pickle)."""

    directory: Path
    rule_ids: tuple[str, ...]
    edits: Mapping[Path, bytes] | None = None
    against: Path | None = None

    def sides(self) -> tuple[RuleSet, RuleSet]:
        return rule_sets_for(
            self.directory, load_rules(self.directory), self.rule_ids, self.edits, self.against
        )


_worker_sides: tuple[RuleSet, RuleSet, frozenset[str]] | None = None


def _start_worker(recipe: RuleRecipe, only: frozenset[str]) -> None:
    global _worker_sides
    before, after = recipe.sides()
    _worker_sides = (before, after, only)


def _match_in_worker(
    entries: list[tuple[str, str]],
) -> tuple[int, dt.datetime | None, dict[str, BacktestAlert], dict[str, BacktestAlert]]:
    assert _worker_sides is not None
    before, after, only = _worker_sides
    old, new = _Side(before, only), _Side(after, only)
    read, oldest = _match_chunk(entries, old, new)
    return read, oldest, old.raised, new.raised


def _processes(total: int, recipe: RuleRecipe | None, processes: int | None) -> int:
    """Worker processes for a backtest: none for a small one (starting them costs a second or two)."""
    if recipe is None:
        return 0
    if processes is not None:
        return processes
    cpus = os.cpu_count() or 1
    return min(cpus, MAX_PROCESSES) if cpus > 1 and total >= PARALLEL_FROM else 0


async def backtest(
    redis: Redis,
    stream: str,
    before: RuleSet | None,
    after: RuleSet | None,
    rule_ids: Iterable[str],
    *,
    since_seconds: float | None = None,
    max_articles: int = 1_000_000,
    progress: Progress | None = None,
    now: float | None = None,
    recipe: RuleRecipe | None = None,
    processes: int | None = None,
) -> BacktestResult:
    """Compare what ``before`` and ``after`` raise for ``rule_ids`` over the stream's articles.

    With a ``recipe`` (how to compile the same two sides elsewhere), a large backtest matches
    its chunks in worker processes, several at a time, and merges them in stream order; should
    the workers fail to start, the chunks are matched here as for a small one.
    """
    started = time.perf_counter()
    only = frozenset(rule_ids)
    old, new = _Side(before, only), _Side(after, only)
    low = "-"
    if since_seconds is not None:
        low = f"{max(int(((now or time.time()) - since_seconds) * 1000), 0)}-0"
    total = min(int(await redis.xlen(stream)), max_articles)
    scanned = 0
    oldest: dt.datetime | None = None
    complete = True
    read_so_far = 0

    async def next_chunk() -> list[tuple[str, str]]:
        nonlocal low, complete, read_so_far
        if read_so_far >= max_articles:
            complete = complete and await redis.xrange(stream, min=low, max="+", count=1) == []
            return []
        batch = await redis.xrange(stream, min=low, max="+", count=min(CHUNK, max_articles - read_so_far))
        entries = [(str(i), str((f or {}).get("data", ""))) for i, f in batch or []]
        if entries:
            low = f"({entries[-1][0]}"
            read_so_far += len(entries)
        return entries

    workers = _processes(total, recipe, processes)
    pool: ProcessPoolExecutor | None = None
    if workers and recipe is not None:
        pool = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(recipe, only),
        )
    loop = asyncio.get_running_loop()
    pending: deque[tuple[list[tuple[str, str]], asyncio.Future[Any] | None]] = deque()
    exhausted = False
    try:
        while True:
            while not exhausted and len(pending) < max(1, 2 * workers):
                entries = await next_chunk()
                if not entries:
                    exhausted = True
                    break
                job = loop.run_in_executor(pool, _match_in_worker, entries) if pool is not None else None
                pending.append((entries, job))
            if not pending:
                break
            entries, job = pending.popleft()
            if job is not None:
                try:
                    _, first, old_raised, new_raised = await job
                except BrokenProcessPool:
                    log.warning("backtest workers failed to start; matching in this process instead")
                    if pool is not None:
                        pool.shutdown(wait=False, cancel_futures=True)
                    pool = None
                    for _, dropped in pending:
                        if dropped is not None:  # they failed alike: nothing to wait for
                            dropped.add_done_callback(lambda f: f.cancelled() or f.exception())
                    pending = deque((e, None) for e, _ in [(entries, None), *pending])
                    continue
                for key, alert in old_raised.items():
                    old.raised.setdefault(key, alert)
                for key, alert in new_raised.items():
                    new.raised.setdefault(key, alert)
            else:
                _, first = await asyncio.to_thread(_match_chunk, entries, old, new)
            oldest = oldest or first
            scanned += len(entries)
            if progress is not None:
                await progress(scanned, max(total, scanned))
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
    added = [a for k, a in new.raised.items() if k not in old.raised]
    removed = [a for k, a in old.raised.items() if k not in new.raised]
    return BacktestResult(
        rules=sorted(only),
        scanned=scanned,
        before=len(old.raised),
        after=len(new.raised),
        added_count=len(added),
        removed_count=len(removed),
        added=added[:MAX_LISTED],
        removed=removed[:MAX_LISTED],
        oldest=oldest,
        seconds=round(time.perf_counter() - started, 3),
        complete=complete,
    )
