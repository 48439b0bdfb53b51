"""The poller stage: one scheduled job per feed; new articles go to the articles stream.

A run of a feed: take its lease (or skip: another poller has it), fetch it
conditionally, parse it in a worker, fetch full texts if asked, ingest, and
record the state and when it is due again. Failures back off; the scheduler's
own skips (a run still going, a run missed) are logged and counted.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from service.aio import sleep_or_stop
from service.ingest.feed_directory import FeedDirectory
from service.ingest.feeds import FeedConfig
from service.ingest.fetch import Fetcher, FetchError
from service.ingest.fulltext import FullText
from service.ingest.parse import ParseError, PreparedFeed, prepare_feed
from service.ingest.prepared import Prepared, prepare, within_budget
from service.ingest.quiet import REASON_TEXT, AlertPolicy, quieten
from service.ingest.sink import ArticleSink, Ingested
from service.ingest.state import Backoff, FeedState, FeedStore, now
from service.ingest.workers import WorkerDied, WorkerPool
from service.metrics import Metrics
from service.redact import redact_in, redact_url
from service.streams import TRANSIENT_ERRORS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timing:
    jitter: float = 0.1  # of the interval, added at random to each run so feeds drift apart
    startup_spread: float = 10.0  # at most this many seconds over which the first runs are spread
    spread_per_feed: float = 0.01  # seconds of spread each feed adds: a few feeds start at once
    lease_fraction: float = (
        0.85  # of the delay until due: below 1 - jitter, so our own next run is never locked out
    )


@dataclass(frozen=True)
class RunResult:
    feed: str
    outcome: str  # ok | not modified | error | failing | leased elsewhere
    items: int = 0
    new: int = 0
    delay: float = 0.0  # seconds until the feed is due again
    reason: str | None = None


def _parse(body: bytes, feed_name: str, content_type: str | None) -> PreparedFeed:
    return prepare_feed(body, feed_name=feed_name, content_type=content_type)


class Poller:
    def __init__(
        self,
        feeds: FeedDirectory,
        sink: ArticleSink,
        fetcher: Fetcher,
        store: FeedStore,
        metrics: Metrics,
        *,
        backoff: Backoff | None = None,
        timing: Timing | None = None,
        workers: WorkerPool | None = None,
        alerts: AlertPolicy | None = None,
    ) -> None:
        self.feeds, self.sink, self.fetcher, self.store = feeds, sink, fetcher, store
        # Without a policy every new article may alert (the service passes the settings' one).
        self.alerts = alerts or AlertPolicy(max_age=0, first_poll=True)
        self.metrics = metrics
        self.backoff = backoff or Backoff()
        self.timing = timing or Timing()
        self.workers = workers or WorkerPool()
        self.fulltext = FullText(fetcher, self.workers)
        self.scheduler: AsyncIOScheduler | None = None
        # Runs in flight at once: each holds a Redis connection at times, and
        # the client's pool is finite; a thousand feeds due together must queue.
        self._runs = asyncio.Semaphore(fetcher.limits.concurrency)
        self._intervals: dict[str, float] = {}  # feed -> the interval its job was made with
        self._synced: list[FeedConfig] | None = None  # the feeds list the jobs were made from
        self._indexed: list[FeedConfig] | None = None  # the feeds list _by_name was made from
        self._by_name: dict[str, FeedConfig] = {}
        self._active: set[asyncio.Task[Any]] = set()  # scheduled runs in flight, awaited on shutdown

    def feed(self, name: str) -> FeedConfig | None:
        # Every run looks its feed up: by name in a dict, rebuilt when the feeds
        # list is replaced, or a cycle of N feeds would cost N * N comparisons.
        current = self.feeds.current
        if current is not self._indexed:
            self._by_name, self._indexed = {f.name: f for f in current}, current
        return self._by_name.get(name)

    async def run(self, feed: FeedConfig) -> RunResult:
        """One scheduled run: poll the feed unless another poller holds its lease."""
        # Held while we work: long enough for the feed's fetch and its pages' (each
        # bounded by the total timeout), then shortened to the time until it is due.
        busy_for = max(feed.interval, self.fetcher.limits.total_timeout * 3)
        state = await self.store.acquire(feed.name, busy_for)
        if state is None:
            self.metrics.feed_runs_skipped.labels("leased").inc()
            log.debug("feed %s: leased by another poller; skipping this run", feed.name)
            return RunResult(feed.name, "leased elsewhere")
        try:
            result = await self._poll(feed, state, leased_at=asyncio.get_running_loop().time())
        except BaseException:
            await self.store.release(feed.name)
            raise
        if result.delay > feed.interval:
            self._reschedule(feed.name, result.delay)
        return result

    def _hold(self, leased_at: float | None, outcome: str, delay: float) -> float | None:
        """How long to hold the lease once a run is recorded; None for a run without one."""
        if leased_at is None:
            return None
        # Until the feed is due, counted from the run's start (a little less, see
        # Timing), so no other poller fetches it before then; a Retry-After or
        # back-off is honoured in full.
        if outcome in ("error", "failing"):
            return delay
        elapsed = asyncio.get_running_loop().time() - leased_at
        return max(delay * self.timing.lease_fraction - elapsed, 1.0)

    async def poll(self, feed: FeedConfig) -> int:
        """Fetch, parse and ingest one feed now (no lease); the number of new articles."""
        return (await self.poll_feed(feed)).new

    async def poll_feed(self, feed: FeedConfig) -> RunResult:
        """Fetch, parse and ingest one feed now (no lease); record its state."""
        return await self._poll(feed, await self.store.get(feed.name), leased_at=None)

    async def _poll(self, feed: FeedConfig, state: FeedState, leased_at: float | None) -> RunResult:
        started = now()
        # Validators belong to a URL: after the feeds file changes it, fetch afresh.
        same_url = state.url == feed.url
        try:
            fetched = await self.fetcher.fetch_feed(
                feed.url,
                headers=feed.headers,
                etag=state.etag if same_url else None,
                last_modified=state.last_modified if same_url else None,
                # Feeds added over the API were written by a client, not the operator: guarded.
                trusted=self.feeds.source_of(feed.name) != "api",
            )
            if fetched.not_modified:
                return await self._not_modified(feed, started, fetched.etag, fetched.last_modified, leased_at)
            parsed = await self.workers.run(_parse, fetched.body, feed.name, fetched.content_type)
        except FetchError as exc:
            return await self._failed(feed, started, str(exc), exc.status, exc.retry_after, leased_at)
        except (ParseError, WorkerDied) as exc:
            return await self._failed(feed, started, str(exc), 200, None, leased_at)
        except Exception as exc:
            # Anything else (the HTTP client refusing a request, a bug) is still this
            # feed's failure: recorded, so the feed never shows "never fetched" with no error.
            log.debug("feed %s: fetch failed", feed.name, exc_info=True)
            return await self._failed(feed, started, f"{type(exc).__name__}: {exc}", None, None, leased_at)
        articles = parsed.articles
        if feed.full_text and articles:
            articles = await self._with_full_text(articles)
        articles, warning = await self._within_budget(feed, articles, parsed.warning)
        articles, quiet = quieten(articles, self._policy(feed), first_poll=state.last_success is None)
        ingested = await self.sink.add_prepared(articles)
        new = sum(1 for i in ingested if not i.duplicate)
        self._count_quiet(feed, ingested, quiet)
        self.metrics.feed_polls.labels(feed.name, "ok").inc()
        self.metrics.feed_failing.labels(feed.name).set(0)
        delay = self.backoff.delay(feed.interval, 0)
        await self.store.record(
            feed.name,
            fields={
                "status": "ok",
                "url": feed.url,
                "http_status": 200,
                "last_fetch": started,
                "last_success": started,
                "etag": fetched.etag,
                "last_modified": fetched.last_modified,
                "consecutive_errors": 0,
                "last_error": None,
                "warning": warning,
                "next_run": started + delay,
            },
            items=parsed.items,
            new=new,
            hold=self._hold(leased_at, "ok", delay),
        )
        if new:
            log.info("feed %s: %d new of %d items", feed.name, new, parsed.items)
        return RunResult(feed.name, "ok", items=parsed.items, new=new, delay=delay)

    def _policy(self, feed: FeedConfig) -> AlertPolicy:
        if feed.alert_max_age is None and feed.alert_first_poll is None:
            return self.alerts
        return AlertPolicy(
            max_age=self.alerts.max_age if feed.alert_max_age is None else feed.alert_max_age,
            first_poll=self.alerts.first_poll if feed.alert_first_poll is None else feed.alert_first_poll,
        )

    def _count_quiet(self, feed: FeedConfig, ingested: list[Ingested], quiet: dict[str, str]) -> None:
        if not quiet:
            return
        counted = Counter(quiet[i.article_id] for i in ingested if not i.duplicate and i.article_id in quiet)
        for reason, count in counted.items():
            self.metrics.articles_quiet.labels(reason).inc(count)
        if counted:
            log.info(
                "feed %s: %s stored without alerts (%s)",
                feed.name,
                sum(counted.values()),
                ", ".join(f"{n} {REASON_TEXT[r]}" for r, n in counted.items()),
            )

    async def _within_budget(
        self, feed: FeedConfig, articles: list[Prepared], warning: str | None
    ) -> tuple[list[Prepared], str | None]:
        """The articles one document may add to Redis (see within_budget); the rest wait for the next poll."""
        budget = self.fetcher.limits.max_stored_bytes
        kept, left_out = within_budget(articles, budget)
        if not left_out:
            return articles, warning
        # Over budget: those already ingested cost nothing, so the budget goes to new ones first.
        fresh = [a for a, f in zip(articles, await self.sink.unseen(articles), strict=True) if f]
        kept, left_out = within_budget(fresh, budget)
        if not left_out:
            return kept, warning
        warning = (
            f"{left_out} of {len(articles)} articles wait for the next poll: together they exceed"
            f" {budget} bytes (GEOALERT_FEED_MAX_STORED_BYTES)"
        )
        log.warning("feed %s: %s", feed.name, warning)
        return kept, warning

    async def _with_full_text(self, articles: list[Prepared]) -> list[Prepared]:
        # Only pages of articles not yet ingested: a re-poll must not refetch twenty pages.
        fresh = await self.sink.unseen(articles)
        enriched = prepare(
            await self.fulltext.enrich([a.article() for a, f in zip(articles, fresh, strict=True) if f])
        )
        it = iter(enriched)
        return [next(it) if f else a for a, f in zip(articles, fresh, strict=True)]

    async def _not_modified(
        self,
        feed: FeedConfig,
        started: float,
        etag: str | None,
        last_modified: str | None,
        leased_at: float | None,
    ) -> RunResult:
        self.metrics.feed_polls.labels(feed.name, "not_modified").inc()
        self.metrics.feed_failing.labels(feed.name).set(0)
        self.metrics.feed_not_modified.inc()
        delay = self.backoff.delay(feed.interval, 0)
        fields: dict[str, str | int | float | None] = {
            "status": "not modified",
            "http_status": 304,
            "last_fetch": started,
            "last_success": started,
            "consecutive_errors": 0,
            "last_error": None,
            "next_run": started + delay,
        }
        # A 304 may carry fresher validators; keep them, never erase the ones we sent.
        if etag:
            fields["etag"] = etag
        if last_modified:
            fields["last_modified"] = last_modified
        await self.store.record(feed.name, fields=fields, hold=self._hold(leased_at, "not modified", delay))
        return RunResult(feed.name, "not modified", delay=delay)

    async def _failed(
        self,
        feed: FeedConfig,
        started: float,
        reason: str,
        status: int | None,
        retry_after: float | None,
        leased_at: float | None,
    ) -> RunResult:
        self.metrics.feed_polls.labels(feed.name, "error").inc()
        reason = redact_in(reason, feed.url)  # error messages may quote the URL, credentials and all
        errors = await self.store.count_error(feed.name)
        failing = self.backoff.failing(errors)
        self.metrics.feed_failing.labels(feed.name).set(int(failing))
        delay = self.backoff.delay(feed.interval, errors, retry_after)
        outcome = "failing" if failing else "error"
        await self.store.record(
            feed.name,
            fields={
                "status": outcome,
                "url": feed.url,
                "http_status": status,
                "last_fetch": started,
                "last_error": reason,
                "next_run": started + delay,
            },
            hold=self._hold(leased_at, outcome, delay),
        )
        level = logging.ERROR if failing and errors == self.backoff.failing_after else logging.WARNING
        log.log(
            level,
            "feed %s (%s): %s; %s, next try in %.0fs",
            feed.name,
            redact_url(feed.url),
            reason,
            f"failing after {errors} consecutive errors" if failing else f"error {errors} in a row",
            delay,
        )
        return RunResult(feed.name, outcome, delay=delay, reason=reason)

    async def _scheduled(self, name: str) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._active.add(task)
        try:
            await self.job(name)
        finally:
            if task is not None:
                self._active.discard(task)

    async def job(self, name: str) -> RunResult:
        """One scheduled run of the feed named, within the limit of runs at once; errors are its result."""
        feed = self.feed(name)
        if feed is None or not feed.enabled:
            return RunResult(name, "removed")
        try:
            async with self._runs:
                return await self.run(feed)
        except TRANSIENT_ERRORS as exc:
            log.warning("feed %s: Redis unreachable (%s); the next run will retry", name, exc)
            return RunResult(name, "error", reason=f"Redis unreachable: {exc}")
        except Exception:
            # A bug on one feed must not stop the others; the next run tries again.
            log.exception("feed %s: run failed", name)
            return RunResult(name, "error", reason="internal error")

    # -- scheduling -------------------------------------------------------

    def start(self) -> None:
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.scheduler.add_listener(self._on_skip, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)
        self.scheduler.start()
        self.sync_jobs()

    def _on_skip(self, event: JobEvent) -> None:
        if event.code == EVENT_JOB_MAX_INSTANCES:
            self.metrics.feed_runs_skipped.labels("overrun").inc()
            log.warning("feed %s: run skipped, the previous run is still going", event.job_id)
        else:
            self.metrics.feed_runs_skipped.labels("missed").inc()
            log.warning("feed %s: run missed its time (the process was busy or asleep)", event.job_id)

    def sync_jobs(self) -> None:
        """One job per enabled feed, matching the feeds file as it is now."""
        assert self.scheduler is not None
        self._synced = self.feeds.current
        wanted = {f.name: f for f in self.feeds.current if f.enabled}
        current = {job.id: job for job in self.scheduler.get_jobs()}
        for name, job in current.items():
            if name not in wanted:
                job.remove()
                self._intervals.pop(name, None)
                log.info("feed %s: no longer polled", name)
        # Spreading first runs only matters when there are many feeds to fetch at once.
        crowd = len(wanted) * self.timing.spread_per_feed
        for name, feed in wanted.items():
            if name in current and self._intervals.get(name) == feed.interval:
                continue  # unchanged schedule: keep its phase (a changed URL is read at run time)
            spread = min(feed.interval * self.timing.jitter, self.timing.startup_spread, crowd)
            self.scheduler.add_job(
                self._scheduled,
                "interval",
                args=[name],
                seconds=feed.interval,
                jitter=max(feed.interval * self.timing.jitter, 0.001),
                id=name,
                name=name,
                replace_existing=True,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=max(int(feed.interval), 1),
                next_run_time=_in(random.uniform(0, spread)),
            )
            self._intervals[name] = feed.interval

    def _reschedule(self, name: str, delay: float) -> None:
        if self.scheduler is None or not self.scheduler.running:
            return
        job = self.scheduler.get_job(name)
        if job is not None:
            job.modify(next_run_time=_in(delay))

    def next_run(self, name: str) -> datetime | None:
        if self.scheduler is None:
            return None
        job = self.scheduler.get_job(name)
        return job.next_run_time if job is not None else None

    async def watch(self, stop: asyncio.Event, interval: float) -> None:
        while not await sleep_or_stop(stop, interval):
            try:
                await self.feeds.sync()
            except TRANSIENT_ERRORS as exc:
                log.warning("feeds added through the API unreadable (%s); polling the last known set", exc)
            # Compared by identity, not by refresh()'s answer: the API may have
            # been the one to notice the change.
            if self.feeds.current is not self._synced:
                self.sync_jobs()

    async def shutdown(self, timeout: float) -> None:
        """Start no more runs; let those in flight finish (up to ``timeout``), then cancel the rest."""
        if self.scheduler is None or not self.scheduler.running:
            return
        # Pause first: shutting the scheduler down cancels the runs in flight at once.
        self.scheduler.pause()
        if self._active:
            _, late = await asyncio.wait(set(self._active), timeout=timeout)
            if late:
                log.warning("%d feed runs still going at shutdown; cancelling them", len(late))
        self.scheduler.shutdown(wait=False)


def _in(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)
