"""``POST /v1/articles``: other systems push articles in, one or a batch, like polled ones.

The body is one article object, or ``{"items": [article, ...]}``. Pushed
articles are normalised and de-duplicated exactly as polled items are, and
the answer (202) says for each whether it was accepted or a duplicate, and
of what. Errors: 413 too large, 415 not JSON, 400 unreadable, 422 invalid
(with the field of each problem, e.g. ``items[0].title``).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Literal

from aiohttp import web
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    ValidationError,
    field_validator,
    model_validator,
)

from service.api.framework import ApiError, ApiRoutes, invalid, parse_json, query_of, read_body, require_json
from service.config import parse_duration
from service.ingest.minhash import signature
from service.ingest.normalise import RawItem, canonical_url, normalise
from service.ingest.quiet import TOO_OLD, AlertPolicy, with_reason
from service.models import Article, utcnow
from service.typedefs import INGEST, METRICS, SETTINGS

routes = ApiRoutes("articles")


class PushedArticle(BaseModel):
    """One pushed article. HTML in summary or body is reduced to text."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(
        default="push",
        min_length=1,
        max_length=200,
        description="the outlet or system the article is from (ids are unique per source)",
    )
    title: str = Field(default="", max_length=1_000)
    summary: str = Field(default="", max_length=100_000)
    body: str = Field(default="", max_length=1_000_000)
    url: str | None = Field(default=None, max_length=4_000, description="absolute http(s) URL of the article")
    # "id" as everywhere else (rules/test, geoalert match, the eval sets); "guid" as in feeds.
    guid: str | None = Field(
        default=None,
        max_length=1_000,
        validation_alias=AliasChoices("id", "guid"),
        serialization_alias="id",
        description='the sender\'s id of the article ("guid" is accepted for it, as in feeds)',
    )
    published: datetime | None = None
    language: str | None = Field(default=None, max_length=35)

    @field_validator("url")
    @classmethod
    def _absolute_url(cls, value: str | None) -> str | None:
        if value is not None and canonical_url(value) is None:
            raise ValueError("must be an absolute http(s) URL")
        return value

    @model_validator(mode="after")
    def _has_text(self) -> PushedArticle:
        if not (self.title.strip() or self.summary.strip() or self.body.strip()):
            raise ValueError("an article needs a title, a summary or a body")
        return self


class PushQuery(BaseModel):
    alert_max_age: float | None = Field(
        default=None,
        ge=0,
        description="store articles published longer ago than this (30m, 48h, 7d) without alerts;"
        " by default a pushed article may alert whatever its age",
    )

    @field_validator("alert_max_age", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        return parse_duration(value) if isinstance(value, str) else value


class PushBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[PushedArticle] = Field(min_length=1)


class PushBody(RootModel[PushedArticle | PushBatch]):
    """One article, or ``{"items": [...]}`` for a batch."""


class PushItem(BaseModel):
    id: str
    status: Literal["accepted", "duplicate"]
    duplicate_of: str | None = Field(default=None, description="the article this one repeats")
    duplicate_by: Literal["id", "url", "content"] | None = Field(
        default=None,
        description="what matched: id (this sender's GUID, or its URL when there is no GUID), url (the canonical URL, with the same headline or similar text) or content",
    )
    story_id: str | None = None
    story_sources: int | None = Field(default=None, description="outlets that carried the story so far")


class PushResult(BaseModel):
    accepted: int
    duplicates: int
    items: list[PushItem]


def _normalise(item: PushedArticle, now: datetime) -> tuple[Article | None, str | None]:
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


@routes.route(
    "POST",
    "/v1/articles",
    summary="Push one article or a batch; normalised and de-duplicated like polled ones",
    body=PushBody,
    query=PushQuery,
    responses={202: ("accepted or reported as duplicates, in order", PushResult)},
)
async def push_articles(request: web.Request) -> web.Response:
    settings, ingest = request.app[SETTINGS], request.app[INGEST]
    # Pushing is an explicit act (archives get pushed too): no age limit unless the sender sets one.
    policy = AlertPolicy(max_age=query_of(request, PushQuery).alert_max_age or 0, first_poll=True)
    require_json(request)
    # its own limit: batches may be larger than other bodies
    doc = parse_json(await read_body(request, settings.push_max_bytes))
    batch = isinstance(doc, dict) and "items" in doc
    if batch and isinstance(doc["items"], list) and len(doc["items"]) > settings.push_max_items:
        raise ApiError(
            413, f"batch of {len(doc['items'])} articles exceeds the limit of {settings.push_max_items}"
        )
    try:
        items = PushBatch.model_validate(doc).items if batch else [PushedArticle.model_validate(doc)]
    except ValidationError as exc:
        raise invalid(exc) from None
    now = utcnow()
    normalised = await asyncio.to_thread(lambda: [_normalise(i, now) for i in items])
    empty = [
        (f"items[{n}]" if batch else "body", "no text left once markup is removed")
        for n, (article, _) in enumerate(normalised)
        if article is None
    ]
    if empty:
        raise ApiError(422, "invalid article" + ("s" if batch else ""), empty)
    now_ts = now.timestamp()
    articles = [
        with_reason(a, policy.reason(a.published.timestamp() if a.published else None, now_ts))
        for a, _ in normalised
        if a is not None
    ]
    results = await ingest.sink.add_many(articles, [s for _, s in normalised])
    out = [
        PushItem(
            id=r.article_id,
            status="duplicate" if r.duplicate else "accepted",
            duplicate_of=r.duplicate_of if r.duplicate else None,
            duplicate_by=r.duplicate_by if r.duplicate else None,
            story_id=r.story_id or None,
            story_sources=r.story_sources if r.story_id else None,
        )
        for r in results
    ]
    accepted = sum(1 for r in results if not r.duplicate)
    quiet = sum(1 for a, r in zip(articles, results, strict=True) if a.quiet and not r.duplicate)
    if quiet:
        request.app[METRICS].articles_quiet.labels(TOO_OLD).inc(quiet)
    result = PushResult(accepted=accepted, duplicates=len(results) - accepted, items=out)
    return web.Response(
        status=202, text=result.model_dump_json(exclude_none=True), content_type="application/json"
    )
