"""Concurrency limits shared by every process of a deployment, kept in Redis.

A per-process semaphore lets N processes send N times the limit to one host.
Here each attempt takes a slot in a sorted set per host (holder -> lease
expiry), in one script that also drops expired leases, so the limit holds
across the fleet, and a process killed while holding slots gives them back
when their leases run out. While every slot is taken the caller waits,
polling with back-off; if Redis cannot be reached the caller goes ahead under
its own process's limit rather than stall (a limit is politeness, not safety).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import AsyncIterator

from redis.asyncio import Redis

from service.keys import Keys
from service.lua import Script
from service.streams import TRANSIENT_ERRORS

log = logging.getLogger(__name__)


class FleetLimit:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        kind: str,
        *,
        lease_seconds: float,
        poll: tuple[float, float] = (0.02, 0.5),
    ) -> None:
        self.redis, self.keys, self.kind = redis, keys, kind
        self.lease_ms = max(1, round(lease_seconds * 1000))
        self.poll = poll
        self._acquire = Script("limit_acquire", redis)

    @contextlib.asynccontextmanager
    async def slot(self, name: str, limit: int) -> AsyncIterator[None]:
        """Hold one of ``limit`` fleet-wide slots of ``name`` (a host) for the body of the block."""
        key = self.keys.limit(self.kind, name)
        holder = uuid.uuid4().hex
        held = await self._take(key, holder, limit)
        try:
            yield
        finally:
            if held:
                with contextlib.suppress(*TRANSIENT_ERRORS):
                    await self.redis.zrem(key, holder)

    async def _take(self, key: str, holder: str, limit: int) -> bool:
        delay = self.poll[0]
        while True:
            try:
                if await self._acquire([key], [holder, limit, self.lease_ms]):
                    return True
            except TRANSIENT_ERRORS as exc:
                log.debug("fleet-wide limit %s not checked (%s); going ahead under this process's", key, exc)
                return False
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, self.poll[1])
