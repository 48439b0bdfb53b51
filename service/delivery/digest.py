"""Email digests: gather a period's alerts per subscription, then send them as one delivery.

An alert for a digest subscription goes into the buffer of the period it
arrived in (UTC hours or days). A cron job (APScheduler) turns every buffer
whose period has ended into one ordinary delivery, so retries, dead letters
and the delivery log work for digests as for single alerts. Buffers live in
Redis and are listed in a set, so a flush after downtime still sends the
periods that ended meanwhile; turning a buffer into a delivery is one atomic
step (a crash leaves either the buffer or the delivery, never neither).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from redis.asyncio import Redis

from service.delivery.queue import throttle_scope
from service.delivery.record import DeliveryRecord
from service.durability import NO_WAIT, Durability
from service.keys import Keys
from service.lua import Script, run_pipeline
from service.models import Alert, stable_id
from service.subscriptions import DigestMode, Subscription

log = logging.getLogger(__name__)

PERIOD_SECONDS: dict[str, int] = {"hourly": 3600, "daily": 86400}
SEEN_TTL = 3 * 86400  # longer than any period: a redelivered alert is not gathered twice


def period_start(mode: DigestMode, now: float) -> int:
    length = PERIOD_SECONDS[mode]
    return int(now // length) * length


def describe_period(mode: str, start: int) -> str:
    when = datetime.fromtimestamp(start, UTC)
    return f"{mode} {when:%Y-%m-%d}" if mode == "daily" else f"{mode} {when:%Y-%m-%d %H:00} UTC"


class Digests:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        lookup: Callable[[str], Awaitable[Subscription | None]],
        *,
        retention_seconds: int = 30 * 86400,
        durability: Durability = NO_WAIT,
    ) -> None:
        self.durability = durability
        self.redis = redis
        self.keys = keys
        self.lookup = lookup
        self.retention = retention_seconds
        self._gather = Script("digest_gather", redis)
        self._flush = Script("digest_flush", redis)

    async def gather(self, alert: Alert, sub: Subscription, *, now: float | None = None) -> int:
        """Add ``alert`` to the subscription's current digest: 1 added, 0 already there, -1 throttled."""
        now = time.time() if now is None else now
        assert sub.digest != "immediate"
        start = period_start(sub.digest, now)
        period = sub.throttle.period if sub.throttle else 0
        scope = throttle_scope(sub, alert) if sub.throttle else "-"
        keys, args = (
            [
                self.keys.digest(sub.id, start),
                self.keys.digests_open,
                self.keys.throttle(sub.id, scope),
                self.keys.digest_seen(sub.id, alert.id),
            ],
            [
                f"{now:.3f}",
                str(period),
                alert.id,
                alert.model_dump_json(),
                f"{sub.id}|{sub.digest}|{start}",
                SEEN_TTL,
            ],
        )
        if self.durability.waits:  # the alert is acknowledged only once replicas have it gathered
            (reply,) = await run_pipeline(
                self.redis,
                lambda pipe: self._gather.queue(pipe, keys, args),
                [self._gather],
                durable=(self.durability, keys[0]),
            )
        else:
            reply = await self._gather(keys, args)
        return int(reply)

    async def flush_due(self, *, now: float | None = None) -> int:
        """Turn every buffer whose period has ended into a delivery; returns how many were made."""
        now = time.time() if now is None else now
        made = 0
        for member in sorted(await self.redis.smembers(self.keys.digests_open)):
            sub_id, mode, start_text = str(member).rsplit("|", 2)
            start = int(start_text)
            if start + PERIOD_SECONDS.get(mode, 0) > now:
                continue  # still open
            if await self._flush_one(str(member), sub_id, mode, start, now):
                made += 1
        return made

    async def _open(self, sub_id: str) -> list[tuple[str, str, int]]:
        """The subscription's buffers not yet sent: (open-set member, mode, period start), oldest first."""
        out = []
        for member in sorted(await self.redis.smembers(self.keys.digests_open)):
            owner, mode, start_text = str(member).rsplit("|", 2)
            if owner == sub_id:
                out.append((str(member), mode, int(start_text)))
        return out

    async def pending(self, sub_id: str) -> list[tuple[str, list[dict[str, Any]]]]:
        """What the subscription's next digests hold so far: (period, alerts oldest first) per buffer."""
        out = []
        for _, mode, start in await self._open(sub_id):
            raw = await self.redis.hgetall(self.keys.digest(sub_id, start))
            alerts = sorted((json.loads(v) for v in raw.values()), key=lambda a: str(a.get("created_at", "")))
            out.append((describe_period(mode, start), alerts))
        return out

    async def flush_now(self, sub_id: str, *, now: float | None = None) -> int:
        """Send the subscription's open digests now, before their periods end; how many were queued.

        The rest of the period starts a new buffer, sent when the period ends as usual.
        """
        now = time.time() if now is None else now
        made = 0
        for member, mode, start in await self._open(sub_id):
            if await self._flush_one(member, sub_id, mode, start, now, early=True):
                made += 1
        return made

    async def _flush_one(
        self, member: str, sub_id: str, mode: str, start: int, now: float, *, early: bool = False
    ) -> bool:
        buffer = self.keys.digest(sub_id, start)
        raw = await self.redis.hgetall(buffer)
        sub = await self.lookup(sub_id)
        if sub is None or sub.email is None:
            log.info("digest %s: subscription gone or no longer email; dropping %d alerts", member, len(raw))
            await self.redis.delete(buffer)
            await self.redis.srem(self.keys.digests_open, member)
            return False
        alerts = sorted((json.loads(v) for v in raw.values()), key=lambda a: str(a.get("created_at", "")))
        delivery_id = stable_id("digest", sub_id, mode, str(start))
        if early:  # another flush of this period may follow: it must make a delivery of its own
            delivery_id = stable_id("digest", sub_id, mode, str(start), "early", f"{now:.6f}")
        record = DeliveryRecord(
            id=delivery_id,
            subscription=sub.id,
            channel=sub.channel,
            endpoint=sub.endpoint,
            kind="digest",
            period=describe_period(mode, start),
            rule=",".join(sorted({str(a.get("rule", {}).get("id", "")) for a in alerts})),
            alerts=json.dumps(alerts, separators=(",", ":")),
            created_at=now,
            updated_at=now,
            next_at=now,
        )
        reply = await self._flush(
            keys=[
                buffer,
                self.keys.digests_open,
                self.keys.delivery(delivery_id),
                self.keys.deliveries_due,
                self.keys.delivery_lane(sub.endpoint),
                self.keys.subscription_deliveries(sub.id),
            ],
            args=[
                member,
                str(len(raw)),
                f"{now:.3f}",
                delivery_id,
                sub.endpoint,
                f"{now - self.retention:.3f}",
                *[x for kv in record.to_hash().items() for x in kv],
            ],
        )
        if reply != "ok":
            log.info("digest %s changed while being flushed; next run takes it", member)
            return False
        log.info("digest %s: %d alerts queued as delivery %s", member, len(alerts), delivery_id)
        return bool(alerts)


def schedule_flushes(digests: Digests, on_flush: Callable[[], None]) -> AsyncIOScheduler:
    """A cron job a few seconds past every hour (daily periods end on an hour too)."""

    async def job() -> None:
        try:
            if await digests.flush_due():
                on_flush()
        except Exception:
            log.exception("digest flush failed; the next run retries")

    scheduler = AsyncIOScheduler(timezone=UTC)
    # A busy loop must not make a run "misfire" and be skipped: late is fine, never is not.
    scheduler.add_job(
        job,
        CronTrigger(minute=0, second=5, timezone=UTC),
        id="digests",
        coalesce=True,
        misfire_grace_time=None,
    )
    scheduler.add_job(job, id="digests-at-start", misfire_grace_time=None)  # periods that ended while down
    scheduler.start()
    return scheduler
