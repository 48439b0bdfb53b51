"""``POST /v1/articles``: push one article or a batch; validated, size-limited, de-duplicated like polled ones."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from service.app import create_app
from service.keys import Keys
from service.models import Article
from tests.conftest import SettingsFactory
from tests.helpers import running

ARTICLE = {
    "source": "Wire Service",
    "title": "Leaders meet <b>in Hanoi</b>",
    "body": "<p>The two leaders met on Thursday &amp; agreed to talk again.</p>",
    "url": "https://news.example.com/hanoi?utm_campaign=push",
    "published": "2024-05-01T10:00:00+02:00",
}


@pytest.fixture
async def api(make_settings: SettingsFactory) -> AsyncIterator[tuple[str, aiohttp.ClientSession]]:
    app = create_app(make_settings(push_max_bytes=64 * 1024, push_max_items=10), roles=["api"])
    async with running(app, listen=True) as base, aiohttp.ClientSession() as client:
        yield base, client


async def post(api: tuple[str, aiohttp.ClientSession], body: Any, **kwargs: Any) -> tuple[int, Any]:
    base, client = api
    async with client.post(f"{base}/v1/articles", json=body, **kwargs) as response:
        return response.status, await response.json()


async def test_one_article_is_accepted_normalised_and_appended(
    api: tuple[str, aiohttp.ClientSession], redis: Redis, key_prefix: str
) -> None:
    status, body = await post(api, ARTICLE)

    assert status == 202
    assert body["accepted"] == 1
    [(_, fields)] = await redis.xrange(Keys(key_prefix).articles)
    article = Article.model_validate_json(fields["data"])
    assert body["items"][0]["id"] == article.id
    assert article.title == "Leaders meet in Hanoi"
    assert article.body == "The two leaders met on Thursday & agreed to talk again."
    assert article.url == "https://news.example.com/hanoi"
    assert article.published is not None
    assert article.published.isoformat() == "2024-05-01T08:00:00+00:00"
    assert (article.source, article.feed) == ("Wire Service", None)


async def test_a_batch_reports_each_article_and_duplicates_as_such(
    api: tuple[str, aiohttp.ClientSession], redis: Redis, key_prefix: str
) -> None:
    other = {**ARTICLE, "title": "Another story", "url": "https://news.example.com/other",
             "body": "Something else entirely happened somewhere else."}  # fmt: skip
    await post(api, ARTICLE)

    status, body = await post(api, {"items": [ARTICLE, other]})

    assert status == 202
    assert (body["accepted"], body["duplicates"]) == (1, 1)
    first, second = body["items"]
    assert (first["status"], first["duplicate_by"]) == ("duplicate", "id")
    assert first["duplicate_of"] == first["id"]
    assert second["status"] == "accepted"
    assert await redis.xlen(Keys(key_prefix).articles) == 2


async def test_the_same_text_pushed_under_another_url_is_a_duplicate(
    api: tuple[str, aiohttp.ClientSession],
) -> None:
    await post(api, ARTICLE)

    _, body = await post(api, {**ARTICLE, "url": "https://mirror.example.org/copy"})

    assert body["items"][0]["status"] == "duplicate"
    assert body["items"][0]["duplicate_by"] == "content"


async def test_invalid_fields_are_each_named_with_a_422(api: tuple[str, aiohttp.ClientSession]) -> None:
    # A source is optional (README, "Articles"): a bad one is named like any other field.
    bad = [
        {"title": "t", "source": ""},
        {**ARTICLE, "url": "ftp://x", "published": "yesterday"},
        {"source": "s"},
    ]

    status, body = await post(api, {"items": bad})

    assert status == 422
    fields = {f["field"] for f in body["error"]["fields"]}
    assert fields == {"items[0].source", "items[1].url", "items[1].published", "items[2]"}


async def test_an_unknown_field_is_refused(api: tuple[str, aiohttp.ClientSession]) -> None:
    status, body = await post(api, {**ARTICLE, "colour": "red"})

    assert status == 422
    assert body["error"]["fields"] == [{"field": "colour", "message": "Extra inputs are not permitted"}]


async def test_an_article_whose_text_is_only_markup_is_refused(
    api: tuple[str, aiohttp.ClientSession],
) -> None:
    status, body = await post(api, {"source": "s", "body": "<script>x()</script>"})

    assert status == 422
    assert body["error"]["fields"] == [{"field": "body", "message": "no text left once markup is removed"}]


async def test_a_body_over_the_size_limit_is_413(api: tuple[str, aiohttp.ClientSession]) -> None:
    status, body = await post(api, {**ARTICLE, "body": "x" * 70_000})

    assert status == 413
    assert "larger than the limit of 65536 bytes" in body["error"]["message"]


async def test_a_batch_over_the_item_limit_is_413(api: tuple[str, aiohttp.ClientSession]) -> None:
    status, body = await post(api, {"items": [ARTICLE] * 11})

    assert status == 413
    assert body["error"]["message"] == "batch of 11 articles exceeds the limit of 10"


async def test_a_body_that_is_not_json_is_400(api: tuple[str, aiohttp.ClientSession]) -> None:
    base, client = api
    async with client.post(
        f"{base}/v1/articles", data=b"{not json", headers={"Content-Type": "application/json"}
    ) as response:
        assert response.status == 400
        assert (await response.json())["error"]["message"].startswith("the body is not valid JSON")
