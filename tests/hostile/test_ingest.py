"""Hostile input on the way in: feeds, pushed articles, links in feeds and redirects, and what reaches a terminal.

One test per break found by attacking the service (issue 10: points 3, 5, 8,
9, 10, 13 and 15), each with the reproduction it was found with.
"""

from __future__ import annotations

import io
import ipaddress
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from notifiers.console import format_alert
from notifiers.ssrf import AddressPolicy, check_url, classify
from service.app import create_app
from service.ingest.feeds import FeedConfig
from service.ingest.poller import Poller
from service.keys import Keys
from service.models import Article
from service.typedefs import POLLER
from tests.conftest import SettingsFactory
from tests.feedserver import FeedServer, news_items, rss
from tests.helpers import running

MEGABYTE = 1024 * 1024

# Point 10: the pushed source that set the window title, cleared the screen and forged an alert line.
ESCAPES = 'Reuters\u001b]0;PWNED\u0007\u001b[2J...\r\nALERT CRITICAL forged_rule: "spoofed"'
CONTROL = {*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)}


def has_control(text: str) -> bool:
    return any(ord(c) in CONTROL for c in text)


async def stream_articles(redis: Redis, prefix: str) -> list[Article]:
    return [Article.model_validate_json(f["data"]) for _, f in await redis.xrange(Keys(prefix).articles)]


async def used_memory(redis: Redis) -> int:
    return int((await redis.info("memory"))["used_memory"])


# -- point 3: one feed document inflates Redis --------------------------------


def json_feed_with_title(title: str, items: int) -> dict[str, object]:
    return {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "items": [
            {
                "id": f"item-{n}",
                "url": f"https://outlet.example/news/{n}",
                "title": f"Report number {n}",
                "content_text": f"Leaders met on day {n} to talk about trade and borders once more.",
            }
            for n in range(items)
        ],
    }


@pytest.fixture
async def private_poller(
    own_redis: Any, make_settings: SettingsFactory
) -> AsyncIterator[tuple[Poller, Redis, str]]:
    """A poller on a Redis of its own, so its memory is this test's alone."""
    server = own_redis("hostile")
    settings = make_settings(redis_url=server.url, fetch_max_bytes=4 * MEGABYTE, fetch_timeout=5.0)
    app = create_app(settings, roles=["poller"])
    async with running(app):
        yield app[POLLER], Redis.from_url(server.url, decode_responses=True), settings.key_prefix


async def test_a_json_feed_title_of_1_MB_on_100_items_adds_kilobytes_to_redis_not_200_MB(
    server: FeedServer, private_poller: tuple[Poller, Redis, str]
) -> None:
    poller, redis, prefix = private_poller
    url = server.json_feed("/huge.json", json_feed_with_title("T" * MEGABYTE, 100))
    before = await used_memory(redis)

    result = await poller.poll_feed(FeedConfig(name="huge", url=url, interval=60))

    grown = await used_memory(redis) - before
    articles = await stream_articles(redis, prefix)
    assert (result.outcome, result.new) == ("ok", 100)
    assert grown < 2 * MEGABYTE, f"Redis grew by {grown} bytes"
    assert {len(a.source or "") for a in articles} == {200}
    await redis.aclose()


async def test_an_rss_channel_title_of_1_MB_is_capped_like_any_source(
    server: FeedServer, private_poller: tuple[Poller, Redis, str]
) -> None:
    poller, redis, prefix = private_poller
    url = server.static("/huge.xml", rss(news_items(100, words=12), title="R" * MEGABYTE))
    before = await used_memory(redis)

    result = await poller.poll_feed(FeedConfig(name="huge-rss", url=url, interval=60))

    grown = await used_memory(redis) - before
    assert (result.outcome, result.new) == ("ok", 100)
    assert grown < 2 * MEGABYTE, f"Redis grew by {grown} bytes"
    assert {len(a.source or "") for a in await stream_articles(redis, prefix)} == {200}
    await redis.aclose()


async def test_the_bytes_one_feed_document_adds_to_redis_are_bounded(
    server: FeedServer, own_redis: Any, make_settings: SettingsFactory
) -> None:
    # 300 items of 20 KB of distinct text each: 6 MB of articles from one document.
    items = [
        {"title": f"Item {n}", "link": f"https://outlet.example/{n}", "description": f"w{n} " * 5000}
        for n in range(300)
    ]
    server_redis = own_redis("budget")
    settings = make_settings(
        redis_url=server_redis.url, fetch_max_bytes=16 * MEGABYTE, feed_max_stored_bytes=MEGABYTE
    )
    app = create_app(settings, roles=["poller"])
    async with running(app):
        poller = app[POLLER]
        url = server.static("/big.xml", rss(items))
        result = await poller.poll_feed(FeedConfig(name="big", url=url, interval=60))
        state = await poller.store.get("big")
    redis = Redis.from_url(server_redis.url, decode_responses=True)
    articles = await stream_articles(redis, settings.key_prefix)
    await redis.aclose()
    stored = sum(len(a.model_dump_json().encode()) for a in articles)
    assert result.outcome == "ok"
    assert 0 < len(articles) < 300
    assert stored <= MEGABYTE
    assert "GEOALERT_FEED_MAX_STORED_BYTES" in (state.warning or "")


def test_control_characters_are_stripped_from_every_stored_field() -> None:
    from service.ingest.normalise import RawItem, normalise

    article = normalise(
        RawItem(
            title="Leaders\u001b[2J meet\u009b31m",
            summary="a\u0007b",
            content="body\u0000text\u0085",
            link="https://outlet.example/a\u001b[2J",
            guid="g1",
        ),
        feed="wire",
        source=ESCAPES,
    )
    assert article is not None
    for name, value in article.model_dump(mode="json").items():
        assert not (isinstance(value, str) and has_control(value)), name


def test_an_overlong_link_is_not_stored() -> None:
    from service.ingest.normalise import RawItem, normalise

    article = normalise(
        RawItem(title="Summit", link="https://outlet.example/" + "a" * MEGABYTE), feed="wire", source="W"
    )
    assert article is not None
    assert article.url is None


# -- point 10: terminal escapes reach the console and the logs ------------------


async def test_a_pushed_source_with_terminal_escapes_is_stored_without_them(
    make_settings: SettingsFactory, small_rules: Path, redis: Redis, key_prefix: str
) -> None:
    app = create_app(make_settings(rules_dir=small_rules), roles=["api"])
    body = {"source": ESCAPES, "title": "Leaders meet in Geneva", "url": "https://outlet.example/g"}
    async with (
        running(app, listen=True) as base,
        aiohttp.ClientSession() as client,
        client.post(f"{base}/v1/articles", json=body) as response,
    ):
        assert response.status == 202
    [article] = await stream_articles(redis, key_prefix)
    assert article.source is not None
    assert not has_control(article.source)
    assert article.source.startswith("Reuters]0;PWNED[2J")


def test_the_console_prints_no_control_character_from_an_alert() -> None:
    alert = {
        "rule": {"id": "leader_summit", "severity": "high"},
        "article": {"title": ESCAPES, "source": ESCAPES, "url": "https://x.example/\u001b[2J"},
        "evidence": [
            {"part": ESCAPES, "text": ESCAPES, "field": "body", "start": 0, "end": 5, "snippet": ESCAPES}
        ],
    }
    text = format_alert(alert)
    assert not has_control(text.replace("\n", ""))
    lines = text.split("\n")
    assert len(lines) == 3  # the alert line, the words matched and the passage: nothing forged
    assert not any(line.startswith("ALERT CRITICAL") for line in lines)


def test_a_log_line_carries_no_control_character_from_its_arguments() -> None:
    from service.logs import configure_logging

    out = io.StringIO()
    handler = configure_logging("INFO", stream=out, root=logging.getLogger("hostile-test"))
    try:
        logging.getLogger("hostile-test").warning("feed %s: %s", "wire", ESCAPES)
    finally:
        logging.getLogger("hostile-test").removeHandler(handler)
    line = out.getvalue()
    assert line.endswith("\n")
    assert line.count("\n") == 1
    assert not has_control(line[:-1])
    assert "\\x1b]0;PWNED\\x07" in line  # shown, escaped, so an operator sees what came in


# -- point 15: addresses that embed a private IPv4 one -------------------------


@pytest.mark.parametrize(
    "address",
    [
        "::127.0.0.1",  # IPv4-compatible
        "::a9fe:a9fe",
        "::8.8.8.8",  # deprecated: never a route anywhere
        "64:ff9b:1::a9fe:a9fe",  # NAT64 local-use prefix: reaches 169.254.169.254
        "64:ff9b:1:ffff::1",
        "64:ff9b::a9fe:a9fe",  # NAT64 well-known prefix
        "::ffff:0:7f00:1",  # SIIT IPv4-translated
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1 (obfuscated)
    ],
)
def test_the_address_guard_refuses_ipv6_forms_of_private_addresses(address: str) -> None:
    assert classify(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("url", ["http://[::127.0.0.1]/", "http://[64:ff9b:1::a9fe:a9fe]/"])
async def test_webhook_urls_with_ipv6_forms_of_private_addresses_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="refused"):
        await check_url(url, AddressPolicy())


def test_nat64_of_a_public_address_still_passes() -> None:
    assert classify(ipaddress.ip_address("64:ff9b::808:808")) is None


# -- point 5: links in feeds and redirects reach private addresses ---------------

SECRET_PAGE = (
    "<html><body><article><h1>Admin</h1>"
    + "<p>The internal secret token is hunter2-SECRET and it must never leave this network.</p>" * 8
    + "</article></body></html>"
)


@pytest.fixture
async def internal() -> AsyncIterator[FeedServer]:
    """A server on a private address (loopback) that no feed should ever make us reach."""
    s = await FeedServer().start()
    s.static("/internal-admin", SECRET_PAGE, content_type="text/html")
    s.static("/latest/meta-data/", "iam/security-credentials/admin", content_type="text/plain")
    yield s
    await s.stop()


async def poll_once(make_settings: SettingsFactory, feed: FeedConfig, **settings: Any) -> tuple[Any, Any]:
    app = create_app(make_settings(fetch_timeout=5.0, **settings), roles=["poller"])
    async with running(app):
        poller = app[POLLER]
        result = await poller.poll_feed(feed)
        return result, await poller.store.get(feed.name)


async def test_a_full_text_link_into_the_private_network_is_not_fetched(
    server: FeedServer, internal: FeedServer, make_settings: SettingsFactory, redis: Redis, key_prefix: str
) -> None:
    # The feed itself is on loopback too: the operator wrote its URL, so it is reached.
    item = {"title": "Summit ends", "guid": "s-1", "link": internal.url("/internal-admin?secret=x"),
            "description": "Leaders ended the summit."}  # fmt: skip
    url = server.static("/feed.xml", rss([item]))

    result, _ = await poll_once(make_settings, FeedConfig(name="wire", url=url, full_text=True))

    [article] = await stream_articles(redis, key_prefix)
    assert (result.outcome, result.new) == ("ok", 1)
    assert internal.hits["/internal-admin"] == 0
    assert "hunter2" not in article.body
    assert article.body == "Leaders ended the summit."


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/latest/meta-data/",  # an IP literal: refused before connecting
        "http://localhost:{port}/latest/meta-data/",  # a name: refused by the resolver, at connect time
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]:{port}/latest/meta-data/",
    ],
)
async def test_a_feed_that_redirects_into_the_private_network_is_not_followed(
    server: FeedServer, internal: FeedServer, make_settings: SettingsFactory, target: str
) -> None:
    port = internal.base.rsplit(":", 1)[1]
    location = target.format(port=port)

    async def redirect(request: Any) -> Any:
        raise aiohttp.web.HTTPFound(location)

    server.routes["/feed.xml"] = redirect

    result, state = await poll_once(make_settings, FeedConfig(name="wire", url=server.url("/feed.xml")))

    assert result.outcome == "error"
    assert "refused" in (state.last_error or "")
    assert internal.hits["/latest/meta-data/"] == 0


async def test_fetch_allow_cidrs_opens_a_private_range_to_links_and_redirects_on_purpose(
    server: FeedServer, internal: FeedServer, make_settings: SettingsFactory, redis: Redis, key_prefix: str
) -> None:
    item = {"title": "Summit ends", "guid": "s-1", "link": internal.url("/internal-admin"),
            "description": "Leaders ended the summit."}  # fmt: skip
    internal.static("/feed.xml", rss([item]))

    async def redirect(request: Any) -> Any:
        raise aiohttp.web.HTTPFound(internal.url("/feed.xml"))

    server.routes["/moved.xml"] = redirect

    result, _ = await poll_once(
        make_settings,
        FeedConfig(name="wire", url=server.url("/moved.xml"), full_text=True),
        fetch_allow_cidrs="127.0.0.0/8",
    )

    [article] = await stream_articles(redis, key_prefix)
    assert result.outcome == "ok"
    assert "hunter2" in article.body


# -- point 13: credentials in feed URLs ------------------------------------------


def test_feed_urls_are_shown_without_userinfo_or_secret_parameters() -> None:
    from service.redact import redact_url

    shown = redact_url("http://user:pa55@feeds.example/rss?api_key=K3Y&lang=en&token=T0K&sig=S1G")
    assert shown == "http://***@feeds.example/rss?api_key=***&lang=en&token=***&sig=***"


async def test_get_feeds_and_the_logs_never_show_a_feed_urls_credentials(
    make_settings: SettingsFactory, small_rules: Path, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from service.embedded_redis import free_port

    url = f"http://user:pa55word@127.0.0.1:{free_port()}/feed?api_key=K3Y-SECRET&lang=en"
    (tmp_path / "feeds.yaml").write_text(f"feeds:\n  - name: paid\n    url: {url}\n")
    app = create_app(make_settings(rules_dir=small_rules), roles=["poller", "api"])
    caplog.set_level(logging.INFO)
    async with running(app, listen=True) as base, aiohttp.ClientSession() as client:
        await app[POLLER].poll_feed(FeedConfig(name="paid", url=url))
        async with client.get(f"{base}/v1/feeds") as response:
            listed = await response.text()
    assert "pa55word" not in listed
    assert "K3Y-SECRET" not in listed
    assert "lang=en" in listed
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "paid" in logged
    assert "pa55word" not in logged
    assert "K3Y-SECRET" not in logged


def test_url_credentials_and_an_authorization_header_together_stop_start_up_with_file_and_line(
    tmp_path: Any,
) -> None:
    from service.errors import ConfigFileError
    from service.ingest.feeds import load_feeds_file

    path = tmp_path / "feeds.yaml"
    path.write_text(
        "feeds:\n"
        "  - name: ok\n"
        "    url: https://feeds.example/a\n"
        "  - name: both\n"
        "    url: https://user:pass@feeds.example/b\n"
        "    headers: {Authorization: Bearer x}\n"
    )
    with pytest.raises(ConfigFileError, match=r"feeds\.yaml:[45]:.*credentials.*Authorization"):
        load_feeds_file(path)


async def test_a_feed_failing_for_any_reason_shows_its_last_error(
    server: FeedServer, make_settings: SettingsFactory
) -> None:
    # The conflict the feeds file now refuses, as a run met it: the HTTP client raised ValueError.
    feed = FeedConfig.model_construct(
        name="odd",
        url=server.url("/feed.xml").replace("http://", "http://user:pass@"),
        headers={"Authorization": "Bearer x"},
        interval=60,
        enabled=True,
        full_text=False,
    )
    server.static("/feed.xml", rss(news_items(1)))

    result, state = await poll_once(make_settings, feed)

    assert result.outcome == "error"
    assert state.status == "error"
    assert state.last_error


async def test_a_feed_added_over_the_api_is_fetched_through_the_address_guard(
    server: FeedServer, make_settings: SettingsFactory
) -> None:
    # Its URL passed the API's checks when added (a public name, say) and now points at loopback.
    url = server.static("/feed.xml", rss(news_items(1)))
    feed = FeedConfig(name="from-api", url=url, interval=60)
    app = create_app(make_settings(fetch_timeout=5.0), roles=["poller"])
    async with running(app):
        poller = app[POLLER]
        await poller.feeds.registry.add([feed])
        await poller.feeds.sync()
        result = await poller.poll_feed(feed)
        state = await poller.store.get(feed.name)

    assert result.outcome == "error"
    assert "refused" in (state.last_error or "")
    assert server.hits["/feed.xml"] == 0


# -- point 9: distinct events on one wire template -------------------------------


async def test_150_distinct_summit_reports_on_one_wire_template_each_start_their_own_story(
    redis: Redis, key_prefix: str
) -> None:
    from service.ingest.sink import ArticleSink
    from service.ingest.stories import StoryIndex
    from service.keys import Keys
    from service.metrics import Metrics
    from service.models import stable_id
    from service.streams import Trim
    from tests.storygen import wire_template_reports

    keys = Keys(key_prefix)
    sink = ArticleSink(redis, keys, Trim("none"), 3600, Metrics(), StoryIndex(redis, keys))
    articles = [
        Article(id=stable_id("wire", str(n)), title=title, body=body, source=f"wire{n}")
        for n, (title, body) in enumerate(wire_template_reports(150, seed=0))
    ]

    results = await sink.add_many(articles)

    joined = [r.article_id for r in results if r.story_id != r.article_id]
    assert joined == []  # each joined story would have raised no alert of its own


# -- point 8: one sender suppresses another outlet's story -------------------------

REPORT_BODY = (
    "Leaders of the two countries met at the summit in Geneva on Tuesday and agreed to resume talks on "
    "trade and border crossings, according to a joint statement issued after four hours of meetings."
)


@pytest.fixture
async def push_api(make_settings: SettingsFactory, small_rules: Path) -> AsyncIterator[Any]:
    app = create_app(make_settings(rules_dir=small_rules), roles=["api"])
    async with running(app, listen=True) as base, aiohttp.ClientSession() as client:

        async def push(body: dict[str, Any]) -> dict[str, Any]:
            async with client.post(f"{base}/v1/articles", json=body) as response:
                assert response.status == 202
                result: dict[str, Any] = (await response.json())["items"][0]
                return result

        yield push


async def test_unrelated_text_pushed_by_another_sender_under_an_outlets_url_does_not_swallow_its_report(
    push_api: Any,
) -> None:
    url = "https://outlet.example/world/summit-1/?utm_source=x"
    await push_api({"source": "someone-else", "title": "Weather", "url": url})

    real = await push_api(
        {"source": "Outlet", "title": "Leaders meet at summit", "body": REPORT_BODY, "url": url}
    )

    assert real["status"] == "accepted", real


async def test_a_feed_listing_another_outlets_link_with_other_text_does_not_swallow_its_report(
    server: FeedServer, make_settings: SettingsFactory, push_api: Any
) -> None:
    link = "https://outlet.example/world/summit-2/"
    item = {"title": "Weather today", "guid": link, "link": link, "description": "Sunny, 25 degrees."}
    url = server.static("/agg.xml", rss([item]))
    await poll_once(make_settings, FeedConfig(name="aggregator", url=url))

    real = await push_api(
        {"source": "Outlet", "title": "Leaders meet at summit", "body": REPORT_BODY, "url": link}
    )

    assert real["status"] == "accepted", real


async def test_a_senders_guid_is_its_own_another_sender_with_the_same_guid_is_not_a_duplicate(
    push_api: Any,
) -> None:
    await push_api({"source": "someone-else", "guid": "summit-1", "title": "Weather"})

    real = await push_api({"source": "Outlet", "guid": "summit-1", "title": "Leaders meet at summit",
                           "body": REPORT_BODY})  # fmt: skip

    assert real["status"] == "accepted", real


async def test_the_same_report_under_one_url_from_two_senders_is_still_one_article(push_api: Any) -> None:
    url = "https://outlet.example/world/summit-3/"
    first = await push_api(
        {"source": "Outlet", "title": "Leaders meet at summit", "body": REPORT_BODY, "url": url}
    )
    # Another sender (an aggregator) with the headline as updated, and the same text.
    again = await push_api({"source": "Aggregator", "title": "Leaders meet at Geneva summit",
                            "body": REPORT_BODY, "url": url + "?utm_source=agg"})  # fmt: skip
    same_title = await push_api({"source": "Reader", "title": "Leaders meet at summit", "url": url})

    assert (again["status"], again.get("duplicate_of")) == ("duplicate", first["id"])
    assert (same_title["status"], same_title.get("duplicate_by")) == ("duplicate", "url")


async def test_full_text_from_an_article_page_is_capped_and_stripped_like_any_field(
    server: FeedServer, make_settings: SettingsFactory, redis: Redis, key_prefix: str
) -> None:
    # 320,000 characters of distinct paragraphs (an extractor drops repeated ones).
    paragraphs = "".join(
        f"<p>Delegates {n} argued\u001b[2J over the text\u009b of the accord.</p>" for n in range(6000)
    )
    server.static("/long.html", f"<html><body><article>{paragraphs}</article></body></html>",
                  content_type="text/html")  # fmt: skip
    item = {"title": "Accord", "guid": "a-1", "link": server.url("/long.html"), "description": "Short."}
    url = server.static("/feed.xml", rss([item]))

    await poll_once(
        make_settings,
        FeedConfig(name="wire", url=url, full_text=True),
        fetch_allow_cidrs="127.0.0.0/8",
        fetch_max_bytes=4 * MEGABYTE,
    )

    [article] = await stream_articles(redis, key_prefix)
    assert "Delegates" in article.body
    assert len(article.body) <= 100_000
    assert not has_control(article.body.replace("\n", ""))
