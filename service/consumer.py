"""Consuming a Redis stream through a consumer group, at least once, surviving crashes.

- on start a consumer re-reads its own pending entries (``XREADGROUP ... 0``),
  then new ones (``>``);
- entries left pending by a dead consumer are taken over with ``XAUTOCLAIM``
  once idle for ``claim_idle_ms``;
- an entry delivered more than ``max_deliveries`` times is copied to a
  dead-letter stream and acknowledged, so one poison entry never blocks the rest;
- a group that vanished (Redis restarted empty: ``NOGROUP``) is recreated;
- a lost connection is retried with backoff, never a crash.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from service.aio import sleep_or_stop
from service.streams import TRANSIENT_ERRORS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    id: str
    fields: Mapping[str, str]
    deliveries: int = 1

    @property
    def data(self) -> str:
        return self.fields.get("data", "")


Handler = Callable[[Entry], Awaitable[None]]


class Unprocessable(Exception):
    """Raised by a handler for an entry that can never succeed (malformed data): dead-letter it now."""


@dataclass(frozen=True)
class ConsumerOptions:
    batch: int = 64
    block_ms: int = 1000
    claim_idle_ms: int = 30_000
    max_deliveries: int = 5
    dead_letter_maxlen: int = 10_000


@dataclass
class ConsumerStats:
    processed: int = 0
    failed: int = 0
    dead_lettered: int = 0
    reclaimed: int = 0
    overran: int = 0
    group_recreated: int = 0
    connection_errors: int = 0


class _Backoff:
    def __init__(self, base: float = 0.1, cap: float = 5.0) -> None:
        self.base, self.cap, self.failures = base, cap, 0

    async def wait(self, stop: asyncio.Event) -> None:
        self.failures += 1
        delay = min(self.cap, self.base * 2 ** (self.failures - 1)) * random.uniform(0.5, 1.0)
        await sleep_or_stop(stop, delay)

    def reset(self) -> None:
        self.failures = 0


def _is_nogroup(exc: ResponseError) -> bool:
    return str(exc).startswith("NOGROUP")


@dataclass
class GroupConsumer:
    redis: Redis
    stream: str
    group: str
    consumer: str
    handler: Handler
    dead_letter: str
    options: ConsumerOptions = field(default_factory=ConsumerOptions)
    start_id: str = "0"
    stats: ConsumerStats = field(default_factory=ConsumerStats)
    # Deliveries of an entry that ended in an outage (Redis unreachable, a replica short of
    # WAIT) or were left unstarted: Redis counts them too, but they say nothing against the
    # entry, so they are taken off its count before it is judged poison. A failover with no
    # replica for a while would otherwise dead-letter good alerts. Kept for this process only.
    _not_counted: dict[str, int] = field(default_factory=dict)

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.stream, self.group, id=self.start_id, mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self, stop: asyncio.Event, *, burst: bool = False) -> None:
        """Consume until ``stop`` is set (or, with ``burst``, until nothing is left)."""
        backoff = _Backoff()
        ready = False
        outage_logged = False
        next_claim = 0.0
        while not stop.is_set():
            try:
                if not ready:
                    await self.ensure_group()
                    await self._read_own_pending(stop)
                    ready = True
                if time.monotonic() >= next_claim:
                    await self._reclaim(stop)
                    next_claim = time.monotonic() + self.options.claim_idle_ms / 2000
                got = await self._read_new(stop)
                if outage_logged:
                    log.info("%s/%s: Redis reachable again", self.stream, self.group)
                    outage_logged = False
                backoff.reset()
                if burst and not got and await self._own_pending() == 0:
                    return
            except TRANSIENT_ERRORS as exc:  # before ResponseError: a cluster failing over answers with one
                self.stats.connection_errors += 1
                if not outage_logged:
                    log.warning("%s/%s: Redis unreachable (%s); retrying", self.stream, self.group, exc)
                    outage_logged = True
                ready = False
                await backoff.wait(stop)
            except ResponseError as exc:
                if not _is_nogroup(exc):
                    raise
                log.warning("%s/%s: consumer group vanished; recreating it", self.stream, self.group)
                self.stats.group_recreated += 1
                ready = False
        await self._leave_group()

    async def _read_own_pending(self, stop: asyncio.Event) -> None:
        start = "0"
        while not stop.is_set():
            reply = await self.redis.xreadgroup(
                self.group, self.consumer, {self.stream: start}, count=self.options.batch
            )
            entries = _entries(reply)
            if not entries:
                return
            await self._handle(entries, redelivered=True)
            # Advance past what we just saw, so an entry that failed again
            # waits for the reclaimer instead of spinning here.
            start = entries[-1][0]

    async def _read_new(self, stop: asyncio.Event) -> bool:
        reply = await self.redis.xreadgroup(
            self.group,
            self.consumer,
            {self.stream: ">"},
            count=self.options.batch,
            block=self.options.block_ms,
        )
        entries = _entries(reply)
        if entries:
            await self._handle(entries, redelivered=False)
        return bool(entries)

    async def _reclaim(self, stop: asyncio.Event) -> None:
        start = "0-0"
        for _ in range(10):  # bounded, so new entries are not starved by a long backlog
            if stop.is_set():
                return
            reply = await self.redis.xautoclaim(
                self.stream,
                self.group,
                self.consumer,
                min_idle_time=self.options.claim_idle_ms,
                start_id=start,
                count=self.options.batch,
            )
            start = str(reply[0])
            claimed = [(str(i), f) for i, f in reply[1] if i is not None]
            for deleted in reply[2] if len(reply) > 2 else []:
                log.info("%s/%s: pending entry %s was trimmed away", self.stream, self.group, deleted)
            if claimed:
                self.stats.reclaimed += len(claimed)
                log.info("%s/%s: took over %d idle entries", self.stream, self.group, len(claimed))
                await self._handle(claimed, redelivered=True)
            if start in ("0-0", "0"):
                return

    async def _delivery_counts(self, ids: Sequence[str]) -> dict[str, int]:
        pending = await self.redis.xpending_range(
            self.stream, self.group, min=ids[0], max=ids[-1], count=len(ids) + 16, consumername=self.consumer
        )
        return {str(p["message_id"]): int(p["times_delivered"]) for p in pending}

    async def _handle(
        self, entries: list[tuple[str, Mapping[str, str] | None]], *, redelivered: bool
    ) -> None:
        read_at = time.monotonic()
        # Past half the idle time, the rest of the batch could be taken over by another
        # consumer while we work: leave it pending (ours still) for a later reclaim instead.
        deadline = read_at + self.options.claim_idle_ms / 2000
        counts = await self._delivery_counts([i for i, _ in entries]) if redelivered else {}
        for index, (entry_id, fields) in enumerate(entries):
            if time.monotonic() > deadline:
                self._spare(entries[index:])
                log.info(
                    "%s/%s: leaving %d entries of a slow batch for a later reclaim",
                    self.stream,
                    self.group,
                    len(entries) - index,
                )
                return
            if not fields:  # deleted from the stream while pending: nothing left to do
                await self.redis.xack(self.stream, self.group, entry_id)
                continue
            spared = self._not_counted.get(entry_id, 0)
            entry = Entry(entry_id, fields, max(1, counts.get(entry_id, 1) - spared))
            if entry.deliveries > self.options.max_deliveries:
                await self._dead_letter(entry, reason=f"failed {entry.deliveries - 1} deliveries")
                continue
            try:
                await self.handler(entry)
            except asyncio.CancelledError:
                raise
            except TRANSIENT_ERRORS:
                self._spare(entries[index:])
                raise
            except Unprocessable as exc:
                log.error("%s/%s: entry %s is unprocessable: %s", self.stream, self.group, entry_id, exc)
                await self._dead_letter(entry, reason=str(exc))
                continue
            except Exception:
                self.stats.failed += 1
                log.exception(
                    "%s/%s: handling entry %s failed (delivery %d of %d)",
                    self.stream,
                    self.group,
                    entry_id,
                    entry.deliveries,
                    self.options.max_deliveries,
                )
                continue
            try:
                await self._ack(entry, time.monotonic() - read_at)
            except TRANSIENT_ERRORS:
                self._spare(entries[index:])
                raise
            self._not_counted.pop(entry_id, None)

    def _spare(self, entries: Sequence[tuple[str, object]]) -> None:
        """These entries' current delivery ends without a verdict on them (see ``_not_counted``)."""
        if len(self._not_counted) > 100_000:  # bounded: entries long gone are forgotten
            self._not_counted.clear()
        for entry_id, _ in entries:
            self._not_counted[entry_id] = self._not_counted.get(entry_id, 0) + 1

    async def _ack(self, entry: Entry, elapsed: float) -> None:
        """Acknowledge; ``elapsed`` is the time since the entry was read (its idle clock's start)."""
        if elapsed * 1000 >= self.options.claim_idle_ms:
            # Not ours any more (claimed, or even acknowledged, by another consumer)
            # means it was processed twice. Say so, loudly: the idle time is too short.
            owner = await self.redis.xpending_range(self.stream, self.group, entry.id, entry.id, 1)
            if not owner or owner[0]["consumer"] != self.consumer:
                self.stats.overran += 1
                log.warning(
                    "%s/%s: entry %s took %.1fs, longer than claim_idle_ms=%d, and another consumer took it"
                    " over meanwhile; raise GEOALERT_CLAIM_IDLE_MS above the longest handling time",
                    self.stream,
                    self.group,
                    entry.id,
                    elapsed,
                    self.options.claim_idle_ms,
                )
        await self.redis.xack(self.stream, self.group, entry.id)
        self.stats.processed += 1

    async def _dead_letter(self, entry: Entry, *, reason: str) -> None:
        self._not_counted.pop(entry.id, None)
        meta = {
            "reason": reason,
            "source_stream": self.stream,
            "source_id": entry.id,
            "group": self.group,
            "deliveries": str(entry.deliveries),
        }
        async with self.redis.pipeline(transaction=True) as pipe:
            dead: dict[str, str] = {**entry.fields, **meta}
            pipe.xadd(self.dead_letter, dead, maxlen=self.options.dead_letter_maxlen)  # type: ignore[arg-type]
            pipe.xack(self.stream, self.group, entry.id)
            await pipe.execute()
        self.stats.dead_lettered += 1
        log.error(
            "%s/%s: entry %s moved to %s: %s", self.stream, self.group, entry.id, self.dead_letter, reason
        )

    async def _own_pending(self) -> int:
        info = await self.redis.xpending_range(
            self.stream, self.group, "-", "+", 1, consumername=self.consumer
        )
        return len(info)

    async def _leave_group(self) -> None:
        # A consumer that holds nothing is removed, so the group does not
        # collect the names of every process that ever ran.
        try:
            if await self._own_pending() == 0:
                await self.redis.xgroup_delconsumer(self.stream, self.group, self.consumer)
        except (ResponseError, RedisConnectionError, RedisTimeoutError, OSError):
            pass


def _entries(reply: Any) -> list[tuple[str, Mapping[str, str] | None]]:
    if not reply:
        return []
    # redis-py returns [[stream, [(id, fields), ...]]] (RESP2) or {stream: [[...]]} (RESP3)
    batches = reply.values() if isinstance(reply, dict) else [b[1] for b in reply]
    out: list[tuple[str, Mapping[str, str] | None]] = []
    for batch in batches:
        for item in batch:
            if isinstance(batch, list) and item and isinstance(item[0], list):
                item = item[0]
            out.append((str(item[0]), item[1]))
    return out
