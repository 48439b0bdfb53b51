"""Each feed's polling state, in Redis so that every poller (and the API) shares it.

The state is a hash per feed; the lease is a key held by the poller that
fetched the feed until the feed is due again, so a fleet of pollers fetches
each feed once per interval (or once per back-off delay after a failure).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from service.keys import Keys
from service.lua import Script


@dataclass(frozen=True)
class Backoff:
    """When to poll a feed again after a run."""

    failing_after: int = 5  # consecutive failures that mark a feed failing
    max_delay: float = 3600.0  # the longest back-off of a feed that is not failing
    failing_delay: float = 6 * 3600.0  # how rarely a failing feed is still tried

    def delay(self, interval: float, consecutive_errors: int, retry_after: float | None = None) -> float:
        if consecutive_errors == 0:
            return interval
        if retry_after is not None:
            # The server said when; honour it (bounded, a hostile value must not park a feed for ever).
            return max(interval, min(retry_after, self.failing_delay))
        if consecutive_errors >= self.failing_after:
            return max(interval, self.failing_delay)
        return max(interval, min(interval * 2.0**consecutive_errors, self.max_delay))

    def failing(self, consecutive_errors: int) -> bool:
        return consecutive_errors >= self.failing_after


@dataclass
class FeedState:
    name: str
    status: str = "never fetched"  # ok | not modified | error | failing
    url: str | None = None  # the URL last fetched (validators belong to it)
    last_fetch: float | None = None
    last_success: float | None = None
    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    items_seen: int = 0  # items read over all fetches
    new_articles: int = 0  # of which were new (not duplicates)
    consecutive_errors: int = 0
    last_error: str | None = None
    warning: str | None = None
    next_run: float | None = None

    _INTS = ("http_status", "items_seen", "new_articles", "consecutive_errors")
    _FLOATS = ("last_fetch", "last_success", "next_run")

    @classmethod
    def from_hash(cls, name: str, raw: dict[str, str]) -> FeedState:
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if key in cls._INTS:
                values[key] = int(value)
            elif key in cls._FLOATS:
                values[key] = float(value)
            elif key in cls.__dataclass_fields__ and key != "name":
                values[key] = value
        return cls(name=name, **values)

    def as_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if not k.startswith("_")}


class FeedStore:
    def __init__(self, redis: Redis, keys: Keys, owner: str) -> None:
        self.redis, self.keys, self.owner = redis, keys, owner
        # A run starts with one call (lease + state) and ends with another (outcome + lease).
        self._reset = Script("feed_reset_lease", redis)
        self._acquire = Script("feed_acquire", redis)
        self._record = Script("feed_record", redis)

    async def get(self, name: str) -> FeedState:
        raw = await self.redis.hgetall(self.keys.feed_state(name))
        return FeedState.from_hash(name, {str(k): str(v) for k, v in raw.items()})

    async def get_many(self, names: list[str]) -> list[FeedState]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hgetall(self.keys.feed_state(name))
            raws = await pipe.execute()
        return [FeedState.from_hash(n, r) for n, r in zip(names, raws, strict=True)]

    async def acquire(self, name: str, hold: float) -> FeedState | None:
        """Take the feed's lease for ``hold`` seconds, and read its state; None when another poller holds it."""
        keys = [self.keys.feed_lease(name), self.keys.feed_state(name)]
        raw = await self._acquire(keys=keys, args=[self.owner, _ms(hold)])
        if raw is None:
            return None
        return FeedState.from_hash(name, {str(k): str(v) for k, v in zip(raw[::2], raw[1::2], strict=True)})

    async def release(self, name: str) -> None:
        await self._reset(keys=[self.keys.feed_lease(name)], args=[self.owner, 1])

    async def record(
        self,
        name: str,
        *,
        fields: dict[str, str | int | float | None],
        items: int = 0,
        new: int = 0,
        hold: float | None = None,
    ) -> None:
        """Update the feed's state: set ``fields`` (None deletes), add to the counters.

        With ``hold``, the lease (if still ours) is then held for that many seconds, in the same step.
        """
        setting = [x for k, v in fields.items() if v is not None for x in (k, str(v))]
        clearing = [k for k, v in fields.items() if v is None]
        await self._record(
            keys=[self.keys.feed_state(name), self.keys.feed_lease(name)],
            args=[
                self.owner,
                "" if hold is None else _ms(hold),
                items,
                new,
                len(setting) // 2,
                *setting,
                *clearing,
            ],
        )

    async def count_error(self, name: str) -> int:
        return int(await self.redis.hincrby(self.keys.feed_state(name), "consecutive_errors", 1))


def now() -> float:
    return time.time()


def _ms(seconds: float) -> int:
    return max(int(seconds * 1000), 1)
