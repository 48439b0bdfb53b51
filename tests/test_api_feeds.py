"""Feeds managed over the API: added without a restart or file access, the file's kept read-only, OPML in and out."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from service.ingest.opml import parse_opml
from tests.apikit import Api, ApiFactory
from tests.feedserver import FeedServer, news_items, rss
from tests.helpers import wait_until

FILE_FEEDS = "feeds:\n  # the operator's own\n  - name: wire\n    url: https://wire.example/rss\n"


@pytest.fixture
def feeds_file(tmp_path: Path) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(FILE_FEEDS)
    return path


async def _opml(api: Api, method: str, body: bytes | None = None, **headers: str) -> tuple[int, str]:
    async with api.http.request(
        method,
        api.base + "/v1/feeds.opml",
        data=body,
        headers={"Authorization": f"Bearer {api.token}", **headers},
    ) as response:
        return response.status, await response.text()


async def test_a_feed_added_over_the_api_is_polled_without_a_restart(
    start_api: ApiFactory, server: FeedServer, feeds_file: Path
) -> None:
    server.static("/world.xml", rss(news_items(3, prefix="world")))
    api = await start_api(roles=("api", "poller"), feeds_file=feeds_file)
    status, body = await api.call(
        "POST",
        "/v1/feeds",
        {
            "name": "world",
            "url": server.url("/world.xml"),
            "interval": 60,
            "language": "en",
            "region": "global",
        },
    )
    assert status == 201, body
    assert body["source"] == "api"
    assert body["status"] == "never fetched"

    async def polled() -> bool:
        _, feed = await api.call("GET", "/v1/feeds/world")
        return bool(feed["items_seen"] == 3)

    await wait_until(polled, timeout=15)
    _, listing = await api.call("GET", "/v1/feeds")
    assert [(f["name"], f["source"]) for f in listing["feeds"]] == [("wire", "file"), ("world", "api")]


async def test_a_paused_or_removed_api_feed_is_no_longer_polled(
    start_api: ApiFactory, server: FeedServer, feeds_file: Path
) -> None:
    server.static("/a.xml", rss(news_items(1, prefix="a")))
    api = await start_api(roles=("api", "poller"), feeds_file=feeds_file)
    await api.call("POST", "/v1/feeds", {"name": "a", "url": server.url("/a.xml"), "interval": 60})
    await wait_until(lambda: server.hits["/a.xml"] >= 1, timeout=15)

    status, body = await api.call("PATCH", "/v1/feeds/a", {"enabled": False, "tags": ["paused"]})
    assert status == 200, body
    assert (body["enabled"], body["status"], body["tags"]) == (False, "disabled", ["paused"])
    status, _ = await api.call("DELETE", "/v1/feeds/a")
    assert status == 204
    assert (await api.call("GET", "/v1/feeds/a"))[0] == 404


async def test_the_feeds_files_feeds_are_read_only_and_their_names_taken(api_with_file: Api) -> None:
    api = api_with_file
    status, body = await api.call("PATCH", "/v1/feeds/wire", {"enabled": False})
    assert status == 409
    assert "feeds.yaml" in body["error"]["message"]
    assert (await api.call("DELETE", "/v1/feeds/wire"))[0] == 409
    status, body = await api.call("POST", "/v1/feeds", {"name": "wire", "url": "https://other.example/rss"})
    assert status == 409


@pytest.fixture
async def api_with_file(start_api: ApiFactory, feeds_file: Path) -> Api:
    api: Api = await start_api(feeds_file=feeds_file, webhook_allow_cidrs="", fetch_allow_cidrs="")
    return api


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("file:///etc/passwd", "http"),
        ("seeds/feed.xml", "http"),
        ("http://127.0.0.1:6379/", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::ffff:10.0.0.1]/rss", "private"),
        ("http://localhost/rss", "local name"),
        ("http://printer.local/rss", "local name"),
        ("https://user:pass@news.example/rss", "credentials"),
    ],
)
async def test_an_api_client_cannot_point_the_poller_at_local_files_or_private_hosts(
    api_with_file: Api, url: str, why: str
) -> None:
    status, body = await api_with_file.call("POST", "/v1/feeds", {"name": "x", "url": url})
    assert status == 422, body
    assert body["error"]["fields"][0]["field"] == "url"
    assert why in body["error"]["fields"][0]["message"]


async def test_a_feed_on_a_name_that_does_not_resolve_now_is_accepted(api_with_file: Api) -> None:
    # The guard decides at connect time; a host offline today may be up tomorrow.
    status, body = await api_with_file.call(
        "POST", "/v1/feeds", {"name": "later", "url": "https://news.invalid/rss", "headers": {"X-Key": "s3"}}
    )
    assert status == 201, body
    assert "headers" not in body  # request headers may hold keys: never shown


async def test_feed_urls_are_shown_without_credentials_in_the_opml_export(
    start_api: ApiFactory, tmp_path: Path
) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "feeds:\n  - name: paid\n    url: https://me:hunter2@wire.example/rss?api_key=abc&section=world\n"
        "    language: fr\n    region: europe\n    tags: [wire]\n"
    )
    api = await start_api(feeds_file=path)
    status, text = await _opml(api, "GET")
    assert status == 200
    assert "hunter2" not in text
    assert "abc" not in text
    [feed] = parse_opml(text.encode()).feeds
    assert (feed.name, feed.language, feed.region, feed.tags) == ("paid", "fr", "europe", ["wire"])
    assert "section=world" in feed.url


async def test_an_opml_import_adds_new_feeds_and_says_what_it_skipped(api_with_file: Api) -> None:
    doc = b"""<?xml version="1.0"?><opml version="2.0"><head/><body>
      <outline text="Africa">
        <outline type="rss" text="All Africa" xmlUrl="https://allafrica.example/latest.rdf"/>
      </outline>
      <outline type="rss" text="Wire again" xmlUrl="https://wire.example/rss"/>
      <outline type="rss" text="Router" xmlUrl="http://192.168.1.1/feed"/>
      <outline type="rss" text="Disk" xmlUrl="file:///etc/shadow"/>
    </body></opml>"""
    status, text = await _opml(api_with_file, "POST", doc, **{"Content-Type": "text/x-opml"})
    assert status == 200, text
    _, listing = await api_with_file.call("GET", "/v1/feeds")
    added = {f["name"]: f for f in listing["feeds"] if f["source"] == "api"}
    assert list(added) == ["all-africa"]
    assert added["all-africa"]["tags"] == ["africa"]
    assert text.count('"why"') == 3  # the file's own URL, a private address, a local file


@pytest.mark.parametrize(
    "doc",
    [
        b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x "y">]><opml><body/></opml>',
        b"<rss><channel/></rss>",
        b"<opml><body>" + b"<outline text='f'>" * 40 + b"</outline>" * 40 + b"</body></opml>",
        b"not xml at all",
    ],
)
async def test_a_hostile_or_broken_opml_document_is_refused_with_a_reason(
    api_with_file: Api, doc: bytes
) -> None:
    status, text = await _opml(api_with_file, "POST", doc, **{"Content-Type": "text/x-opml"})
    assert status == 422, text
    assert "OPML" in text


async def test_feeds_cannot_be_added_without_the_token(api_with_file: Api) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(api_with_file.base + "/v1/feeds", json={"name": "x", "url": "https://a.example/"}) as r,
    ):
        assert r.status == 401
