"""``GET /v1/alerts``: the alert history, newest first, read from the alerts stream.

The cursor is a stream id, so pages are stable while new alerts arrive. A
rule filter scans a bounded number of entries per page; a page may then hold
fewer items than asked for and still have a ``next_cursor``.
"""

from __future__ import annotations

import re
from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError, field_validator

from service.api.framework import ApiRoutes, json_of, query_of
from service.api.schemas import AlertList, AlertOut, ErrorBody
from service.models import Alert
from service.typedefs import KEYS, REDIS

routes = ApiRoutes("alerts")

SCAN_FACTOR = 20  # entries looked at per item asked for, when filtering by rule
_STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
_ID_PART_MAX = 2**64 - 1  # each half of a stream id is an unsigned 64-bit number in Redis


class AlertQuery(BaseModel):
    rule: str | None = Field(default=None, max_length=128, description="only alerts of this rule")
    since: datetime | None = Field(default=None, description="only alerts raised at or after this time")
    cursor: str | None = Field(default=None, description="next_cursor of the previous page")
    limit: int = Field(default=50, ge=1, le=200)

    @field_validator("cursor")
    @classmethod
    def _stream_id(cls, value: str | None) -> str | None:
        if value == "":
            return None
        if value is not None and (
            not _STREAM_ID.match(value) or any(int(part) > _ID_PART_MAX for part in value.split("-"))
        ):
            raise ValueError("must be a next_cursor value like 1700000000000-0")
        return value

    @field_validator("since")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a timezone, e.g. 2026-01-31T09:00:00Z")
        return value


@routes.route(
    "GET",
    "/v1/alerts",
    summary="Alerts raised, newest first (cursor pagination)",
    query=AlertQuery,
    responses={200: ("a page of alerts", AlertList), 422: ("invalid: see error.fields", ErrorBody)},
)
async def list_alerts(request: web.Request) -> web.Response:
    query = query_of(request, AlertQuery)
    if query.cursor == "0-0":
        return json_of(AlertList(items=[], next_cursor=None))  # nothing comes before the first id
    redis, stream = request.app[REDIS], request.app[KEYS].alerts
    low = f"{max(int(query.since.timestamp() * 1000), 0)}-0" if query.since else "-"
    high = f"({query.cursor}" if query.cursor else "+"
    budget = query.limit * (SCAN_FACTOR if query.rule else 1)
    items: list[AlertOut] = []
    last_seen: str | None = None
    exhausted = False
    while len(items) < query.limit and budget > 0:
        batch = await redis.xrevrange(stream, max=high, min=low, count=min(budget, 500))
        if not batch:
            exhausted = True
            break
        budget -= len(batch)
        for entry_id, raw in batch:
            fields = raw or {}
            last_seen = str(entry_id)
            if query.rule and fields.get("rule") != query.rule:
                continue
            try:
                alert = Alert.model_validate_json(fields.get("data", ""))
            except ValidationError:
                continue  # a malformed entry is the dispatcher's dead letter; the history skips it
            items.append(AlertOut(**alert.model_dump(), cursor=last_seen))
            if len(items) == query.limit:
                break
        high = f"({last_seen}"
    next_cursor = None if exhausted or last_seen is None else last_seen
    if next_cursor is not None and not await redis.xrevrange(stream, max=f"({next_cursor}", min=low, count=1):
        next_cursor = None
    return json_of(AlertList(items=items, next_cursor=next_cursor))
