"""The delivery worker: takes due deliveries and attempts them, within two limits.

At most ``concurrency`` attempts in flight overall and ``per_endpoint`` to
any one endpoint (webhook origin, or the SMTP server): a slow or failing
endpoint fills its own share and no more, and the queue is asked only for
work of endpoints with room, so the others are never held up behind it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal, Protocol

from notifiers.apprise_target import redacted
from notifiers.base import DeliveryError, Notification, Notifier, PermanentError, Receipt, RetryableError
from service.delivery.policy import RetryPolicy
from service.delivery.queue import DeliveryQueue, Outcome, Taken
from service.delivery.record import Attempt, DeliveryRecord, Settled
from service.delivery.record import Outcome as AttemptOutcome
from service.links import PauseLinks
from service.metrics import Metrics
from service.streams import TRANSIENT_ERRORS
from service.subscriptions import Subscription

log = logging.getLogger(__name__)


class Directory(Protocol):
    async def by_id(self, version: int | None = None) -> Mapping[str, Subscription]: ...
    async def disable(self, subscription_id: str, reason: str) -> None: ...


class DeliveryWorker:
    def __init__(
        self,
        queue: DeliveryQueue,
        directory: Directory,
        notifiers: Mapping[str, Notifier[Any]],
        metrics: Metrics,
        *,
        policy: RetryPolicy | None = None,
        concurrency: int = 64,
        per_endpoint: int = 8,
        idle_poll: float = 0.5,
        clock: Callable[[], float] = time.time,
        links: PauseLinks | None = None,
    ) -> None:
        self.links = links  # signs the pause link of each email
        self.queue = queue
        self.directory = directory
        self.notifiers = notifiers
        self.metrics = metrics
        self.policy = policy or RetryPolicy()
        self.concurrency = concurrency
        self.per_endpoint = per_endpoint
        self.idle_poll = idle_poll
        self.clock = clock
        self.busy: Counter[str] = Counter()  # endpoint -> attempts in flight
        # Take again once this many slots are free: fewer queue round trips than one per finished
        # attempt, yet small beside one endpoint's share, so a busy endpoint is refilled steadily.
        self._batch = max(1, min(concurrency // 8, per_endpoint // 4))
        self._alerts: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._next_due: float | None = None  # from the last take: when to look again
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        """New deliveries are due now: look at once instead of at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                if self._in_flight and self.concurrency - len(self._in_flight) < self._batch:
                    # Take in batches: one queue round trip per few finished attempts, not per each.
                    await self._sleep(stop, self.idle_poll)  # returns as soon as an attempt finishes
                elif not await self._take() or not self._more_due():
                    await self._sleep(stop)
            except TRANSIENT_ERRORS as exc:
                log.warning("delivery queue: Redis unreachable (%s); retrying", exc)
                await self._sleep(stop, 1.0)
        await self.drain()

    async def process_due(self) -> int:
        """Attempt everything due by the clock, wait for the attempts, and return how many (for tests, tools)."""
        done = 0
        while True:
            took = await self._take()
            if not took and not self._in_flight:
                return done
            done += took
            if self._in_flight:
                await asyncio.wait(set(self._in_flight), return_when=asyncio.FIRST_COMPLETED)

    async def drain(self) -> None:
        """Let attempts in flight finish; their leases cover any that cannot."""
        if self._in_flight:
            await asyncio.wait(set(self._in_flight))

    async def _take(self) -> int:
        free = self.concurrency - len(self._in_flight)
        if free <= 0:
            return 0
        busy = {ep: n for ep, n in self.busy.items() if n > 0}
        batch = await self.queue.take(
            free, self.policy.lease_seconds, per_endpoint=self.per_endpoint, busy=busy, now=self.clock()
        )
        self._next_due = batch.next_due
        taken = batch.items
        if not taken:
            return 0
        # One look at the subscriptions per batch, not per attempt, at the version read with it.
        subscriptions = await self.directory.by_id(batch.subscriptions_version)
        for item in taken:
            self.busy[item.endpoint] += 1
            task = asyncio.create_task(self.attempt(item, subscriptions))
            self._in_flight.add(task)
            task.add_done_callback(functools.partial(self._finished, endpoint=item.endpoint))
        return len(taken)

    def _more_due(self) -> bool:
        """Is anything due now besides what was just taken (as of that take)?"""
        return self._next_due is not None and self._next_due <= self.clock()

    def _finished(self, task: asyncio.Task[None], *, endpoint: str) -> None:
        self._in_flight.discard(task)
        self.busy[endpoint] -= 1
        if self.busy[endpoint] <= 0:
            del self.busy[endpoint]

    async def _sleep(self, stop: asyncio.Event, cap: float | None = None) -> None:
        timeout = cap if cap is not None else self.idle_poll
        if cap is None:
            due = None if self._next_due is None else max(0.0, self._next_due - self.clock())
            if due is not None and due > 0:
                timeout = min(timeout, due)
            elif due == 0 and not self._in_flight:
                timeout = 0.01  # due work we could not take: a race with another worker
        waiters: list[asyncio.Future[Any]] = [
            asyncio.ensure_future(self._wake.wait()),
            asyncio.ensure_future(stop.wait()),
        ]
        if self._in_flight:  # a finished attempt frees room for its endpoint
            waiters.append(
                asyncio.ensure_future(asyncio.wait(set(self._in_flight), return_when="FIRST_COMPLETED"))
            )
        _, pending = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for waiter in pending:
            waiter.cancel()
        self._wake.clear()

    async def attempt(self, taken: Taken, subscriptions: Mapping[str, Subscription]) -> None:
        try:
            await self._attempt(taken, subscriptions)
        except TRANSIENT_ERRORS as exc:
            # The outcome could not be written; the lease makes it due again.
            log.warning("delivery %s: outcome not recorded (%s); will retry", taken.id, exc)
        except Exception:
            log.exception("delivery %s: unexpected failure; will retry after the lease", taken.id)

    async def _attempt(self, taken: Taken, subscriptions: Mapping[str, Subscription]) -> None:
        record = taken.record
        if record is None or record.final:
            await self.queue.settle(taken, taken.id, taken.endpoint, Outcome("gone", 0, None, None, None))
            return
        attempts = record.attempts + 1
        sub = subscriptions.get(record.subscription)
        if sub is None or not sub.enabled:
            reason = "subscription removed" if sub is None else f"subscription disabled{_why(sub)}"
            self.metrics.deliveries.labels(record.channel, "cancelled").inc()
            entry = self._log_entry(attempts - 1, "cancelled", None, reason, 0.0, None)
            cancel = Settled(updated_at=self.clock(), last_error=reason)
            await self.queue.settle(
                taken, taken.id, taken.endpoint, Outcome("cancelled", attempts - 1, None, entry, cancel)
            )
            return
        if record.kind != "digest" and taken.alert is None:
            reason = "the alert is no longer stored (past the delivery log's retention)"
            entry = self._log_entry(attempts - 1, "dead", None, reason, 0.0, None)
            lost = Settled(updated_at=self.clock(), last_error=reason)
            await self.queue.settle(
                taken, taken.id, taken.endpoint, Outcome("dead", attempts - 1, None, entry, lost)
            )
            return
        notification = self._notification(record, taken.alert, attempts)
        if sub.email is not None and self.links is not None:
            notification = dataclasses.replace(notification, pause_url=self.links.url(sub.id))
        started = time.monotonic()
        try:
            receipt: Receipt = await asyncio.wait_for(
                self.notifiers[sub.channel].send(notification, sub.target), self.policy.lease_seconds * 0.9
            )
        except TimeoutError:
            await self._failed(
                taken, sub, record, attempts, RetryableError("attempt outlived its lease"), started
            )
            return
        except DeliveryError as exc:
            await self._failed(taken, sub, record, attempts, exc, started)
            return
        elapsed = time.monotonic() - started
        self.metrics.deliveries.labels(sub.channel, "delivered").inc()
        now = self.clock()
        created = notification.alert.get("created_at")
        if created and not notification.alerts:
            age = now - datetime.fromisoformat(created).timestamp()
            self.metrics.delivery_latency.labels(sub.channel).observe(max(age, 0.0))
        entry = self._log_entry(attempts, "delivered", receipt.status, receipt.detail, elapsed, None)
        done = Settled(
            updated_at=now,
            last_error="",
            last_status=receipt.status,
            writes_status=True,
            delivered_at=now,
            latency_ms=elapsed * 1000,
        )
        await self.queue.settle(
            taken, taken.id, taken.endpoint, Outcome("delivered", attempts, None, entry, done)
        )

    async def _failed(
        self,
        taken: Taken,
        sub: Subscription,
        record: DeliveryRecord,
        attempts: int,
        exc: DeliveryError,
        started: float,
    ) -> None:
        elapsed = time.monotonic() - started
        now = self.clock()
        if isinstance(exc, PermanentError):
            delay = None
            if exc.disable:
                await self.directory.disable(sub.id, str(exc))
                log.warning("subscription %s disabled: %s", sub.id, exc)
        else:
            retry_after = exc.retry_after if isinstance(exc, RetryableError) else None
            delay = self.policy.delay(attempts - record.round_base, retry_after)
        status: Literal["dead", "retrying"] = "dead" if delay is None else "retrying"
        next_at = None if delay is None else now + delay
        self.metrics.deliveries.labels(sub.channel, status).inc()
        entry = self._log_entry(attempts, status, exc.status, str(exc), elapsed, next_at)
        failed = Settled(
            updated_at=now,
            last_error=str(exc),
            last_status=exc.status,
            writes_status=True,
            latency_ms=elapsed * 1000,
        )
        await self.queue.settle(
            taken, taken.id, taken.endpoint, Outcome(status, attempts, next_at, entry, failed)
        )
        log.warning(
            "delivery %s to subscription %r (%s) attempt %d failed: %s (%s)",
            taken.id,
            sub.name,
            self._destination(sub),
            attempts,
            exc,
            "dead-lettered" if delay is None else f"next in {delay:.0f}s",
        )

    def _destination(self, sub: Subscription) -> str:
        """Where the delivery went, for log lines: the webhook's origin or the SMTP server."""
        if sub.email is not None:
            host = getattr(getattr(self.notifiers.get("email"), "config", None), "host", None)
            return f"smtp {host}" if host else "smtp (no GEOALERT_SMTP_HOST)"
        if sub.apprise is not None:  # redacted: Apprise URLs hold tokens
            return ", ".join(redacted(url) for url in sub.apprise.secrets())
        return sub.endpoint

    def _notification(self, record: DeliveryRecord, alert_json: str | None, attempt: int) -> Notification:
        if record.kind == "digest":
            alerts = json.loads(record.alerts or "[]")
            first = alerts[0] if alerts else {}
            return Notification(record.id, first, attempt, alerts=alerts, period=record.period)
        # A fan-out hands the same alert to many attempts: parse it once (notifiers never change it).
        alert = self._alerts.get(record.alert_id)
        if alert is None:
            alert = self._alerts[record.alert_id] = json.loads(alert_json or "{}")
            if len(self._alerts) > 256:
                self._alerts.popitem(last=False)
        return Notification(record.id, alert, attempt)

    def _log_entry(
        self,
        attempt: int,
        outcome: AttemptOutcome,
        status: int | None,
        detail: str,
        elapsed: float,
        next_at: float | None,
    ) -> Attempt:
        return Attempt(
            attempt=attempt,
            at=round(self.clock(), 3),
            outcome=outcome,
            status_code=status,
            detail=detail[:500],
            duration_ms=round(elapsed * 1000, 1),
            next_at=None if next_at is None else round(next_at, 3),
        )


def _why(sub: Subscription) -> str:
    return f": {sub.disabled_reason}" if sub.disabled_reason else ""
