"""Fetching from a real server on loopback: conditional GET, limits, and servers that misbehave."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import AsyncIterator

import pytest

from notifiers.ssrf import AddressPolicy, parse_cidrs
from service.ingest.fetch import Fetcher, FetchError, FetchLimits, retry_after_seconds
from tests.feedserver import FeedServer, news_items, rss

LIMITS = FetchLimits(max_bytes=1024 * 1024, total_timeout=2.0, connect_timeout=1.0, max_redirects=3)


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    # Loopback opened to redirects, as GEOALERT_FETCH_ALLOW_CIDRS would: the test server is there.
    async with Fetcher.open(LIMITS, AddressPolicy(parse_cidrs("127.0.0.0/8"))) as fetcher:
        yield fetcher


async def test_a_feed_is_fetched_with_a_clear_user_agent(server: FeedServer, fetcher: Fetcher) -> None:
    url = server.static("/rss.xml", rss(news_items(2)))

    fetched = await fetcher.fetch_feed(url)

    assert fetched.status == 200
    assert b"Headline story 1" in fetched.body
    assert server.headers_seen["/rss.xml"]["User-Agent"].startswith("geoalert/")


async def test_sending_back_the_etag_gets_a_304_with_no_body(server: FeedServer, fetcher: Fetcher) -> None:
    url = server.conditional("/rss.xml", rss(news_items(2)), etag='"v1"')

    first = await fetcher.fetch_feed(url)
    second = await fetcher.fetch_feed(url, etag=first.etag)

    assert first.etag == '"v1"'
    assert second.not_modified
    assert second.body == b""


async def test_sending_back_last_modified_gets_a_304(server: FeedServer, fetcher: Fetcher) -> None:
    stamp = "Wed, 01 May 2024 12:00:00 GMT"
    url = server.conditional("/rss.xml", rss(news_items(1)), etag='"v1"', last_modified=stamp)

    second = await fetcher.fetch_feed(url, last_modified=(await fetcher.fetch_feed(url)).last_modified)

    assert second.not_modified


async def test_a_429_reports_the_retry_after_it_was_given(server: FeedServer, fetcher: Fetcher) -> None:
    url = server.static("/busy", "slow down", status=429, headers={"Retry-After": "120"})

    with pytest.raises(FetchError) as caught:
        await fetcher.fetch_feed(url)

    assert str(caught.value) == "HTTP 429"
    assert caught.value.retry_after == 120.0


async def test_a_503_retry_after_may_be_an_http_date(server: FeedServer, fetcher: Fetcher) -> None:
    url = server.static("/down", "down", status=503, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"})

    with pytest.raises(FetchError) as caught:
        await fetcher.fetch_feed(url)

    assert caught.value.status == 503
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 86400


def test_retry_after_that_cannot_be_read_is_ignored() -> None:
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("") is None
    assert retry_after_seconds("30") == 30.0


async def test_a_redirect_loop_stops_at_the_redirect_limit(server: FeedServer, fetcher: Fetcher) -> None:
    url = server.redirect_loop("/loop")

    with pytest.raises(FetchError, match="more than 3 redirects"):
        await fetcher.fetch_feed(url)

    # Four requests, each answered with a redirect: three followed, the fourth not.
    assert server.hits["/loop"] + server.hits["/loop/again"] == 4


async def test_a_gzip_bomb_is_cut_off_at_the_size_cap_without_inflating_it(
    server: FeedServer, fetcher: Fetcher
) -> None:
    url = server.gzip_bomb("/bomb.xml", expanded=200 * 1024 * 1024)

    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match=r"body larger than 1048576 bytes \(after decompression\)"):
            await fetcher.fetch_feed(url)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert peak < 16 * 1024 * 1024  # never near the 200 MB the body expands to


async def test_an_endless_body_is_cut_off_at_the_size_cap(server: FeedServer, fetcher: Fetcher) -> None:
    url = server.endless("/endless.xml")

    with pytest.raises(FetchError, match="body larger than 1048576 bytes"):
        await fetcher.fetch_feed(url)


async def test_an_endless_trickle_is_cut_off_by_the_total_timeout(
    server: FeedServer, fetcher: Fetcher
) -> None:
    url = server.endless("/trickle.xml", chunk=10, pause=0.05)

    started = asyncio.get_running_loop().time()
    with pytest.raises(FetchError, match="timed out after 2s"):
        await fetcher.fetch_feed(url)

    assert asyncio.get_running_loop().time() - started < 4


async def test_a_declared_content_length_over_the_cap_is_refused_before_reading(
    server: FeedServer, fetcher: Fetcher
) -> None:
    url = server.static("/huge.xml", b"x" * (2 * 1024 * 1024))

    with pytest.raises(FetchError, match="Content-Length 2097152"):
        await fetcher.fetch_feed(url)


async def test_requests_to_one_host_never_exceed_the_per_host_limit(server: FeedServer) -> None:
    limits = FetchLimits(per_host=2, total_timeout=5.0)
    for i in range(8):
        server.static(f"/slow{i}.xml", rss(news_items(1)), delay=0.05)

    async with Fetcher.open(limits) as fetcher:
        await asyncio.gather(*(fetcher.fetch_feed(server.url(f"/slow{i}.xml")) for i in range(8)))

    assert server.max_in_flight == 2


async def test_an_http_error_names_its_status(server: FeedServer, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError, match="HTTP 404"):
        await fetcher.fetch_feed(server.url("/missing.xml"))


async def test_a_refused_connection_is_a_fetch_error(fetcher: Fetcher) -> None:
    from service.embedded_redis import free_port

    with pytest.raises(FetchError, match="ClientConnectorError"):
        await fetcher.fetch_feed(f"http://127.0.0.1:{free_port()}/feed.xml")
