"""The durable delivery queue: one record per (alert, subscription), attempts on a schedule.

Records live in Redis, so a restart loses none: a hash per delivery and one
sorted set of delivery ids scored by when the next attempt is due. Taking a
delivery moves its score forward by a lease; if the worker dies mid-attempt,
the lease runs out and any worker tries again. Outcomes are written in one
transaction with the score change, so a delivery is never both done and due.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from notifiers.base import DeliveryError, Notification, Notifier, PermanentError, Receipt, RetryableError
from service.keys import Keys
from service.metrics import Metrics
from service.models import Alert, stable_id
from service.streams import TRANSIENT_ERRORS, Trim, publish
from service.subscriptions import Subscription

log = logging.getLogger(__name__)

# Like Svix: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h after the first attempt.
DEFAULT_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)


@dataclass(frozen=True)
class RetryPolicy:
    schedule: tuple[float, ...] = DEFAULT_SCHEDULE
    jitter: float = 0.1  # +-10%, so retries of a burst do not arrive in lockstep
    lease_seconds: float = 60.0  # longest an attempt may take before another worker may retry it
    max_retry_after: float = 86400.0

    def delay(self, attempts: int, retry_after: float | None) -> float | None:
        """Seconds until the next attempt after ``attempts`` failed ones, or None when exhausted."""
        if attempts > len(self.schedule):
            return None
        base = self.schedule[attempts - 1]
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return base * random.uniform(1 - self.jitter, 1 + self.jitter)


_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[3])
return 1
"""

# Due ids get their score pushed to now + lease in the same step, so two
# workers never take the same delivery at once.
_TAKE_DUE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
return ids
"""


class DeliveryQueue:
    def __init__(self, redis: Redis, keys: Keys, trim: Trim) -> None:
        self.redis = redis
        self.keys = keys
        self.trim = trim

    async def enqueue(
        self, alert: Alert, subscription: Subscription, *, now: float | None = None
    ) -> str | None:
        """Create the delivery of ``alert`` to ``subscription``; None if it already exists."""
        now = time.time() if now is None else now
        delivery_id = stable_id("delivery", alert.id, subscription.id)
        fields = {
            "id": delivery_id,
            "subscription": subscription.id,
            "channel": subscription.channel,
            "alert_id": alert.id,
            "rule": alert.rule.id,
            "alert": alert.model_dump_json(),
            "status": "pending",
            "attempts": "0",
            "created_at": f"{now:.3f}",
            "updated_at": f"{now:.3f}",
        }
        flat = [x for kv in fields.items() for x in kv]
        created = await self.redis.eval(
            _CREATE, 2, self.keys.delivery(delivery_id), self.keys.deliveries_due, f"{now:.3f}", *flat
        )
        return delivery_id if created else None

    async def take_due(self, limit: int, lease: float, *, now: float | None = None) -> list[str]:
        now = time.time() if now is None else now
        ids = await self.redis.eval(
            _TAKE_DUE, 1, self.keys.deliveries_due, f"{now:.3f}", f"{now + lease:.3f}", str(limit)
        )
        return [str(i) for i in ids]

    async def next_due_in(self, *, now: float | None = None) -> float | None:
        now = time.time() if now is None else now
        first = await self.redis.zrange(self.keys.deliveries_due, 0, 0, withscores=True)
        return max(0.0, float(first[0][1]) - now) if first else None

    async def get(self, delivery_id: str) -> dict[str, str]:
        record = await self.redis.hgetall(self.keys.delivery(delivery_id))
        return {str(k): str(v) for k, v in record.items()}

    async def record(
        self,
        delivery_id: str,
        *,
        status: str,
        attempts: int,
        next_at: float | None,
        detail: Mapping[str, Any],
        now: float | None = None,
    ) -> None:
        now = time.time() if now is None else now
        fields = {"status": status, "attempts": str(attempts), "updated_at": f"{now:.3f}"}
        fields.update({k: "" if v is None else str(v) for k, v in detail.items()})
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.delivery(delivery_id), mapping=fields)  # type: ignore[arg-type]
            if next_at is None:
                pipe.zrem(self.keys.deliveries_due, delivery_id)
            else:
                pipe.hset(self.keys.delivery(delivery_id), "next_at", f"{next_at:.3f}")
                pipe.zadd(self.keys.deliveries_due, {delivery_id: next_at})
            await pipe.execute()
        if status == "dead":
            await publish(
                self.redis,
                self.keys.deliveries_dead,
                {"delivery": delivery_id, "error": str(detail.get("last_error", ""))},
                self.trim,
            )


SubscriptionLookup = Callable[[str], Awaitable[Subscription | None]]


class DeliveryWorker:
    """Takes due deliveries and attempts them, at most ``concurrency`` at once."""

    def __init__(
        self,
        queue: DeliveryQueue,
        lookup: SubscriptionLookup,
        notifiers: Mapping[str, Notifier[Any]],
        metrics: Metrics,
        *,
        policy: RetryPolicy | None = None,
        concurrency: int = 64,
        idle_poll: float = 0.5,
    ) -> None:
        self.queue = queue
        self.lookup = lookup
        self.notifiers = notifiers
        self.metrics = metrics
        self.policy = policy or RetryPolicy()
        self.concurrency = concurrency
        self.idle_poll = idle_poll
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        """New deliveries are due now: look at once instead of at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, *, burst: bool = False) -> None:
        while not stop.is_set():
            try:
                took = await self._take()
                if took:
                    continue
                if burst and not self._in_flight:
                    due = await self.queue.next_due_in()
                    if due is None or due > 0:
                        return
                await self._sleep(stop)
            except TRANSIENT_ERRORS as exc:
                log.warning("delivery queue: Redis unreachable (%s); retrying", exc)
                await self._sleep(stop, 1.0)
        await self.drain()

    async def drain(self) -> None:
        """Let attempts in flight finish; their leases cover any that cannot."""
        if self._in_flight:
            await asyncio.wait(self._in_flight)

    async def _take(self) -> bool:
        free = self.concurrency - len(self._in_flight)
        if free <= 0:
            await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
            return True
        ids = await self.queue.take_due(free, self.policy.lease_seconds)
        for delivery_id in ids:
            task = asyncio.create_task(self.attempt(delivery_id))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        return bool(ids)

    async def _sleep(self, stop: asyncio.Event, cap: float | None = None) -> None:
        timeout = cap if cap is not None else self.idle_poll
        due = await self.queue.next_due_in() if cap is None else None
        if due is not None:
            timeout = min(timeout, due)
        waiters: list[asyncio.Future[Any]] = [
            asyncio.ensure_future(self._wake.wait()),
            asyncio.ensure_future(stop.wait()),
        ]
        if self._in_flight:
            waiters.append(asyncio.ensure_future(asyncio.wait(self._in_flight)))
        _, pending = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for waiter in pending:
            waiter.cancel()
        self._wake.clear()

    async def attempt(self, delivery_id: str) -> None:
        try:
            await self._attempt(delivery_id)
        except TRANSIENT_ERRORS as exc:
            # The outcome could not be written; the lease makes it due again.
            log.warning("delivery %s: outcome not recorded (%s); will retry", delivery_id, exc)
        except Exception:
            log.exception("delivery %s: unexpected failure; will retry after the lease", delivery_id)

    async def _attempt(self, delivery_id: str) -> None:
        record = await self.queue.get(delivery_id)
        if not record or record.get("status") in ("delivered", "dead"):
            await self.queue.redis.zrem(self.queue.keys.deliveries_due, delivery_id)
            return
        attempts = int(record.get("attempts", "0")) + 1
        subscription = await self.lookup(record["subscription"])
        if subscription is None or not subscription.enabled:
            self.metrics.deliveries.labels(record.get("channel", ""), "cancelled").inc()
            await self.queue.record(
                delivery_id,
                status="cancelled",
                attempts=attempts - 1,
                next_at=None,
                detail={"last_error": "subscription removed or disabled"},
            )
            return
        notifier = self.notifiers[subscription.channel]
        notification = Notification(delivery_id, json.loads(record["alert"]), attempts)
        started = time.monotonic()
        try:
            receipt: Receipt = await notifier.send(notification, subscription.target)
        except DeliveryError as exc:
            await self._failed(delivery_id, subscription.channel, attempts, exc, time.monotonic() - started)
            return
        self.metrics.deliveries.labels(subscription.channel, "delivered").inc()
        created = notification.alert.get("created_at")
        if created:
            age = time.time() - datetime.fromisoformat(created).timestamp()
            self.metrics.delivery_latency.labels(subscription.channel).observe(max(age, 0.0))
        await self.queue.record(
            delivery_id,
            status="delivered",
            attempts=attempts,
            next_at=None,
            detail={
                "last_status": receipt.status,
                "last_error": "",
                "delivered_at": f"{time.time():.3f}",
                "latency_ms": f"{(time.monotonic() - started) * 1000:.1f}",
            },
        )

    async def _failed(
        self, delivery_id: str, channel: str, attempts: int, exc: DeliveryError, elapsed: float
    ) -> None:
        retry_after = exc.retry_after if isinstance(exc, RetryableError) else None
        delay = None if isinstance(exc, PermanentError) else self.policy.delay(attempts, retry_after)
        status = "dead" if delay is None else "retrying"
        self.metrics.deliveries.labels(channel, status).inc()
        detail = {"last_status": exc.status, "last_error": str(exc), "latency_ms": f"{elapsed * 1000:.1f}"}
        next_at = None if delay is None else time.time() + delay
        await self.queue.record(delivery_id, status=status, attempts=attempts, next_at=next_at, detail=detail)
        log.warning(
            "delivery %s attempt %d failed: %s (%s)",
            delivery_id,
            attempts,
            exc,
            "given up" if delay is None else f"next in {delay:.0f}s",
        )
