"""Hourly counters: alerts per rule and new articles per feed, for the console's counts and sparklines.

Scanning the streams for these figures would read every alert and article
they hold on each page view; a counter per hour costs one HINCRBY when
something happens and one HMGET of at most a week of hours when asked.
Counts are advisory: they are bumped after the append, so a crash between
the two may miss one.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable

from redis.asyncio import Redis

from service.keys import Keys

HOUR = 3600
KEEP_SECONDS = 8 * 86400  # a week of hours, and a day to spare


def hour_of(at: float) -> int:
    return int(at // HOUR)


async def _bump(redis: Redis, counts: Counter[str], key_of: dict[str, str], at: float | None) -> None:
    hour = str(hour_of(time.time() if at is None else at))
    async with redis.pipeline(transaction=False) as pipe:
        for name, n in counts.items():
            pipe.hincrby(key_of[name], hour, n)
            pipe.expire(key_of[name], KEEP_SECONDS)
        await pipe.execute()


async def count_alerts(redis: Redis, keys: Keys, rule_ids: Iterable[str], at: float | None = None) -> None:
    counts = Counter(rule_ids)
    await _bump(redis, counts, {r: keys.rule_activity(r) for r in counts}, at)


async def count_feed_articles(redis: Redis, keys: Keys, feed: str, new: int, at: float | None = None) -> None:
    if new > 0:
        await _bump(redis, Counter({feed: new}), {feed: keys.feed_activity(feed)}, at)


async def hourly(redis: Redis, keys: list[str], hours: int, now: float | None = None) -> list[list[int]]:
    """For each key, the counts of the last ``hours`` hours, oldest first (the current hour last)."""
    last = hour_of(time.time() if now is None else now)
    fields = [str(h) for h in range(last - hours + 1, last + 1)]
    async with redis.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.hmget(key, fields)
        replies = await pipe.execute()
    return [[int(v or 0) for v in reply] for reply in replies]
