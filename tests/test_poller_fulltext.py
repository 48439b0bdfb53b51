"""Full text: for summary-only feeds, each new article's page is fetched and its main text extracted."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from redis.asyncio import Redis

from service.app import create_app
from service.ingest.feeds import FeedConfig
from service.ingest.poller import Poller
from service.keys import Keys
from service.models import Article
from service.typedefs import POLLER
from tests.conftest import SettingsFactory
from tests.feedserver import FeedServer, rss
from tests.helpers import running

PARAGRAPHS = [
    "The defence ministers of both countries met in the capital on Wednesday to sign the agreement.",
    "Under the deal, the first deliveries of the air defence systems are due early next year, officials said.",
    "The agreement also covers training for crews and the maintenance of the systems for ten years.",
    "Opposition lawmakers criticised the cost of the purchase and asked for a debate in parliament.",
]
PAGE = (
    "<!DOCTYPE html><html lang='en'><head><title>Deal signed</title><script>track()</script></head><body>"
    "<nav><a href='/'>Home</a> | <a href='/world'>World</a></nav>"
    "<article><h1>Deal signed</h1>" + "".join(f"<p>{p}</p>" for p in PARAGRAPHS) + "</article>"
    "<footer>Copyright Example News. All rights reserved.</footer></body></html>"
)


@pytest.fixture
async def poller(make_settings: SettingsFactory) -> AsyncIterator[Poller]:
    # The pages are on loopback: opened to links on purpose, as an operator may.
    app: web.Application = create_app(make_settings(fetch_allow_cidrs="127.0.0.0/8"), roles=["poller"])
    async with running(app):
        yield app[POLLER]


def summary_feed(server: FeedServer, page_path: str) -> str:
    item = {"title": "Deal signed", "guid": "deal-1", "link": server.url(page_path),
            "description": "Ministers sign a deal."}  # fmt: skip
    return server.static("/feed.xml", rss([item]))


async def test_the_main_text_of_the_page_replaces_the_summary(
    server: FeedServer, poller: Poller, redis: Redis, key_prefix: str
) -> None:
    server.static("/deal.html", PAGE, content_type="text/html")
    url = summary_feed(server, "/deal.html")

    await poller.poll_feed(FeedConfig(name="wire", url=url, full_text=True))

    [(_, fields)] = await redis.xrange(Keys(key_prefix).articles)
    article = Article.model_validate_json(fields["data"])
    assert all(p in article.body for p in PARAGRAPHS)
    assert "track()" not in article.body
    assert "All rights reserved" not in article.body
    assert article.summary == "Ministers sign a deal."


async def test_a_page_that_cannot_be_fetched_keeps_the_summary(
    server: FeedServer, poller: Poller, redis: Redis, key_prefix: str
) -> None:
    url = summary_feed(server, "/missing.html")

    result = await poller.poll_feed(FeedConfig(name="wire", url=url, full_text=True))

    [(_, fields)] = await redis.xrange(Keys(key_prefix).articles)
    assert result.new == 1
    assert Article.model_validate_json(fields["data"]).body == "Ministers sign a deal."


async def test_pages_of_articles_already_ingested_are_not_fetched_again(
    server: FeedServer, poller: Poller
) -> None:
    server.static("/deal.html", PAGE, content_type="text/html")
    feed = FeedConfig(name="wire", url=summary_feed(server, "/deal.html"), full_text=True)

    await poller.poll_feed(feed)
    await poller.poll_feed(feed)

    assert server.hits["/deal.html"] == 1


async def test_feeds_without_the_option_never_fetch_pages(server: FeedServer, poller: Poller) -> None:
    server.static("/deal.html", PAGE, content_type="text/html")

    await poller.poll_feed(FeedConfig(name="wire", url=summary_feed(server, "/deal.html")))

    assert server.hits["/deal.html"] == 0
