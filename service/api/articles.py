"""``POST /v1/articles``: other systems push articles in, one or a batch, like polled ones.

The body is one article object, or ``{"items": [article, ...]}``. Pushed
articles are normalised and de-duplicated exactly as polled items are, and
the answer (202) says for each whether it was accepted or a duplicate, and
of what. Errors: 413 too large, 415 not JSON, 400 unreadable, 422 invalid
(with the field of each problem, e.g. ``items[0].title``).
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from service.api.errors import error_response, validation_fields
from service.models import Article, utcnow
from service.poller.minhash import signature
from service.poller.normalise import RawItem, canonical_url, normalise
from service.typedefs import INGEST, SETTINGS

routes = web.RouteTableDef()


class ArticleIn(BaseModel):
    """One pushed article. HTML in summary or body is reduced to text."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=200, description="the outlet or system the article is from")
    title: str = Field(default="", max_length=1_000)
    summary: str = Field(default="", max_length=100_000)
    body: str = Field(default="", max_length=1_000_000)
    url: str | None = Field(default=None, max_length=4_000, description="absolute http(s) URL of the article")
    guid: str | None = Field(default=None, max_length=1_000, description="the sender's id of the article")
    published: datetime | None = None
    language: str | None = Field(default=None, max_length=35)

    @field_validator("url")
    @classmethod
    def _absolute_url(cls, value: str | None) -> str | None:
        if value is not None and canonical_url(value) is None:
            raise ValueError("must be an absolute http(s) URL")
        return value

    @model_validator(mode="after")
    def _has_text(self) -> ArticleIn:
        if not (self.title.strip() or self.summary.strip() or self.body.strip()):
            raise ValueError("an article needs a title, a summary or a body")
        return self


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[ArticleIn] = Field(min_length=1)


def _normalise(item: ArticleIn, now: datetime) -> tuple[Article | None, str | None]:
    raw = RawItem(
        title=item.title,
        summary=item.summary,
        content=item.body,
        link=item.url,
        guid=item.guid,
        published=item.published,
        language=item.language,
    )
    # GUIDs are scoped to the sender, as a feed's GUIDs are to the feed.
    article = normalise(raw, feed=f"push/{item.source}", source=item.source, now=now)
    if article is None:
        return None, None
    article = article.model_copy(update={"feed": None})
    return article, signature(article.title, article.body)


async def _read_json(request: web.Request, limit: int) -> Any:
    if request.content_length is not None and request.content_length > limit:
        raise _Refused(
            error_response(413, f"body of {request.content_length} bytes exceeds the limit of {limit}")
        )
    if request.content_type != "application/json":
        raise _Refused(error_response(415, "expected Content-Type: application/json"))
    raw = await request.content.read(limit + 1)
    if len(raw) > limit:
        raise _Refused(error_response(413, f"body exceeds the limit of {limit} bytes"))
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _Refused(error_response(400, f"body is not valid JSON: {exc}")) from None


class _Refused(Exception):
    def __init__(self, response: web.Response) -> None:
        self.response = response


@routes.post("/v1/articles")
async def push_articles(request: web.Request) -> web.Response:
    settings, ingest = request.app[SETTINGS], request.app[INGEST]
    try:
        doc = await _read_json(request, settings.push_max_bytes)
    except _Refused as refused:
        return refused.response
    batch = isinstance(doc, dict) and "items" in doc
    if batch and isinstance(doc["items"], list) and len(doc["items"]) > settings.push_max_items:
        return error_response(
            413, f"batch of {len(doc['items'])} articles exceeds the limit of {settings.push_max_items}"
        )
    try:
        items = Batch.model_validate(doc).items if batch else [ArticleIn.model_validate(doc)]
    except ValidationError as exc:
        return error_response(422, "invalid article" + ("s" if batch else ""), validation_fields(exc))
    now = utcnow()
    normalised = await asyncio.to_thread(lambda: [_normalise(i, now) for i in items])
    empty = [
        {"field": f"items[{n}]" if batch else "body", "message": "no text left once markup is removed"}
        for n, (article, _) in enumerate(normalised)
        if article is None
    ]
    if empty:
        return error_response(422, "invalid article" + ("s" if batch else ""), empty)
    articles = [a for a, _ in normalised if a is not None]
    results = await ingest.sink.add_many(articles, [s for _, s in normalised])
    out = [
        {
            "id": r.article_id,
            "status": "duplicate" if r.duplicate else "accepted",
            **({"duplicate_of": r.duplicate_of, "duplicate_by": r.duplicate_by} if r.duplicate else {}),
            **({"story_id": r.story_id, "story_sources": r.story_sources} if r.story_id else {}),
        }
        for r in results
    ]
    accepted = sum(1 for r in results if not r.duplicate)
    return web.json_response(
        {"accepted": accepted, "duplicates": len(results) - accepted, "items": out}, status=202
    )
