"""A new feed's backlog and articles too old to be news are stored, counted, and raise no alert;
the seed feed opts out; pushed articles are held to an age limit only when the sender asks."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from redis.asyncio import Redis

from service.app import create_app
from service.config import Settings
from service.ingest.feeds import load_feeds_file
from service.ingest.state import FeedStore
from service.keys import Keys
from service.typedefs import POLLER
from tests.apikit import ApiFactory
from tests.conftest import ROOT, SettingsFactory
from tests.feedserver import FeedServer, rss
from tests.helpers import article, running, wait_until

SUMMIT = "Russian President Vladimir Putin and North Korean leader Kim Jong Un met in Vladivostok on {day}."


def _item(n: int, published: datetime) -> dict[str, str]:
    day = published.strftime("%A %d %B %Y")
    return {
        "title": f"Putin and Kim Jong Un meet in Vladivostok (report {n})",
        "guid": f"urn:test:{n}",
        "pubDate": format_datetime(published),
        "description": SUMMIT.format(day=day) + f" Report number {n} of {n * 7919} words.",
    }


async def _articles(redis: Redis, key_prefix: str) -> dict[str, str | None]:
    """Each stored article's title -> why it raised no alert (None: it may alert)."""
    out = {}
    for _, fields in await redis.xrange(Keys(key_prefix).articles):
        data = json.loads(fields["data"])
        out[data["title"]] = data["quiet"]
    return out


def test_out_of_the_box_the_limit_is_48_hours_and_a_first_poll_does_not_alert() -> None:
    defaults = Settings.model_fields
    assert defaults["alert_max_age"].default == 48 * 3600
    assert defaults["alert_first_poll"].default is False


async def test_a_new_feeds_backlog_and_old_articles_are_stored_without_alerts(
    make_settings: SettingsFactory, tmp_path: Path, server: FeedServer, redis: Redis, key_prefix: str
) -> None:
    now = datetime.now(UTC)
    old, fresh = now - timedelta(days=900), now - timedelta(hours=1)
    server.static("/wire.xml", rss([_item(1, old), _item(2, fresh)]))
    (tmp_path / "feeds.yaml").write_text(
        f"feeds:\n  - name: wire\n    url: {server.url('/wire.xml')}\n    interval: 3600\n"
    )
    settings = make_settings(alert_max_age="48h", alert_first_poll=False, poll_startup_spread=0)
    app = create_app(settings, roles=["poller", "matcher"])
    keys = Keys(key_prefix)
    async with running(app):
        await wait_until(lambda: _count(redis, keys.articles, 2))
        await wait_until(lambda: _polled(app[POLLER].store, "wire"))  # its first poll is recorded
        first = await _articles(redis, key_prefix)
        # The next poll finds a fresh item and one of 2023 the feed had not carried before.
        server.static("/wire.xml", rss([_item(3, fresh + timedelta(minutes=5)), _item(4, old)]))
        feed = app[POLLER].feeds.current[0]
        assert await app[POLLER].poll(feed) == 2
        await wait_until(lambda: _count(redis, keys.alerts, 1))
        metrics = app[POLLER].metrics.articles_quiet
        too_old = metrics.labels("too_old")._value.get()
        first_poll = metrics.labels("first_poll")._value.get()
    assert set(first.values()) == {"first_poll"}  # stored, both of them, for backtests
    stored = await _articles(redis, key_prefix)
    assert stored["Putin and Kim Jong Un meet in Vladivostok (report 3)"] is None
    assert stored["Putin and Kim Jong Un meet in Vladivostok (report 4)"] == "too_old"
    alerts = [json.loads(f["data"]) for _, f in await redis.xrange(keys.alerts)]
    assert [a["article"]["title"] for a in alerts] == ["Putin and Kim Jong Un meet in Vladivostok (report 3)"]
    assert (first_poll, too_old) == (2, 1)


async def test_a_feed_can_ask_to_alert_on_its_first_poll_and_on_old_articles(
    make_settings: SettingsFactory, tmp_path: Path, server: FeedServer, redis: Redis, key_prefix: str
) -> None:
    server.static("/wire.xml", rss([_item(1, datetime(2023, 9, 4, 18, tzinfo=UTC))]))
    (tmp_path / "feeds.yaml").write_text(
        f"feeds:\n  - name: wire\n    url: {server.url('/wire.xml')}\n    interval: 3600\n"
        "    alert_max_age: 0\n    alert_first_poll: true\n"
    )
    settings = make_settings(alert_max_age="48h", alert_first_poll=False, poll_startup_spread=0)
    async with running(create_app(settings, roles=["poller", "matcher"])):
        await wait_until(lambda: _count(redis, Keys(key_prefix).alerts, 1))
    assert set((await _articles(redis, key_prefix)).values()) == {None}


def test_the_seed_feed_opts_out_of_both_so_it_alerts_out_of_the_box() -> None:
    (seed,) = [f for f in load_feeds_file(ROOT / "seeds/feeds.yaml") if f.name == "seed"]
    assert seed.alert_max_age == 0
    assert seed.alert_first_poll is True


def test_a_feeds_age_limit_reads_like_a_duration(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - name: a\n    url: a.xml\n    alert_max_age: 7d\n")
    assert load_feeds_file(path)[0].alert_max_age == 7 * 86400


async def test_pushed_articles_alert_whatever_their_age_unless_the_sender_sets_a_limit(
    start_api: ApiFactory, redis: Redis, key_prefix: str
) -> None:
    api = await start_api(alert_max_age="48h", alert_first_poll=False)
    archive = {
        "source": "archive",
        "title": "Old news",
        "body": "Kim met Putin.",
        "published": "2023-09-04T18:00:00Z",
    }
    status, _ = await api.call("POST", "/v1/articles", archive)
    assert status == 202
    status, _ = await api.call(
        "POST", "/v1/articles?alert_max_age=48h", {**archive, "title": "Older news", "body": "Xi met Lula."}
    )
    assert status == 202
    status, error = await api.call("POST", "/v1/articles?alert_max_age=soon", archive)
    assert status == 422
    assert error["error"]["fields"][0]["field"] == "alert_max_age"
    assert await _articles(redis, key_prefix) == {"Old news": None, "Older news": "too_old"}


async def test_the_matcher_raises_nothing_for_an_article_marked_quiet(
    make_settings: SettingsFactory, redis: Redis, key_prefix: str
) -> None:
    keys = Keys(key_prefix)
    body = SUMMIT.format(day="Wednesday")
    await redis.xadd(keys.articles, {"data": article(1, body=body, quiet="too_old").model_dump_json()})
    await redis.xadd(keys.articles, {"data": article(2, body=body + " Again.").model_dump_json()})
    async with running(create_app(make_settings(), roles=["matcher"])):
        await wait_until(lambda: _count(redis, keys.alerts, 1))
    alerts = [json.loads(f["data"]) for _, f in await redis.xrange(keys.alerts)]
    assert {a["article"]["id"] for a in alerts} == {"a2"}


async def _polled(store: FeedStore, name: str) -> bool:
    return (await store.get(name)).last_success is not None


async def _count(redis: Redis, stream: str, wanted: int) -> bool:
    return bool(await redis.xlen(stream) >= wanted)
