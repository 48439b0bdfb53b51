"""Polling real documents from a loopback server: each kind of feed, good or hostile, has one exact outcome."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from redis.asyncio import Redis

from service.app import create_app
from service.ingest.feeds import FeedConfig
from service.ingest.poller import Poller
from service.ingest.workers import WorkerPool
from service.keys import Keys
from service.models import Article
from service.typedefs import INGEST, METRICS, POLLER
from tests.conftest import SettingsFactory
from tests.feedserver import FeedServer, news_items, rss
from tests.helpers import running, wait_until


@pytest.fixture
async def app(make_settings: SettingsFactory) -> AsyncIterator[web.Application]:
    application = create_app(make_settings(fetch_max_bytes=1024 * 1024, fetch_timeout=3.0), roles=["poller"])
    async with running(application):
        yield application


@pytest.fixture
def poller(app: web.Application) -> Poller:
    return app[POLLER]


async def stream_articles(redis: Redis, prefix: str) -> list[Article]:
    return [Article.model_validate_json(f["data"]) for _, f in await redis.xrange(Keys(prefix).articles)]


def feed(url: str, name: str = "wire") -> FeedConfig:
    return FeedConfig(name=name, url=url, interval=60)


async def test_an_rss_feed_gives_one_article_per_item(
    server: FeedServer, poller: Poller, redis: Redis, key_prefix: str
) -> None:
    result = await poller.poll_feed(feed(server.static("/rss.xml", rss(news_items(3)))))

    articles = await stream_articles(redis, key_prefix)
    assert (result.outcome, result.items, result.new) == ("ok", 3, 3)
    assert [a.title for a in articles] == ["Headline story 0", "Headline story 1", "Headline story 2"]
    assert articles[0].url == "http://example.org/story/0"  # utm_source removed
    assert articles[0].published == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert articles[0].body.startswith("story0w0 story0w1")
    assert (articles[0].source, articles[0].feed, articles[0].language) == ("Test Wire", "wire", "en")


ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr">
  <title>Le Fil</title>
  <entry>
    <title type="html">Sommet &amp;amp; accord</title>
    <id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>
    <link href="https://example.fr/a/1?fbclid=abc#top"/>
    <updated>2024-05-02T10:00:00+02:00</updated>
    <content type="html">&lt;p&gt;Les dirigeants se sont rencontrés.&lt;script&gt;alert(1)&lt;/script&gt;&lt;/p&gt;</content>
  </entry>
</feed>"""


async def test_an_atom_feed_gives_text_without_markup_and_times_in_utc(
    server: FeedServer, poller: Poller, redis: Redis, key_prefix: str
) -> None:
    await poller.poll_feed(feed(server.static("/atom.xml", ATOM, content_type="application/atom+xml")))

    [article] = await stream_articles(redis, key_prefix)
    assert article.title == "Sommet & accord"
    assert article.body == "Les dirigeants se sont rencontrés."
    assert article.url == "https://example.fr/a/1"
    assert article.published == datetime(2024, 5, 2, 8, 0, tzinfo=UTC)
    assert article.language == "fr"


JSON_FEED = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "JSON Wire",
    "language": "en-GB",
    "items": [
        {"id": "1", "url": "https://example.com/1", "title": "First", "content_html": "<p>One &amp; two</p>",
         "date_published": "2024-05-01T12:00:00Z"},
        {"id": "2", "content_text": "Plain <text> only", "date_modified": "2024-05-01T13:30:00+01:00"},
    ],
}  # fmt: skip


async def test_a_json_feed_is_read_like_any_other(
    server: FeedServer, poller: Poller, redis: Redis, key_prefix: str
) -> None:
    await poller.poll_feed(feed(server.json_feed("/feed.json", JSON_FEED)))

    first, second = await stream_articles(redis, key_prefix)
    assert (first.title, first.body, first.url, first.language) == (
        "First", "One & two", "https://example.com/1", "en"
    )  # fmt: skip
    assert (second.title, second.body) == ("", "Plain <text> only")
    assert second.published == datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    assert first.source == "JSON Wire"


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1 if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + ']><rss version="2.0"><channel><title>t</title><item><title>&lol9;</title></item></channel></rss>'
)


async def test_a_billion_laughs_document_is_refused_at_once_and_recorded(
    server: FeedServer, app: web.Application, poller: Poller, redis: Redis, key_prefix: str
) -> None:
    started = time.perf_counter()
    result = await poller.poll_feed(feed(server.static("/laughs.xml", BILLION_LAUGHS)))

    assert time.perf_counter() - started < 1.0
    assert result.outcome == "error"
    assert result.reason == "unsafe XML: the DTD declares entities that expand other entities"
    state = await app[INGEST].store.get("wire")
    assert (state.status, state.last_error) == ("error", result.reason)
    assert await redis.xlen(Keys(key_prefix).articles) == 0


async def test_an_external_entity_is_neither_read_nor_fetched(
    server: FeedServer, poller: Poller, redis: Redis, key_prefix: str, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    server.static("/exfil", "EXFILTRATED")
    for i, target in enumerate((secret.as_uri(), server.url("/exfil"))):
        doc = (
            f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY xxe SYSTEM "{target}">\n]>\n'
            '<rss version="2.0"><channel><title>t</title><item><title>a &xxe; b</title></item></channel></rss>'
        )
        result = await poller.poll_feed(feed(server.static(f"/xxe{i}.xml", doc), name=f"xxe{i}"))
        assert result.reason == "unsafe XML: the DTD declares an external entity"

    assert server.hits["/exfil"] == 0
    assert await redis.xlen(Keys(key_prefix).articles) == 0


async def test_an_html_page_instead_of_a_feed_is_an_error_saying_so(
    server: FeedServer, poller: Poller
) -> None:
    page = "<!DOCTYPE html><html><head><title>Home</title></head><body><p>Welcome</p></body></html>"

    result = await poller.poll_feed(feed(server.static("/index.html", page, content_type="text/html")))

    assert (result.outcome, result.reason) == ("error", "not a feed: an HTML page")


async def test_a_document_that_is_no_feed_at_all_never_stops_the_poller(
    server: FeedServer, poller: Poller, redis: Redis, key_prefix: str
) -> None:
    bad = await poller.poll_feed(feed(server.static("/garbage", b"\x00\xff\xfe garbage {"), name="bad"))
    good = await poller.poll_feed(feed(server.static("/rss.xml", rss(news_items(1))), name="good"))

    assert bad.outcome == "error"
    assert bad.reason is not None
    assert bad.reason.startswith("not a feed")
    assert (good.outcome, good.new) == ("ok", 1)


async def test_invalid_and_future_dates_and_duplicate_guids(
    server: FeedServer, poller: Poller, redis: Redis, key_prefix: str
) -> None:
    items = [
        {"title": "No date at all", "guid": "a"},
        {"title": "Nonsense date", "guid": "b", "pubDate": "the day after tomorrow"},
        {"title": "From the future", "guid": "c", "pubDate": "Fri, 01 Jan 2100 00:00:00 GMT"},
        {"title": "Epoch placeholder", "guid": "d", "pubDate": "Thu, 01 Jan 1970 00:00:00 GMT"},
        {"title": "Same GUID again", "guid": "a"},
    ]
    before = datetime.now(UTC)

    result = await poller.poll_feed(feed(server.static("/dates.xml", rss(items))))

    articles = {a.title: a for a in await stream_articles(redis, key_prefix)}
    assert (result.items, result.new) == (5, 4)
    assert set(articles) == {"No date at all", "Nonsense date", "From the future", "Epoch placeholder"}
    assert articles["No date at all"].published is None
    assert articles["Nonsense date"].published is None
    assert articles["Epoch placeholder"].published is None
    future = articles["From the future"].published
    assert future is not None
    assert before <= future <= datetime.now(UTC)


@pytest.mark.parametrize(
    ("encoding", "declared_in"),
    [("iso-8859-1", "xml"), ("windows-1251", "header"), ("shift_jis", "xml"), ("utf-16", "xml")],
)
async def test_documents_in_other_encodings_are_decoded(
    server: FeedServer, poller: Poller, redis: Redis, key_prefix: str, encoding: str, declared_in: str
) -> None:
    title = {"iso-8859-1": "Café à Genève", "windows-1251": "Встреча в Москве", "shift_jis": "東京での会談",
             "utf-16": "Zürich – 東京"}[encoding]  # fmt: skip
    doc = rss([{"title": title, "guid": "1"}]).replace('encoding="utf-8"', f'encoding="{encoding}"')
    if declared_in == "header":
        doc = doc.replace(f' encoding="{encoding}"', "")
    content_type = f"application/xml; charset={encoding}" if declared_in == "header" else "application/xml"

    await poller.poll_feed(feed(server.static("/enc.xml", doc.encode(encoding), content_type=content_type)))

    [article] = await stream_articles(redis, key_prefix)
    assert article.title == title


async def test_a_feed_polled_twice_ingests_its_articles_once(
    server: FeedServer, poller: Poller, redis: Redis, key_prefix: str
) -> None:
    url = server.static("/rss.xml", rss(news_items(3)))

    first = await poller.poll_feed(feed(url))
    second = await poller.poll_feed(feed(url))

    assert (first.new, second.new) == (3, 0)
    assert await redis.xlen(Keys(key_prefix).articles) == 3


async def test_the_same_article_in_two_feeds_is_ingested_once(
    server: FeedServer, poller: Poller, redis: Redis, key_prefix: str
) -> None:
    items = news_items(2)
    # Another outlet's feed: different GUIDs, the same pages (one with other tracking parameters).
    copies = [{**i, "guid": f"other-{n}", "link": i["link"].replace("utm_source=rss", "fbclid=x")} for n, i in
              enumerate(items)]  # fmt: skip

    await poller.poll_feed(feed(server.static("/a.xml", rss(items)), name="a"))
    result = await poller.poll_feed(feed(server.static("/b.xml", rss(copies)), name="b"))

    assert result.new == 0
    assert await redis.xlen(Keys(key_prefix).articles) == 2


async def test_the_same_text_under_another_guid_and_url_is_a_duplicate(
    server: FeedServer, poller: Poller, redis: Redis, key_prefix: str
) -> None:
    [item] = news_items(1)
    copy = {**item, "guid": "x-1", "link": "http://mirror.example.net/x/1"}

    await poller.poll_feed(feed(server.static("/a.xml", rss([item])), name="a"))
    result = await poller.poll_feed(feed(server.static("/b.xml", rss([copy])), name="b"))

    assert result.new == 0


def test_json_feed_fixture_is_valid_json() -> None:
    assert json.loads(json.dumps(JSON_FEED))["items"][0]["id"] == "1"


async def test_a_parse_worker_that_dies_fails_one_feed_and_is_replaced(
    server: FeedServer, app: web.Application, redis: Redis, key_prefix: str
) -> None:
    workers = WorkerPool(1)
    poller = Poller(
        app[INGEST].feeds,
        app[INGEST].sink,
        app[POLLER].fetcher,
        app[INGEST].store,
        app[METRICS],
        workers=workers,
    )
    try:
        await poller.poll_feed(feed(server.static("/a.xml", rss(news_items(1, prefix="a"))), name="a"))
        [pid] = list(getattr(workers.executor, "_processes", {}))
        os.kill(pid, signal.SIGKILL)
        await wait_until(lambda: not Path(f"/proc/{pid}").exists() or _is_zombie(pid))

        died = await poller.poll_feed(feed(server.static("/b.xml", rss(news_items(1, prefix="b"))), name="b"))
        after = await poller.poll_feed(
            feed(server.static("/c.xml", rss(news_items(1, prefix="c"))), name="c")
        )
    finally:
        await asyncio.to_thread(workers.close)

    assert (died.outcome, died.reason) == ("error", "the worker process died while handling this document")
    assert (after.outcome, after.new) == ("ok", 1)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


async def test_a_feeds_own_headers_are_sent_with_its_requests(server: FeedServer, poller: Poller) -> None:
    url = server.static("/private.xml", rss(news_items(1)))

    await poller.poll_feed(FeedConfig(name="private", url=url, headers={"Authorization": "Bearer s3cret"}))

    assert server.headers_seen["/private.xml"]["Authorization"] == "Bearer s3cret"
    assert server.headers_seen["/private.xml"]["User-Agent"].startswith("geoalert/")
