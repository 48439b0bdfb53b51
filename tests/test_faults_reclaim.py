"""Reclaim races: consumers taking over idle entries at the same time never both process one."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

import pytest
from redis.asyncio import Redis

from service.consumer import ConsumerOptions, Entry, GroupConsumer
from service.streams import Trim, publish
from tests.helpers import wait_until

pytestmark = pytest.mark.slow
TRIM = Trim("maxlen", 100_000)


def reclaimer(
    redis: Redis, stream: str, name: str, handled: Counter[str], delay: float = 0.0, idle_ms: int = 500
) -> GroupConsumer:
    async def handle(entry: Entry) -> None:
        handled[entry.data] += 1
        if delay:
            await asyncio.sleep(delay)  # stands for slow work

    return GroupConsumer(
        redis,
        stream,
        "g",
        name,
        handle,
        dead_letter=f"{stream}:dead",
        options=ConsumerOptions(block_ms=20, claim_idle_ms=idle_ms, batch=16, max_deliveries=50),
    )


async def test_concurrent_reclaimers_never_process_an_entry_twice(
    redis: Redis, redis_server_url: str, key_prefix: str
) -> None:
    stream = f"{key_prefix}s"
    handled: Counter[str] = Counter()
    clients = [Redis.from_url(redis_server_url, decode_responses=True) for _ in range(3)]
    consumers = [reclaimer(c, stream, f"r{i}", handled) for i, c in enumerate(clients)]
    await consumers[0].ensure_group()
    stop = asyncio.Event()
    tasks = [asyncio.create_task(c.run(stop)) for c in consumers]
    total = 0
    for round_no in range(20):
        # Each round a consumer reads 50 entries and dies; the others race to take them over.
        # One transaction, so the running consumers cannot read the entries first.
        async with redis.pipeline(transaction=True) as pipe:
            for i in range(50):
                pipe.xadd(stream, {"data": f"{round_no}-{i}"})
            pipe.xreadgroup("g", f"dead-{round_no}", {stream: ">"}, count=50)
            await pipe.execute()
        total += 50
    await wait_until(lambda: sum(handled.values()) >= total, timeout=60)
    stop.set()
    await asyncio.gather(*tasks)
    for client in clients:
        await client.aclose()

    assert len(handled) == total
    assert max(handled.values()) == 1
    assert sum(c.stats.reclaimed for c in consumers) > 0
    assert (await redis.xpending(stream, "g"))["pending"] == 0


async def test_handling_longer_than_the_idle_time_is_detected_and_reported(
    redis: Redis, redis_server_url: str, key_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    stream = f"{key_prefix}s"
    handled: Counter[str] = Counter()
    other_client = Redis.from_url(redis_server_url, decode_responses=True)
    slow = reclaimer(redis, stream, "slow", handled, delay=0.4, idle_ms=100)
    fast = reclaimer(other_client, stream, "fast", handled, idle_ms=100)
    await slow.ensure_group()
    await publish(redis, stream, {"data": "long job"}, TRIM)
    stop = asyncio.Event()
    slow_task = asyncio.create_task(slow.run(stop))
    await wait_until(lambda: handled["long job"] == 1)
    fast_task = asyncio.create_task(fast.run(stop))  # takes the entry over while "slow" still works on it
    await wait_until(lambda: slow.stats.overran == 1, timeout=10)
    stop.set()
    await asyncio.gather(slow_task, fast_task)
    await other_client.aclose()

    assert handled["long job"] == 2  # the double processing the warning is about
    assert any(
        "raise GEOALERT_CLAIM_IDLE_MS" in r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING
    )
