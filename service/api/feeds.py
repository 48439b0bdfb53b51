"""``GET /v1/feeds``: every configured feed with its polling state, as all pollers share it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from service.api.errors import error_response
from service.poller.feeds import FeedConfig
from service.poller.state import FeedState
from service.typedefs import INGEST

routes = web.RouteTableDef()


def _iso(seconds: float | None) -> str | None:
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat() if seconds is not None else None


def describe(feed: FeedConfig, state: FeedState) -> dict[str, Any]:
    return {
        "name": feed.name,
        "url": feed.url,
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
        "last_error": state.last_error,
        "warning": state.warning,
        "next_run": _iso(state.next_run) if feed.enabled else None,
    }


@routes.get("/v1/feeds")
async def list_feeds(request: web.Request) -> web.Response:
    ingest = request.app[INGEST]
    ingest.feeds.refresh()
    feeds = ingest.feeds.current
    states = await ingest.store.get_many([f.name for f in feeds])
    body: dict[str, Any] = {"feeds": [describe(f, s) for f, s in zip(feeds, states, strict=True)]}
    if ingest.feeds.problems:
        body["config_errors"] = [str(p) for p in ingest.feeds.problems]
    return web.json_response(body)


@routes.get("/v1/feeds/{name}")
async def get_feed(request: web.Request) -> web.Response:
    ingest = request.app[INGEST]
    ingest.feeds.refresh()
    name = request.match_info["name"]
    feed = next((f for f in ingest.feeds.current if f.name == name), None)
    if feed is None:
        return error_response(404, f"no feed named {name!r}")
    return web.json_response(describe(feed, await ingest.store.get(name)))
