"""The durable delivery queue: one record per (alert, subscription), attempts on a schedule.

Records live in Redis, so a restart loses none. Taking a delivery leases it
(its due time moves forward by the lease); if the worker dies mid-attempt
the lease runs out and any worker tries again. Every state change is one Lua
script (``service/lua/delivery_*.lua``), so a delivery is never both done and due, and a
throttle or digest decision is never half-made.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from redis.asyncio import Redis

from service.delivery.record import FINAL_STATUSES, Attempt, DeliveryRecord, DeliveryStatus, Settled
from service.durability import NO_WAIT, Durability
from service.keys import Keys
from service.lua import Script, run_pipeline
from service.models import Alert, stable_id
from service.subscriptions import Subscription

__all__ = ["FINAL_STATUSES", "Batch", "DeliveryQueue", "Outcome", "Taken", "delivery_id_for"]
ENQUEUE_CHUNK = 200  # deliveries per pipelined round trip when fanning out
DEAD_LETTER_MAXLEN = 10_000


def delivery_id_for(alert_id: str, subscription_id: str) -> str:
    # Stable, so a redelivered alert maps onto the delivery it already has.
    return stable_id("delivery", alert_id, subscription_id)


def throttle_scope(sub: Subscription, alert: Alert) -> str:
    assert sub.throttle is not None
    return alert.rule.id if sub.throttle.per == "rule" else f"{alert.rule.id}:{alert.story_id}"


def _flat(fields: Mapping[str, str]) -> list[str]:
    return [x for kv in fields.items() for x in kv]


@dataclass(frozen=True)
class Taken:
    id: str
    endpoint: str
    lease: str  # the lease token: the attempt's outcome only counts while it still holds
    record: DeliveryRecord | None  # the delivery as it was when taken (None if it is gone)
    alert: str | None = None  # the alert's JSON (None for digests, which carry their alerts)


@dataclass(frozen=True)
class Batch:
    items: list[Taken]
    next_due: float | None  # the earliest due time left in the queue (maybe a saturated endpoint's)
    subscriptions_version: int  # for the worker's subscription cache, read in the same step


@dataclass(frozen=True)
class Outcome:
    status: DeliveryStatus | Literal["gone"]  # 'gone': finished already, only leave the lane
    attempts: int
    next_at: float | None
    log: Attempt | None  # the delivery-log entry of this attempt
    changes: Settled | None


class DeliveryQueue:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        *,
        retention_seconds: int = 30 * 86400,
        durability: Durability = NO_WAIT,
    ) -> None:
        self.durability = durability
        self.redis = redis
        self.keys = keys
        self.retention = retention_seconds
        self._enqueue = Script("delivery_enqueue", redis)
        self._take = Script("delivery_take", redis)
        self._settle = Script("delivery_settle", redis)
        self._redeliver = Script("delivery_redeliver", redis)

    async def enqueue_many(
        self,
        alert: Alert,
        subscriptions: Sequence[Subscription],
        *,
        now: float | None = None,
        on_chunk: Callable[[], None] | None = None,
    ) -> list[int]:
        """Create the deliveries of ``alert``: per subscription 1 created, 0 existed, -1 throttled.

        The alert itself is stored once, beside the deliveries that refer to it.
        Deliveries are created in pipelined chunks, and ``on_chunk`` runs after
        each, so a large fan-out starts delivering before it is fully queued.
        """
        if not subscriptions:
            return []
        now = time.time() if now is None else now
        cutoff = f"{now - self.retention:.3f}"
        results: list[int] = []
        for start in range(0, len(subscriptions), ENQUEUE_CHUNK):
            calls = []
            for sub in subscriptions[start : start + ENQUEUE_CHUNK]:
                delivery_id = delivery_id_for(alert.id, sub.id)
                record = DeliveryRecord(
                    id=delivery_id,
                    subscription=sub.id,
                    channel=sub.channel,
                    endpoint=sub.endpoint,
                    kind="alert",
                    created_at=now,
                    updated_at=now,
                    next_at=now,
                    alert_id=alert.id,
                    rule=alert.rule.id,
                )
                period = sub.throttle.period if sub.throttle else 0
                scope = throttle_scope(sub, alert) if sub.throttle else "-"
                keys = [
                    self.keys.delivery(delivery_id),
                    self.keys.deliveries_due,
                    self.keys.delivery_lane(sub.endpoint),
                    self.keys.subscription_deliveries(sub.id),
                    self.keys.throttle(sub.id, scope),
                ]
                args = [
                    f"{now:.3f}",
                    delivery_id,
                    sub.endpoint,
                    str(period),
                    cutoff,
                    *_flat(record.to_hash()),
                ]
                calls.append((keys, args))

            def build(pipe: Any, first: bool = start == 0, calls: list[Any] = calls) -> None:
                if first:
                    # Kept as long as a finished delivery, so redelivering one still finds its alert;
                    # sent ahead of the deliveries in the same round trip, so none is due without it.
                    pipe.set(self.keys.alert_payload(alert.id), alert.model_dump_json(), ex=self.retention)
                for keys, args in calls:
                    self._enqueue.queue(pipe, keys, args)

            # With WAIT on, the alert is acknowledged only once replicas have its deliveries.
            replies = await run_pipeline(
                self.redis, build, [self._enqueue], durable=(self.durability, self.keys.deliveries_due)
            )
            results += [int(r) for r in (replies[1:] if start == 0 else replies)]
            if on_chunk is not None and 1 in results[start:]:
                on_chunk()
        return results

    async def enqueue(self, alert: Alert, sub: Subscription, *, now: float | None = None) -> str | None:
        """Create one delivery; its id, or None if it existed already or was throttled."""
        (result,) = await self.enqueue_many(alert, [sub], now=now)
        return delivery_id_for(alert.id, sub.id) if result == 1 else None

    async def take(
        self,
        limit: int,
        lease: float,
        *,
        per_endpoint: int,
        busy: Mapping[str, int],
        now: float | None = None,
    ) -> Batch:
        """Lease up to ``limit`` due deliveries, at most ``per_endpoint`` minus ``busy[endpoint]`` per endpoint.

        ``per_endpoint`` holds over every worker of the deployment: attempts in
        flight anywhere count against it (``busy`` is this worker's own share).
        """
        now = time.time() if now is None else now
        until = f"{now + lease:.3f}"
        stamp = f"{now:.3f}"
        # Read which endpoints are due and their due deliveries, so that the script that leases
        # them can declare every key it touches (a cluster requires it); it checks each again.
        # Endpoints saturated by other workers are skipped there: look a little further than
        # this worker's own, a bounded cost however many endpoints are busy.
        endpoints = [
            str(ep)
            for ep in await self.redis.zrangebyscore(
                self.keys.deliveries_due, "-inf", stamp, start=0, num=limit + len(busy) + 32
            )
        ]
        candidates: list[list[str]] = []
        if endpoints:
            async with self.redis.pipeline(transaction=False) as pipe:
                for ep in endpoints:
                    pipe.zrangebyscore(
                        self.keys.delivery_lane(ep), "-inf", stamp, start=0, num=min(limit, per_endpoint)
                    )
                candidates = [[str(i) for i in ids] for ids in await pipe.execute()]
        keys = [self.keys.deliveries_due, self.keys.subscriptions_version]
        args = [stamp, until, str(limit), str(per_endpoint), str(len(endpoints))]
        for ep in endpoints:
            keys += [self.keys.delivery_lane(ep), self.keys.delivery_flight(ep)]
        for ep, ids in zip(endpoints, candidates, strict=True):
            keys += [self.keys.delivery(i) for i in ids]
            mine = busy.get(ep)
            args += [ep, str(-1 if mine is None else max(per_endpoint - mine, 0)), str(len(ids)), *ids]
        version, next_due, items = await self._take(keys=keys, args=args)
        records = [
            DeliveryRecord.from_hash({flat[i]: flat[i + 1] for i in range(0, len(flat), 2)})
            for _, _, flat in items
        ]
        # The alerts, by the ids the records name (digests carry their alerts in the record).
        alert_ids = [r.alert_id if r is not None and r.alert_id else None for r in records]
        wanted = [self.keys.alert_payload(a) for a in alert_ids if a]
        found = iter(await self._get_many(wanted)) if wanted else iter(())
        alerts = [next(found) if a else None for a in alert_ids]
        taken = [
            Taken(str(delivery_id), str(endpoint), until, record, str(alert) if alert else None)
            for (delivery_id, endpoint, _), record, alert in zip(items, records, alerts, strict=True)
        ]
        return Batch(taken, None if not next_due else float(next_due), int(version))

    async def _get_many(self, keys: list[str]) -> list[str | None]:
        """GET of each key in one round trip (a pipeline: on a cluster MGET needs one slot)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.get(key)
            return list(await pipe.execute())

    async def count_active(self) -> int:
        """Deliveries due or in flight, over every endpoint."""
        # Two reads instead of a script: each lane's key is named by the client, as a cluster wants.
        endpoints = await self.redis.zrange(self.keys.deliveries_due, 0, -1)
        if not endpoints:
            return 0
        async with self.redis.pipeline(transaction=False) as pipe:
            for endpoint in endpoints:
                pipe.zcard(self.keys.delivery_lane(str(endpoint)))
            return sum(int(n) for n in await pipe.execute())

    async def count_dead(self) -> int:
        """Deliveries that are dead letters now (not those redelivered since with success)."""
        return int(await self.redis.zcard(self.keys.deliveries_dead_now))

    async def get(self, delivery_id: str) -> DeliveryRecord | None:
        return DeliveryRecord.from_hash(await self.redis.hgetall(self.keys.delivery(delivery_id)))

    async def attempts(self, delivery_id: str) -> list[Attempt]:
        raw = await self.redis.lrange(self.keys.delivery_attempts(delivery_id), 0, -1)
        return [Attempt.from_json(x) for x in raw]

    async def settle(self, taken: Taken | None, delivery_id: str, endpoint: str, outcome: Outcome) -> str:
        """Record an attempt's outcome; 'ok', or why it changed nothing ('stale', 'kept', 'gone')."""
        fields = {"status": outcome.status, "attempts": str(outcome.attempts)}
        if outcome.changes is not None:
            fields.update(outcome.changes.to_hash())
        reply = await self._settle(
            keys=[
                self.keys.delivery(delivery_id),
                self.keys.deliveries_due,
                self.keys.delivery_lane(endpoint),
                self.keys.delivery_attempts(delivery_id),
                self.keys.deliveries_dead,
                self.keys.deliveries_dead_now,
                self.keys.delivery_flight(endpoint),
            ],
            args=[
                delivery_id,
                endpoint,
                taken.lease if taken is not None else "",
                "" if outcome.next_at is None else f"{outcome.next_at:.3f}",
                outcome.status,
                "" if outcome.log is None else outcome.log.to_json(),
                str(self.retention),
                str(DEAD_LETTER_MAXLEN),
                fields.get("last_error", ""),
                f"{time.time():.3f}",
                *_flat(fields),
            ],
        )
        return str(reply)

    async def redeliver(self, delivery_id: str, *, now: float | None = None) -> str:
        """Attempt a delivery again now: 'ok', 'missing' or 'in_flight'."""
        now = time.time() if now is None else now
        endpoint = await self.redis.hget(self.keys.delivery(delivery_id), "endpoint")
        if endpoint is None:
            return "missing"
        reply = await self._redeliver(
            keys=[
                self.keys.delivery(delivery_id),
                self.keys.deliveries_due,
                self.keys.delivery_lane(str(endpoint)),
                self.keys.delivery_attempts(delivery_id),
            ],
            args=[f"{now:.3f}", delivery_id, str(endpoint)],
        )
        return str(reply)

    async def for_subscription(
        self, subscription_id: str, *, limit: int, cursor: str | None = None
    ) -> tuple[list[tuple[DeliveryRecord, list[Attempt]]], str | None]:
        """A page of a subscription's delivery log, newest first, and the cursor of the next page.

        The cursor is ``score~id`` of the last item shown, so deliveries created
        in the same millisecond are neither skipped nor shown twice.
        """
        key = self.keys.subscription_deliveries(subscription_id)
        top, after_id = "+inf", None
        if cursor is not None:
            score, _, after_id = cursor.partition("~")
            top = score
        raw: list[Any] = await self.redis.zrevrangebyscore(
            key, top, "-inf", start=0, num=limit + 65, withscores=True
        )
        rows = [(str(m), float(sc)) for m, sc in raw]
        if cursor is not None:
            rows = [(m, sc) for m, sc in rows if f"{sc:.3f}" != top or m < str(after_id)]
        page, more = rows[:limit], len(rows) > limit
        out = []
        async with self.redis.pipeline(transaction=False) as pipe:
            for delivery_id, _ in page:
                pipe.hgetall(self.keys.delivery(delivery_id))
                pipe.lrange(self.keys.delivery_attempts(delivery_id), 0, -1)
            replies = await pipe.execute()
        expired = []
        for (delivery_id, _), stored, log in zip(page, replies[::2], replies[1::2], strict=True):
            record = DeliveryRecord.from_hash(stored)
            if record is None:
                expired.append(delivery_id)
                continue
            out.append((record, [Attempt.from_json(x) for x in log]))
        if expired:  # finished deliveries past their retention: drop them from the index too
            await self.redis.zrem(key, *expired)
        next_cursor = f"{page[-1][1]:.3f}~{page[-1][0]}" if more and page else None
        return out, next_cursor

    async def drop_index(self, subscription_ids: Iterable[str]) -> None:
        keys = [self.keys.subscription_deliveries(s) for s in subscription_ids]
        if keys:
            await self.redis.unlink(*keys)
