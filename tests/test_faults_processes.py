"""Processes dying under load: every delivery still arrives, duplicates bounded by what was in flight."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from redis.asyncio import Redis

from notifiers.webhook import new_secret
from service.embedded_redis import RedisServer
from service.keys import ALERTS_GROUP, ARTICLES_GROUP, Keys
from service.streams import group_status
from tests.helpers import WebhookReceiver, wait_until
from tests.processes import Service, geoalert, service_env, summit_and_arms_article

pytestmark = pytest.mark.slow
PREFIX = "fault:"
ARTICLES = 2000
EXPECTED = ARTICLES * 2  # each article raises a leader_summit and an arms_deal alert
CONCURRENCY = 16  # delivery attempts in flight per dispatcher: the most a kill -9 can duplicate


class CountingReceiver(WebhookReceiver):
    """De-duplicates by webhook-id, as the Standard Webhooks spec asks receivers to."""

    def by_id(self) -> Counter[str]:
        return Counter(r.headers["webhook-id"] for r in self.received)


def fleet_env(tmp_path: Path, server: RedisServer, subscriptions: Path) -> dict[str, str]:
    return service_env(
        tmp_path,
        redis_url=server.url,
        key_prefix=PREFIX,
        subscriptions_file=str(subscriptions),
        webhook_allow_cidrs="127.0.0.0/8",
        claim_idle_ms="2000",
        delivery_lease_seconds="3",
        delivery_concurrency=str(CONCURRENCY),
        retry_schedule="0.5,1,2,5",
    )


async def ingest(redis: Redis, count: int) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        for n in range(count):
            pipe.xadd(Keys(PREFIX).articles, {"data": summit_and_arms_article(n)})
        await pipe.execute()


async def drained(redis: Redis) -> bool:
    articles = await group_status(redis, Keys(PREFIX).articles, ARTICLES_GROUP)
    alerts = await group_status(redis, Keys(PREFIX).alerts, ALERTS_GROUP)
    due = await redis.zcard(Keys(PREFIX).deliveries_due)
    return (articles["pending"], articles["lag"], alerts["pending"], alerts["lag"], due) == (0, 0, 0, 0, 0)


async def start_fleet(
    stack: AsyncExitStack, env: dict[str, str], cwd: Path, role: str, n: int
) -> list[Service]:
    fleet = [
        await stack.enter_async_context(geoalert("run", "--role", role, env=env, cwd=cwd)) for _ in range(n)
    ]
    await asyncio.gather(*(s.wait_log(f"running roles: {role}") for s in fleet))
    return fleet


@pytest.fixture
async def receiver() -> CountingReceiver:
    r = CountingReceiver()
    await r.start()
    yield r  # type: ignore[misc]
    await r.stop()


def subscriptions_file(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "subscriptions.yaml"
    path.write_text(
        f"subscriptions:\n  - name: ops\n    rules: ['*']\n    webhook: {{url: '{url}', secret: '{new_secret()}'}}\n"
    )
    return path


async def run_and_break(
    tmp_path: Path, server: RedisServer, receiver: CountingReceiver, *, kill: bool
) -> None:
    env = fleet_env(tmp_path, server, subscriptions_file(tmp_path, receiver.url))
    redis = Redis.from_url(server.url, decode_responses=True)
    async with AsyncExitStack() as first, AsyncExitStack() as second:
        matchers = await start_fleet(first, env, tmp_path, "matcher", 2)
        dispatchers = await start_fleet(first, env, tmp_path, "dispatcher", 2)
        await ingest(redis, ARTICLES)
        await wait_until(lambda: len(receiver.by_id()) >= EXPECTED // 4, timeout=120)

        if kill:  # half die at once, mid-run; the rest are stopped properly
            matchers[0].process.kill()
            dispatchers[0].process.kill()
            survivors = [matchers[1], dispatchers[1]]
        else:
            survivors = matchers + dispatchers
        codes = await asyncio.gather(*(s.terminate() for s in survivors))
        assert set(codes) == {0}

        await start_fleet(second, env, tmp_path, "matcher", 2)
        await start_fleet(second, env, tmp_path, "dispatcher", 2)
        await wait_until(lambda: len(receiver.by_id()) >= EXPECTED, timeout=180)
        await wait_until(lambda: drained(redis), timeout=60)
    await redis.aclose()


async def test_kill_9_of_half_the_fleet_loses_no_delivery(
    own_redis: Callable[..., RedisServer], tmp_path: Path, receiver: CountingReceiver
) -> None:
    server = own_redis(appendonly=True, appendfsync="everysec")
    await run_and_break(tmp_path, server, receiver, kill=True)

    counts = receiver.by_id()
    duplicates = sum(counts.values()) - len(counts)
    assert len(counts) == EXPECTED
    assert duplicates <= CONCURRENCY  # at most what the killed dispatcher had in flight


async def test_sigterm_alone_duplicates_nothing(
    own_redis: Callable[..., RedisServer], tmp_path: Path, receiver: CountingReceiver
) -> None:
    server = own_redis(appendonly=True, appendfsync="everysec")
    await run_and_break(tmp_path, server, receiver, kill=False)

    counts = receiver.by_id()
    assert len(counts) == EXPECTED
    assert max(counts.values()) == 1
