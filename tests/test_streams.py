"""Consumer groups: at-least-once processing that survives dead consumers, poison entries and lost groups."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

from redis.asyncio import Redis

from service.consumer import ConsumerOptions, Entry, GroupConsumer, Unprocessable
from service.durability import NotReplicated
from service.embedded_redis import RedisServer
from service.streams import Trim, publish, publish_unique
from tests.helpers import wait_until

TRIM = Trim("maxlen", 10_000)


def consumer(
    redis: Redis, prefix: str, name: str, handler: Callable[[Entry], object], **options: int
) -> GroupConsumer:
    async def handle(entry: Entry) -> None:
        result = handler(entry)
        if asyncio.iscoroutine(result):
            await result

    return GroupConsumer(
        redis,
        f"{prefix}s",
        "g",
        name,
        handle,
        dead_letter=f"{prefix}s:dead",
        options=ConsumerOptions(block_ms=50, **options),
    )


async def test_publish_unique_appends_a_key_only_once(redis: Redis, key_prefix: str) -> None:
    first = await publish_unique(
        redis, f"{key_prefix}s", {"data": "x"}, TRIM, dedupe_keys=[f"{key_prefix}k"], ttl_seconds=60
    )
    second = await publish_unique(
        redis, f"{key_prefix}s", {"data": "x"}, TRIM, dedupe_keys=[f"{key_prefix}k"], ttl_seconds=60
    )
    assert first.entry_id is not None
    assert second.entry_id is None
    assert await redis.xlen(f"{key_prefix}s") == 1


async def test_maxlen_trimming_bounds_the_stream(redis: Redis, key_prefix: str) -> None:
    for i in range(500):
        await publish(redis, f"{key_prefix}s", {"data": str(i)}, Trim("maxlen", 100))
    # Approximate trimming removes whole nodes: bounded, if not exactly 100.
    assert 100 <= await redis.xlen(f"{key_prefix}s") < 250


async def test_minid_trimming_drops_entries_older_than_the_retention(redis: Redis, key_prefix: str) -> None:
    stream = f"{key_prefix}s"
    for i in range(300):
        await redis.xadd(stream, {"data": str(i)}, id=f"{1000 + i}-0")  # entries from 1970
    await publish(redis, stream, {"data": "new"}, Trim("minid", retention_seconds=3600))
    assert await redis.xlen(stream) < 301


async def test_a_consumer_restarting_first_handles_its_own_pending_entries(
    redis: Redis, key_prefix: str
) -> None:
    handled: list[str] = []
    stop = asyncio.Event()
    c = consumer(redis, key_prefix, "c1", lambda e: handled.append(e.data))
    await c.ensure_group()
    await publish(redis, f"{key_prefix}s", {"data": "left pending"}, TRIM)
    await redis.xreadgroup("g", "c1", {f"{key_prefix}s": ">"})  # read, then "crashed" before the ack
    await publish(redis, f"{key_prefix}s", {"data": "new"}, TRIM)

    await c.run(stop, burst=True)

    assert handled == ["left pending", "new"]
    assert (await redis.xpending(f"{key_prefix}s", "g"))["pending"] == 0


async def test_entries_of_a_dead_consumer_are_taken_over(redis: Redis, key_prefix: str) -> None:
    stream = f"{key_prefix}s"
    survivor_handled: list[str] = []
    stop = asyncio.Event()
    survivor = consumer(
        redis, key_prefix, "survivor", lambda e: survivor_handled.append(e.data), claim_idle_ms=100
    )
    await survivor.ensure_group()
    for i in range(5):
        await publish(redis, stream, {"data": str(i)}, TRIM)
    await redis.xreadgroup("g", "dead", {stream: ">"})  # read all five and never acked

    task = asyncio.create_task(survivor.run(stop))
    await wait_until(lambda: len(survivor_handled) == 5)
    stop.set()
    await task

    assert sorted(survivor_handled) == ["0", "1", "2", "3", "4"]
    assert survivor.stats.reclaimed == 5
    assert (await redis.xpending(stream, "g"))["pending"] == 0


async def test_two_consumers_in_a_group_process_each_entry_once(
    redis: Redis, redis_server_url: str, key_prefix: str
) -> None:
    stream = f"{key_prefix}s"
    seen: Counter[str] = Counter()
    by_consumer: Counter[str] = Counter()
    stop = asyncio.Event()

    def recorder(name: str) -> Callable[[Entry], None]:
        def record(entry: Entry) -> None:
            seen[entry.data] += 1
            by_consumer[name] += 1

        return record

    other = Redis.from_url(redis_server_url, decode_responses=True)
    consumers = [
        consumer(redis, key_prefix, "m1", recorder("m1"), batch=8),
        consumer(other, key_prefix, "m2", recorder("m2"), batch=8),
    ]
    await consumers[0].ensure_group()
    tasks = [asyncio.create_task(c.run(stop)) for c in consumers]
    for i in range(500):
        await publish(redis, stream, {"data": f"article-{i}"}, TRIM)
    await wait_until(lambda: sum(seen.values()) >= 500)
    stop.set()
    await asyncio.gather(*tasks)
    await other.aclose()

    assert len(seen) == 500
    assert set(seen.values()) == {1}
    assert by_consumer["m1"] > 0
    assert by_consumer["m2"] > 0


async def test_a_poison_entry_is_dead_lettered_and_entries_behind_it_flow(
    redis: Redis, key_prefix: str
) -> None:
    stream = f"{key_prefix}s"
    good: list[str] = []
    poison_attempts = 0
    stop = asyncio.Event()

    def handle(entry: Entry) -> None:
        nonlocal poison_attempts
        if entry.data == "poison":
            poison_attempts += 1
            raise RuntimeError("cannot handle this one")
        good.append(entry.data)

    c = consumer(redis, key_prefix, "c", handle, claim_idle_ms=50, max_deliveries=3)
    await c.ensure_group()
    await publish(redis, stream, {"data": "poison"}, TRIM)
    for i in range(3):
        await publish(redis, stream, {"data": f"good-{i}"}, TRIM)

    task = asyncio.create_task(c.run(stop))
    await wait_until(lambda: c.stats.dead_lettered == 1)
    stop.set()
    await task

    assert good == ["good-0", "good-1", "good-2"]
    assert poison_attempts == 3
    dead = await redis.xrange(f"{stream}:dead")
    assert len(dead) == 1
    assert dead[0][1]["data"] == "poison"
    assert dead[0][1]["deliveries"] == "4"
    assert (await redis.xpending(stream, "g"))["pending"] == 0


async def test_an_unprocessable_entry_is_dead_lettered_at_once(redis: Redis, key_prefix: str) -> None:
    def handle(entry: Entry) -> None:
        if entry.data == "garbage":
            raise Unprocessable("not JSON")

    c = consumer(redis, key_prefix, "c", handle, max_deliveries=5)
    await c.ensure_group()
    await publish(redis, f"{key_prefix}s", {"data": "garbage"}, TRIM)
    await c.run(asyncio.Event(), burst=True)

    dead = await redis.xrange(f"{key_prefix}s:dead")
    assert [d[1]["reason"] for d in dead] == ["not JSON"]


async def test_a_group_lost_with_redis_data_is_recreated(own_redis: Callable[..., RedisServer]) -> None:
    server = own_redis(appendonly=False)
    redis = Redis.from_url(server.url, decode_responses=True)
    handled: list[str] = []
    stop = asyncio.Event()
    c = consumer(redis, "x:", "c", lambda e: handled.append(e.data))
    task = asyncio.create_task(c.run(stop))
    await publish(redis, "x:s", {"data": "before"}, TRIM)
    await wait_until(lambda: handled == ["before"])

    await redis.flushall()  # as if Redis restarted empty
    await publish(redis, "x:s", {"data": "after"}, TRIM)
    await wait_until(lambda: handled == ["before", "after"])
    stop.set()
    await task
    await redis.aclose()

    assert c.stats.group_recreated >= 1


async def test_a_consumer_survives_redis_going_away_and_coming_back(
    own_redis: Callable[..., RedisServer],
) -> None:
    server = own_redis(appendonly=True, appendfsync="always")
    redis = Redis.from_url(server.url, decode_responses=True, socket_timeout=2, socket_connect_timeout=1)
    handled: list[str] = []
    stop = asyncio.Event()
    c = consumer(redis, "x:", "c", lambda e: handled.append(e.data))
    task = asyncio.create_task(c.run(stop))
    await publish(redis, "x:s", {"data": "before"}, TRIM)
    await wait_until(lambda: handled == ["before"])

    await asyncio.to_thread(server.stop)
    await wait_until(lambda: c.stats.connection_errors > 0)
    await asyncio.to_thread(server.start)
    await publish(redis, "x:s", {"data": "after"}, TRIM)
    await wait_until(lambda: handled == ["before", "after"], timeout=20)
    stop.set()
    await task
    await redis.aclose()

    assert not task.cancelled()


async def test_an_entry_failing_only_on_outages_is_never_dead_lettered(redis: Redis, key_prefix: str) -> None:
    """A failover can leave the new primary without a replica for a while: WAIT falls short again
    and again. Those deliveries say nothing against the entry, however many there are."""
    stream = f"{key_prefix}s"
    outages = 0
    handled: list[str] = []
    stop = asyncio.Event()

    def handle(entry: Entry) -> None:
        nonlocal outages
        if entry.data == "alert" and outages < 5:
            outages += 1
            raise NotReplicated("0 of 1 replicas confirmed the write")
        handled.append(entry.data)

    c = consumer(redis, key_prefix, "c", handle, claim_idle_ms=50, max_deliveries=2)
    await c.ensure_group()
    await publish(redis, stream, {"data": "alert"}, TRIM)
    await publish(redis, stream, {"data": "behind"}, TRIM)
    task = asyncio.create_task(c.run(stop))
    await wait_until(lambda: sorted(handled) == ["alert", "behind"], timeout=20)
    stop.set()
    await task
    assert outages == 5
    assert c.stats.dead_lettered == 0
    assert await redis.xlen(f"{stream}:dead") == 0
