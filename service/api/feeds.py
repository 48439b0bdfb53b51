"""``GET /v1/feeds``: every configured feed with its polling state, as all pollers share it."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web
from pydantic import BaseModel, Field

from service.api.framework import ApiError, ApiRoutes, json_of
from service.ingest.feeds import FeedConfig
from service.ingest.state import FeedState
from service.redact import redact_in, redact_url
from service.typedefs import INGEST

routes = ApiRoutes("feeds")


class FeedOut(BaseModel):
    name: str
    url: str = Field(description="as configured, with userinfo and secret-like query parameters shown as ***")
    enabled: bool
    interval: float
    full_text: bool
    status: str = Field(description="ok, not modified, error, failing, disabled or never fetched")
    failing: bool
    last_fetch: str | None
    last_success: str | None
    http_status: int | None
    etag: str | None
    last_modified: str | None
    items_seen: int
    new_articles: int
    consecutive_errors: int
    last_error: str | None
    warning: str | None
    next_run: str | None


class FeedList(BaseModel):
    feeds: list[FeedOut]
    config_errors: list[str] = Field(
        default_factory=list, description="problems of the feeds file; the last good version is in use"
    )


def _iso(seconds: float | None) -> str | None:
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat() if seconds is not None else None


def describe(feed: FeedConfig, state: FeedState) -> FeedOut:
    return FeedOut.model_validate(
        {
            "name": feed.name,
            "url": redact_url(feed.url),
            "enabled": feed.enabled,
            "interval": feed.interval,
            "full_text": feed.full_text,
            "status": state.status if feed.enabled else "disabled",
            "failing": state.status == "failing",
            "last_fetch": _iso(state.last_fetch),
            "last_success": _iso(state.last_success),
            "http_status": state.http_status,
            "etag": state.etag,
            "last_modified": state.last_modified,
            "items_seen": state.items_seen,
            "new_articles": state.new_articles,
            "consecutive_errors": state.consecutive_errors,
            "last_error": state.last_error and redact_in(state.last_error, feed.url),
            "warning": state.warning,
            "next_run": _iso(state.next_run) if feed.enabled else None,
        }
    )


@routes.route(
    "GET",
    "/v1/feeds",
    summary="Every configured feed and its polling state",
    responses={200: ("feeds", FeedList)},
)
async def list_feeds(request: web.Request) -> web.Response:
    ingest = request.app[INGEST]
    ingest.feeds.refresh()
    feeds = ingest.feeds.current
    states = await ingest.store.get_many([f.name for f in feeds])
    return json_of(
        FeedList(
            feeds=[describe(f, s) for f, s in zip(feeds, states, strict=True)],
            config_errors=[str(p) for p in ingest.feeds.problems],
        )
    )


@routes.route(
    "GET",
    "/v1/feeds/{name}",
    summary="One feed and its polling state",
    responses={200: ("the feed", FeedOut)},
)
async def get_feed(request: web.Request) -> web.Response:
    ingest = request.app[INGEST]
    ingest.feeds.refresh()
    name = request.match_info["name"]
    feed = next((f for f in ingest.feeds.current if f.name == name), None)
    if feed is None:
        raise ApiError(404, f"no feed named {name!r}")
    return json_of(describe(feed, await ingest.store.get(name)))
