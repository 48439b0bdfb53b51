"""Per-host fetch limits hold across every poller process, through Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web
from redis.asyncio import Redis

from notifiers.ssrf import AddressPolicy, parse_cidrs
from notifiers.webhook import new_secret
from service.fleetlimit import FleetLimit
from service.ingest.fetch import Fetcher, FetchLimits
from service.keys import Keys
from service.lua import Script
from tests.deliverykit import Kit, make_alert
from tests.helpers import Received, WebhookReceiver

FEED = b"<rss version='2.0'><channel><title>t</title></channel></rss>"


@dataclass
class SlowHost:
    """A real HTTP server that takes its time and remembers how many requests it had at once."""

    delay: float = 0.15
    now: int = 0
    most: int = 0
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.now -= 1
        return web.Response(body=FEED, content_type="application/rss+xml")


@pytest.fixture
async def slow_host() -> AsyncIterator[SlowHost]:
    host = SlowHost()
    app = web.Application()
    app.router.add_get("/{name}", host.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield host
    await runner.cleanup()


async def fetch_all(redis_url: str, keys: Keys, host: SlowHost, *, processes: int, fleet: bool) -> None:
    """``processes`` pollers (each its own Redis client and HTTP session) fetch 6 feeds each from one host."""
    limits = FetchLimits(per_host=2)

    async def one_process(n: int) -> None:
        redis = Redis.from_url(redis_url, decode_responses=True)
        limit = FleetLimit(redis, keys, "host", lease_seconds=10) if fleet else None
        async with Fetcher.open(limits, AddressPolicy(parse_cidrs("127.0.0.0/8")), limit) as fetcher:
            await asyncio.gather(*(fetcher.fetch_feed(f"{host.url}/feed-{n}-{i}") for i in range(6)))
        await redis.aclose()

    await asyncio.gather(*(one_process(n) for n in range(processes)))


async def test_three_pollers_together_keep_to_the_per_host_limit(
    redis: Redis, redis_server_url: str, key_prefix: str, slow_host: SlowHost
) -> None:
    await fetch_all(redis_server_url, Keys(key_prefix), slow_host, processes=3, fleet=True)
    assert slow_host.most == 2


async def test_without_the_fleet_limit_three_pollers_send_three_times_the_limit(
    redis_server_url: str, key_prefix: str, slow_host: SlowHost
) -> None:
    await fetch_all(redis_server_url, Keys(key_prefix), slow_host, processes=3, fleet=False)
    assert slow_host.most == 6  # what the fleet-wide limit is for


async def test_a_slot_held_by_a_dead_poller_comes_back_when_its_lease_runs_out(
    redis: Redis, key_prefix: str
) -> None:
    keys = Keys(key_prefix)
    # A poller took the only slot for 300 ms and died holding it.
    assert await Script("limit_acquire", redis)([keys.limit("host", "h")], ["dead", 1, 300])
    limit = FleetLimit(redis, keys, "host", lease_seconds=10)
    started = time.monotonic()
    async with limit.slot("h", 1):
        waited = time.monotonic() - started
    assert 0.2 < waited < 2.0
    assert await redis.zcard(keys.limit("host", "h")) == 0  # released after use


async def test_two_dispatchers_together_keep_to_the_per_endpoint_limit(
    kit: Kit, receiver: WebhookReceiver
) -> None:
    in_flight, most = 0, 0

    async def slow(_: Received) -> web.StreamResponse:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.1)
        in_flight -= 1
        return web.Response(status=204)

    receiver.respond = slow
    await kit.subscribe(rules=["*"], webhook={"url": receiver.url, "secret": new_secret()})
    dispatcher = kit.dispatcher()
    for n in range(12):
        await dispatcher.dispatch(make_alert(n))

    workers = [kit.worker(per_endpoint=2), kit.worker(per_endpoint=2)]  # as two processes would
    done = await asyncio.gather(*(w.process_due() for w in workers))

    assert sum(done) == 12
    assert len(receiver.received) == 12
    assert most == 2  # each worker alone would allow 2, together 4
    # Settled attempts leave the flight set; an emptied set is gone.
    assert [k async for k in kit.redis.scan_iter(match=f"{kit.keys.delivery_flight('')}*")] == []
