"""``GET /v1/alerts``: the alert history, newest first, read from the alerts stream.

The cursor is a stream id, so pages are stable while new alerts arrive.
Filters (rule, tag, severity, source, language, words) scan a bounded number
of entries per page; a page may then hold fewer items than asked for and
still have a ``next_cursor``. A query parameter the route does not know is a
422: a filter silently ignored would return everything.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from service.api.framework import ApiRoutes, json_of, query_of
from service.api.schemas import AlertList, AlertOut, ErrorBody
from service.config import parse_durations
from service.models import SEVERITY_ORDER, Alert, Severity, utcnow
from service.typedefs import KEYS, REDIS

routes = ApiRoutes("alerts")

SCAN_FACTOR = 20  # entries looked at per item asked for, when filtering by rule
_STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
_ID_PART_MAX = 2**64 - 1  # each half of a stream id is an unsigned 64-bit number in Redis
_AGE = re.compile(r"^\d{1,9}(\.\d+)?[smhd]$", re.IGNORECASE)


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip().casefold() for v in (value or "").split(",") if v.strip())


class AlertQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: str | None = Field(default=None, max_length=128, description="only alerts of this rule")
    tag: str | None = Field(default=None, max_length=128, description="only alerts of rules with this tag")
    severity: str | None = Field(
        default=None, max_length=64, description="only these severities, comma-separated (high,critical)"
    )
    min_severity: Severity | None = Field(default=None, description="only this severity or a higher one")
    source: str | None = Field(default=None, max_length=200, description="only articles of this outlet")
    language: str | None = Field(
        default=None, max_length=35, description="only articles in this language (en also matches en-GB)"
    )
    q: str | None = Field(
        default=None,
        max_length=200,
        description="words that must all appear (any case) in the article title or the evidence",
    )
    since: datetime | None = Field(
        default=None,
        description="only alerts raised at or after this time: a timestamp with a timezone,"
        " or an age such as 30m, 1h, 7d",
    )
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

    @field_validator("severity")
    @classmethod
    def _severities(cls, value: str | None) -> str | None:
        unknown = [s for s in _csv(value) if s not in SEVERITY_ORDER]
        if unknown:
            raise ValueError(f"unknown severity {unknown[0]!r}; one of {', '.join(SEVERITY_ORDER)}")
        return value

    @field_validator("since", mode="before")
    @classmethod
    def _relative(cls, value: object) -> object:
        # "1h" is far easier to type than a timestamp, and means "the last hour".
        if isinstance(value, str) and _AGE.match(value.strip()):
            return utcnow() - timedelta(seconds=parse_durations(value)[0])
        return value

    @field_validator("since")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a timezone, e.g. 2026-01-31T09:00:00Z, or an age such as 1h or 7d")
        return value

    def filtered(self) -> bool:
        return any(
            (self.rule, self.tag, self.severity, self.min_severity, self.source, self.language, self.q)
        )

    def wants(self, alert: Alert) -> bool:
        """True when the alert passes every filter given (the rule filter was applied on the entry)."""
        rule, article = alert.rule, alert.article
        if self.tag and self.tag.casefold() not in (t.casefold() for t in rule.tags):
            return False
        if self.severity and rule.severity not in _csv(self.severity):
            return False
        if self.min_severity and SEVERITY_ORDER[rule.severity] < SEVERITY_ORDER[self.min_severity]:
            return False
        if self.source and (article.source or "").casefold() != self.source.strip().casefold():
            return False
        if self.language:
            wanted, language = self.language.strip().casefold(), (article.language or "").casefold()
            if language != wanted and not language.startswith(wanted + "-"):
                return False
        if self.q:
            haystack = " ".join(
                [
                    article.title,
                    rule.title,
                    *(e.text for e in alert.evidence),
                    *(e.snippet for e in alert.evidence),
                ]
            ).casefold()
            if not all(word in haystack for word in self.q.casefold().split()):
                return False
        return True


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
    budget = query.limit * (SCAN_FACTOR if query.filtered() else 1)
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
            if not query.wants(alert):
                continue
            items.append(AlertOut(**alert.model_dump(), cursor=last_seen))
            if len(items) == query.limit:
                break
        high = f"({last_seen}"
    next_cursor = None if exhausted or last_seen is None else last_seen
    if next_cursor is not None and not await redis.xrevrange(stream, max=f"({next_cursor}", min=low, count=1):
        next_cursor = None
    return json_of(AlertList(items=items, next_cursor=next_cursor))
