"""Politeness and fleet behaviour: leases, conditional GET, back-off, Retry-After, failing feeds, state API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from redis.asyncio import Redis

from service.app import create_app
from service.ingest.feeds import FeedConfig
from service.ingest.poller import Poller
from service.ingest.state import Backoff
from service.keys import Keys
from service.typedefs import INGEST, METRICS, POLLER
from tests.conftest import SettingsFactory
from tests.feedserver import FeedServer, news_items, rss
from tests.helpers import running, wait_until


@pytest.fixture
async def app(make_settings: SettingsFactory) -> AsyncIterator[web.Application]:
    application = create_app(make_settings(feed_failing_after=3), roles=["poller"])
    async with running(application):
        yield application


@pytest.fixture
def poller(app: web.Application) -> Poller:
    return app[POLLER]


def feed(url: str, interval: float = 60) -> FeedConfig:
    return FeedConfig(name="wire", url=url, interval=interval)


async def test_an_unchanged_feed_answered_304_ingests_nothing_and_writes_no_stream_entry(
    server: FeedServer, poller: Poller, redis: Redis, key_prefix: str
) -> None:
    url = server.conditional("/rss.xml", rss(news_items(3)), etag='"v1"')
    await poller.poll_feed(feed(url))
    length = await redis.xlen(Keys(key_prefix).articles)

    result = await poller.poll_feed(feed(url))

    assert result.outcome == "not modified"
    assert server.headers_seen["/rss.xml"]["If-None-Match"] == '"v1"'
    assert await redis.xlen(Keys(key_prefix).articles) == length == 3


async def test_two_pollers_fetch_a_feed_once_per_interval_and_ingest_it_once(
    server: FeedServer, make_settings: SettingsFactory, redis: Redis, key_prefix: str
) -> None:
    url = server.static("/rss.xml", rss(news_items(5)), delay=0.05)
    apps = [create_app(make_settings(consumer_name=f"poller-{i}"), roles=["poller"]) for i in range(3)]
    async with running(apps[0]), running(apps[1]), running(apps[2]):
        results = await asyncio.gather(*(a[POLLER].run(feed(url)) for a in apps))

    assert sorted(r.outcome for r in results) == ["leased elsewhere", "leased elsewhere", "ok"]
    assert server.hits["/rss.xml"] == 1
    assert await redis.xlen(Keys(key_prefix).articles) == 5


async def test_the_lease_is_held_until_the_feed_is_due_again(
    server: FeedServer, poller: Poller, redis: Redis, key_prefix: str
) -> None:
    url = server.static("/rss.xml", rss(news_items(1)))
    await poller.run(feed(url, interval=100))

    ttl = await redis.pttl(Keys(key_prefix).feed_lease("wire"))

    assert 80_000 < ttl <= 85_000  # 0.85 of the interval: our own jittered next run is never locked out
    assert (await poller.run(feed(url, interval=100))).outcome == "leased elsewhere"


async def test_a_429_holds_the_feed_for_its_retry_after_fleet_wide(
    server: FeedServer, app: web.Application, poller: Poller, redis: Redis, key_prefix: str
) -> None:
    url = server.static("/busy", "slow down", status=429, headers={"Retry-After": "900"})

    result = await poller.run(feed(url, interval=60))

    state = await app[INGEST].store.get("wire")
    assert (result.outcome, result.delay) == ("error", 900)
    assert (state.status, state.http_status, state.last_error) == ("error", 429, "HTTP 429")
    assert state.next_run is not None
    assert state.next_run == pytest.approx(time.time() + 900, abs=5)
    assert 899_000 < await redis.pttl(Keys(key_prefix).feed_lease("wire")) <= 900_000


async def test_failures_back_off_exponentially_then_mark_the_feed_failing(
    server: FeedServer, app: web.Application, poller: Poller
) -> None:
    url = server.static("/broken", "oops", status=500)

    delays = [(await poller.poll_feed(feed(url, interval=60))).delay for _ in range(4)]
    state = await app[INGEST].store.get("wire")

    assert delays == [120, 240, 6 * 3600, 6 * 3600]  # failing after 3 (this app's setting)
    assert (state.status, state.consecutive_errors) == ("failing", 4)


async def test_a_failing_feed_that_recovers_is_ok_again(
    server: FeedServer, app: web.Application, poller: Poller
) -> None:
    server.static("/flaky", "oops", status=500)
    for _ in range(3):
        await poller.poll_feed(feed(server.url("/flaky")))
    server.static("/flaky", rss(news_items(1)))

    result = await poller.poll_feed(feed(server.url("/flaky")))

    state = await app[INGEST].store.get("wire")
    assert (result.outcome, state.status, state.consecutive_errors, state.last_error) == ("ok", "ok", 0, None)


def test_backoff_is_capped_and_retry_after_is_bounded() -> None:
    policy = Backoff(failing_after=10, max_delay=1000, failing_delay=5000)
    assert policy.delay(300, 0) == 300
    assert policy.delay(300, 1) == 600
    assert policy.delay(300, 4) == 1000
    assert policy.delay(300, 10) == 5000
    assert policy.delay(300, 1, retry_after=10) == 300  # never sooner than the interval
    assert policy.delay(300, 1, retry_after=10**9) == 5000


async def test_an_overrunning_run_is_skipped_logged_and_counted(
    server: FeedServer, make_settings: SettingsFactory, tmp_path: object, caplog: pytest.LogCaptureFixture
) -> None:
    url = server.static("/slow.xml", rss(news_items(1)), delay=2.5)
    settings = make_settings(poll_startup_spread=0, poll_jitter=0, fetch_timeout=10)
    settings.feeds_file.write_text(f"feeds:\n  - name: slow\n    url: {url}\n    interval: 1\n")
    app = create_app(settings, roles=["poller"])

    async with running(app):
        skipped = app[METRICS].feed_runs_skipped.labels("overrun")
        await wait_until(lambda: skipped._value.get() >= 1, timeout=10)

    assert "run skipped, the previous run is still going" in caplog.text
    assert server.hits["/slow.xml"] == 1


async def test_feeds_from_the_file_are_polled_and_a_reload_adds_new_ones(
    server: FeedServer, make_settings: SettingsFactory, redis: Redis, key_prefix: str
) -> None:
    settings = make_settings(poll_startup_spread=0)
    one = server.static("/one.xml", rss(news_items(1, prefix="one")))
    two = server.static("/two.xml", rss(news_items(1, prefix="two")))
    settings.feeds_file.write_text(f"feeds:\n  - name: one\n    url: {one}\n    interval: 3600\n")
    async with running(create_app(settings, roles=["poller"])):
        await wait_until(lambda: server.hits["/one.xml"] == 1)
        settings.feeds_file.write_text(
            f"feeds:\n  - name: one\n    url: {one}\n    interval: 3600\n"
            f"  - name: two\n    url: {two}\n    interval: 3600\n"
        )
        await wait_until(lambda: server.hits["/two.xml"] == 1)
    # Stopping let the run of "two" finish: its article is in.

    assert server.hits["/one.xml"] == 1
    assert await redis.xlen(Keys(key_prefix).articles) == 2


async def test_the_feeds_api_shows_each_feeds_state(
    server: FeedServer, make_settings: SettingsFactory
) -> None:
    ok = server.conditional("/ok.xml", rss(news_items(2)), etag='"e1"')
    bad = server.static("/bad.xml", "nope", status=404)
    settings = make_settings(poll_startup_spread=0)
    settings.feeds_file.write_text(
        "feeds:\n"
        f"  - name: good\n    url: {ok}\n    interval: 3600\n"
        f"  - name: broken\n    url: {bad}\n    interval: 3600\n"
        f"  - name: paused\n    url: {bad}\n    enabled: false\n"
    )
    app = create_app(settings, roles=["poller", "api"])
    async with running(app, listen=True) as base, aiohttp.ClientSession() as client:
        await wait_until(lambda: _fetched(app, "good"))
        await wait_until(lambda: _fetched(app, "broken"))
        async with client.get(f"{base}/v1/feeds") as response:
            feeds = {f["name"]: f for f in (await response.json())["feeds"]}

    good, broken, off = feeds["good"], feeds["broken"], feeds["paused"]
    assert (good["status"], good["etag"], good["items_seen"], good["consecutive_errors"]) == (
        "ok",
        '"e1"',
        2,
        0,
    )
    assert good["last_fetch"] is not None
    assert good["next_run"] is not None
    assert (broken["status"], broken["last_error"], broken["consecutive_errors"]) == ("error", "HTTP 404", 1)
    assert (off["status"], off["next_run"]) == ("disabled", None)


async def _fetched(app: web.Application, name: str) -> bool:
    return (await app[INGEST].store.get(name)).last_fetch is not None


async def test_stopping_lets_a_run_in_flight_finish(
    server: FeedServer, make_settings: SettingsFactory, redis: Redis, key_prefix: str
) -> None:
    url = server.static("/slow.xml", rss(news_items(2)), delay=0.5)
    settings = make_settings(poll_startup_spread=0)
    settings.feeds_file.write_text(f"feeds:\n  - name: slow\n    url: {url}\n    interval: 3600\n")

    async with running(create_app(settings, roles=["poller"])):
        await wait_until(lambda: server.in_flight == 1)

    assert await redis.xlen(Keys(key_prefix).articles) == 2


async def test_a_slow_run_holds_the_lease_counted_from_its_start(
    server: FeedServer, poller: Poller, redis: Redis, key_prefix: str
) -> None:
    url = server.static("/slow.xml", rss(news_items(1)), delay=1.0)

    await poller.run(feed(url, interval=10))

    # 0.85 of the interval from the start, so the poller's own next run (0.9 to 1.1 intervals on) is free.
    assert await redis.pttl(Keys(key_prefix).feed_lease("wire")) <= 7_500
