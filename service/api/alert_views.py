"""New alerts as they are raised (``GET /v1/alerts/stream``, Server-Sent Events) and one alert in full.

The stream reads the alerts stream with a blocking XREAD, one per open
connection, so the number of open streams is bounded per process (each
holds a Redis connection while it waits). A reconnecting browser sends
``Last-Event-ID`` and resumes after the last alert it saw.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

from service.api.framework import ApiError, ApiRoutes, json_of
from service.api.schemas import AlertOut, DeliveryOut, ErrorBody
from service.delivery import delivery_id_for
from service.models import Alert, Article
from service.typedefs import DELIVERY_QUEUE, KEYS, REDIS, SUBSCRIPTIONS

routes = ApiRoutes("alerts")

STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
MAX_STREAMS = 32  # open alert streams per process: each holds a Redis connection while it waits
HEARTBEAT_SECONDS = 15.0  # a comment line now and then, so proxies keep the connection open
POLL_MS = 1000  # longest blocking read, so a stream notices shutdown within a second
MAX_DELIVERIES_SHOWN = 500

STREAM_SLOTS = web.AppKey("alert_stream_slots", asyncio.Semaphore)
STREAMS_STOP = web.AppKey("alert_streams_stop", asyncio.Event)


class StoryOut(BaseModel):
    id: str
    sources: list[str] = Field(description="the outlets that carried the story so far")


class AlertDetail(BaseModel):
    alert: AlertOut
    article: Article | None = Field(description="the article's full text, while the articles stream holds it")
    story: StoryOut
    deliveries: list[DeliveryOut] = Field(description="one per subscription the alert was sent to")


async def _stop_streams(app: web.Application) -> None:
    app[STREAMS_STOP].set()


def setup_alert_streams(app: web.Application) -> None:
    app[STREAM_SLOTS] = asyncio.Semaphore(MAX_STREAMS)
    app[STREAMS_STOP] = asyncio.Event()
    app.on_shutdown.append(_stop_streams)


async def _entries_after(request: web.Request, last: str) -> AsyncIterator[tuple[str, dict[str, str]]]:
    """Alerts appended after ``last``, as they come; ends at shutdown. Yields ("", {}) as a heartbeat."""
    redis, stream, stop = request.app[REDIS], request.app[KEYS].alerts, request.app[STREAMS_STOP]
    idle = 0.0
    while not stop.is_set():
        reply: Any = await redis.xread({stream: last}, count=100, block=POLL_MS)
        if not reply:
            idle += POLL_MS / 1000
            if idle >= HEARTBEAT_SECONDS:
                idle = 0.0
                yield "", {}
            continue
        idle = 0.0
        # RESP2 answers [[stream, entries]], RESP3 {stream: [entries]}
        entries = next(iter(reply.values()))[0] if isinstance(reply, dict) else reply[0][1]
        for entry_id, fields in entries:
            last = str(entry_id)
            yield last, {str(k): str(v) for k, v in (fields or {}).items()}


async def _start_after(request: web.Request) -> str:
    given = request.headers.get("Last-Event-ID") or request.query.get("after") or ""
    if given:
        if not STREAM_ID.match(given):
            raise ApiError(422, "after / Last-Event-ID must be an alert cursor like 1700000000000-0")
        return given
    newest = await request.app[REDIS].xrevrange(request.app[KEYS].alerts, count=1)
    return str(newest[0][0]) if newest else "0-0"


@routes.route(
    "GET",
    "/v1/alerts/stream",
    summary="New alerts as Server-Sent Events (event: alert, id: its cursor); resumes after Last-Event-ID",
    responses={200: ("text/event-stream", None), 503: ("too many open streams", ErrorBody)},
    media_type="text/event-stream",
)
async def stream_alerts(request: web.Request) -> web.StreamResponse:
    rule = request.query.get("rule") or None
    start = await _start_after(request)
    slots = request.app[STREAM_SLOTS]
    if slots.locked():
        raise ApiError(503, "too many open alert streams; try again shortly", headers={"Retry-After": "10"})
    async with slots:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",  # nginx would otherwise hold events back
            }
        )
        await response.prepare(request)
        await response.write(b"retry: 3000\n\n")
        try:
            async for entry_id, fields in _entries_after(request, start):
                if not entry_id:
                    await response.write(b": keep-alive\n\n")
                    continue
                if rule and fields.get("rule") != rule:
                    continue
                try:
                    alert = Alert.model_validate_json(fields.get("data", ""))
                except ValidationError:
                    continue
                data = AlertOut(**alert.model_dump(), cursor=entry_id).model_dump_json()
                await response.write(f"id: {entry_id}\nevent: alert\ndata: {data}\n\n".encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass  # the browser went away, or the service is stopping
        return response


async def _article(request: web.Request, entry_id: str | None) -> Article | None:
    if not entry_id or not STREAM_ID.match(entry_id):
        return None
    found = await request.app[REDIS].xrange(request.app[KEYS].articles, min=entry_id, max=entry_id, count=1)
    if not found:
        return None  # trimmed away since
    try:
        return Article.model_validate_json((found[0][1] or {}).get("data", ""))
    except ValidationError:
        return None


async def _deliveries(request: web.Request, alert_id: str) -> list[DeliveryOut]:
    subs = (await request.app[SUBSCRIPTIONS].all())[:MAX_DELIVERIES_SHOWN]
    queue = request.app[DELIVERY_QUEUE]
    records = await asyncio.gather(*(queue.get(delivery_id_for(alert_id, s.id)) for s in subs))
    return [DeliveryOut.of(r, []) for r in records if r is not None]


@routes.route(
    "GET",
    "/v1/alerts/{cursor}",
    summary="One alert (by its cursor) with the article's text, its story's outlets and its deliveries",
    responses={200: ("the alert", AlertDetail), 404: ("no such alert", ErrorBody)},
)
async def get_alert(request: web.Request) -> web.Response:
    cursor = request.match_info["cursor"]
    if not STREAM_ID.match(cursor):
        raise ApiError(404, "an alert is named by its cursor, like 1700000000000-0")
    redis, keys = request.app[REDIS], request.app[KEYS]
    found = await redis.xrange(keys.alerts, min=cursor, max=cursor, count=1)
    if not found:
        raise ApiError(404, f"no alert has the cursor {cursor!r} (old alerts are trimmed away)")
    fields = found[0][1] or {}
    try:
        alert = Alert.model_validate_json(str(fields.get("data", "")))
    except ValidationError:
        raise ApiError(404, f"the entry {cursor!r} is not a readable alert") from None
    sources = sorted(await redis.smembers(keys.story_sources(alert.story_id)))
    detail = AlertDetail(
        alert=AlertOut(**alert.model_dump(), cursor=cursor),
        article=await _article(request, str(fields.get("article_entry", ""))),
        story=StoryOut(id=alert.story_id, sources=[str(s) for s in sources][:200]),
        deliveries=await _deliveries(request, alert.id),
    )
    return json_of(detail)
