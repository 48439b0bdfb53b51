"""Backtest: run edited rules over the articles still in the stream, beside the rules in use.

One implementation for ``geoalert rules backtest`` and ``POST /v1/rules/backtest``.
Both rule sets hold only the rules under test (compiled alone, with their
lists), each article is prepared once and evaluated by both, and an alert is
counted once per rule and story, as the matcher raises it. The result is
what the edit adds and what it removes. Articles are read in chunks and
matched in a worker thread, so the event loop stays free and progress can be
reported (and the run cancelled) between chunks.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError
from redis.asyncio import Redis

from service.matching import RuleSet, load_rules
from service.matching.document import Document
from service.models import Article, ArticleRef, Evidence, stable_id

log = logging.getLogger(__name__)

CHUNK = 1000  # articles read and matched per step; progress is reported after each
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
) -> BacktestResult:
    """Compare what ``before`` and ``after`` raise for ``rule_ids`` over the stream's articles."""
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
    while True:
        if scanned >= max_articles:
            complete = await redis.xrange(stream, min=low, max="+", count=1) == []
            break
        batch = await redis.xrange(stream, min=low, max="+", count=min(CHUNK, max_articles - scanned))
        if not batch:
            break
        entries = [(str(i), str((f or {}).get("data", ""))) for i, f in batch]
        low = f"({entries[-1][0]}"
        _, first = await asyncio.to_thread(_match_chunk, entries, old, new)
        oldest = oldest or first
        scanned += len(entries)
        if progress is not None:
            await progress(scanned, max(total, scanned))
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
