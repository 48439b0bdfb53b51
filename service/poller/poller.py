"""The poller stage: one scheduled job per feed; new articles go to the articles stream."""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from redis.asyncio import Redis

from service.aio import sleep_or_stop
from service.keys import Keys
from service.metrics import Metrics
from service.models import Article
from service.poller.feeds import FeedConfig
from service.poller.fetch import FetchError, FetchLimits, fetch
from service.poller.parse import ParseError, parse_feed
from service.streams import TRANSIENT_ERRORS, Trim, publish_once
from service.watched import WatchedFile

log = logging.getLogger(__name__)


@dataclass
class FeedState:
    name: str
    last_fetch: float | None = None
    status: str = "never fetched"
    items_seen: int = 0
    new_articles: int = 0
    consecutive_errors: int = 0
    last_error: str | None = None


class ArticleSink:
    """Appends articles to the stream once each, fleet-wide (de-duplicated by id)."""

    def __init__(self, redis: Redis, keys: Keys, trim: Trim, dedupe_ttl: int, metrics: Metrics) -> None:
        self.redis, self.keys, self.trim, self.dedupe_ttl = redis, keys, trim, dedupe_ttl
        self.metrics = metrics

    async def add(self, article: Article) -> str | None:
        """The stream entry id, or None when the article was seen before."""
        entry_id = await publish_once(
            self.redis,
            self.keys.articles,
            {"data": article.model_dump_json()},
            self.trim,
            dedupe_key=self.keys.seen_article(article.id),
            ttl_seconds=self.dedupe_ttl,
        )
        source = article.feed or "push"
        if entry_id is None:
            self.metrics.articles_duplicate.labels(source).inc()
        else:
            self.metrics.articles_ingested.labels(source).inc()
        return entry_id


@dataclass
class Poller:
    feeds: WatchedFile[list[FeedConfig]]
    sink: ArticleSink
    session: aiohttp.ClientSession
    limits: FetchLimits = field(default_factory=FetchLimits)
    states: dict[str, FeedState] = field(default_factory=dict)
    scheduler: AsyncIOScheduler | None = None

    async def poll(self, feed: FeedConfig) -> int:
        """Fetch, parse and ingest one feed now; returns the number of new articles."""
        state = self.states.setdefault(feed.name, FeedState(feed.name))
        state.last_fetch = asyncio.get_running_loop().time()
        try:
            fetched = await fetch(feed.url, self.session, self.limits, feed.headers)
            parsed = parse_feed(
                fetched.body, feed_name=feed.name, content_type=fetched.headers.get("Content-Type")
            )
        except (FetchError, ParseError) as exc:
            self.sink.metrics.feed_polls.labels("error").inc()
            state.consecutive_errors += 1
            state.status, state.last_error = "error", str(exc)
            log.warning("feed %s: %s", feed.name, exc)
            return 0
        self.sink.metrics.feed_polls.labels("ok").inc()
        new = 0
        for article in parsed.articles:
            if await self.sink.add(article) is not None:
                new += 1
        state.items_seen += len(parsed.articles)
        state.new_articles += new
        state.consecutive_errors, state.status, state.last_error = 0, "ok", parsed.warning
        log.log(
            logging.INFO if new else logging.DEBUG,
            "feed %s: %d new of %d items",
            feed.name,
            new,
            len(parsed.articles),
        )
        return new

    async def _job(self, feed: FeedConfig) -> None:
        try:
            await self.poll(feed)
        except TRANSIENT_ERRORS as exc:
            log.warning("feed %s: Redis unreachable (%s); next run will retry", feed.name, exc)

    def start(self) -> None:
        self.scheduler = AsyncIOScheduler()
        self.scheduler.start()
        self.sync_jobs()

    def sync_jobs(self) -> None:
        """One job per enabled feed, matching the feeds file as it is now."""
        assert self.scheduler is not None
        wanted = {f.name: f for f in self.feeds.current if f.enabled}
        for job in self.scheduler.get_jobs():
            if job.id not in wanted:
                job.remove()
        for name, feed in wanted.items():
            self.scheduler.add_job(
                self._job,
                "interval",
                args=[feed],
                seconds=feed.interval,
                # Spread feeds over their interval so they do not all poll in lockstep.
                jitter=max(1, int(feed.interval * 0.1)),
                id=name,
                replace_existing=True,
                max_instances=1,
                coalesce=True,
                next_run_time=_soon(),
            )

    async def watch(self, stop: asyncio.Event, interval: float) -> None:
        while not await sleep_or_stop(stop, interval):
            if self.feeds.refresh():
                self.sync_jobs()

    def shutdown(self) -> None:
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def describe(self) -> list[dict[str, Any]]:
        return [vars(s) for s in self.states.values()]


def _soon() -> datetime:
    return datetime.now(UTC) + timedelta(seconds=random.uniform(0, 0.2))
