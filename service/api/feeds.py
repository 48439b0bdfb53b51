"""``/v1/feeds``: every feed with its polling state; feeds added, changed and removed over the API.

The feeds file's feeds are listed read-only (changing them is a 409 with a
pointer to the file); feeds added here live in Redis and every poller picks
them up within its reload interval, no restart. ``/v1/feeds.opml`` exports
the list and imports a feed reader's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from yarl import URL

from notifiers.ssrf import UnsafeAddress, parse_url
from service.api.framework import ApiError, ApiRoutes, body_of, invalid, json_of
from service.api.schemas import ErrorBody
from service.ingest.feed_directory import FeedEntry, FeedExists, FeedSource, TooManyFeeds
from service.ingest.feeds import FeedConfig
from service.ingest.opml import OpmlError, export_opml, parse_opml
from service.ingest.state import FeedState
from service.redact import redact_in, redact_url, secret_parameter
from service.typedefs import FETCHGUARD, INGEST, KEYS, REDIS

routes = ApiRoutes("feeds")

NOT_FOUND = (404, ("no such feed", ErrorBody))
INVALID = (422, ("invalid: see error.fields", ErrorBody))
READ_ONLY = (409, ("the feed is declared in the feeds file, or the name is taken", ErrorBody))
OPML_TYPES = frozenset({"text/x-opml", "text/xml", "application/xml", "application/octet-stream"})
# Names that point into the machine or its network whatever they resolve to.
LOCAL_NAMES = ("localhost", ".localhost", ".local", ".internal", ".home.arpa", ".lan")


class FeedOut(BaseModel):
    name: str
    source: FeedSource = Field(description="file: the feeds file (read-only here); api: added over the API")
    url: str = Field(description="as configured, with userinfo and secret-like query parameters shown as ***")
    enabled: bool
    interval: float
    full_text: bool
    language: str | None
    region: str | None
    tags: list[str]
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


class FeedIn(BaseModel):
    """A feed to add over the API; the same fields as an entry of the feeds file."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[\w.\-]+$")
    url: str = Field(min_length=1, max_length=2048, description="an http(s):// URL on a public host")
    interval: float = Field(default=300, ge=60, le=7 * 86400, description="seconds between polls")
    enabled: bool = True
    headers: dict[str, str] = Field(
        default_factory=dict, max_length=20, description="extra request headers (never shown in reads)"
    )
    full_text: bool = False
    language: str | None = None
    region: str | None = None
    tags: list[str] = Field(default_factory=list)


class FeedPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, min_length=1, max_length=2048)
    interval: float | None = Field(default=None, ge=60, le=7 * 86400)
    enabled: bool | None = None
    headers: dict[str, str] | None = Field(default=None, max_length=20)
    full_text: bool | None = None
    language: str | None = None
    region: str | None = None
    tags: list[str] | None = None


class ImportedFeeds(BaseModel):
    added: list[str] = Field(description="names of the feeds added")
    skipped: list[dict[str, str]] = Field(description="outlines not imported: {'what', 'why'}")


def _iso(seconds: float | None) -> str | None:
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat() if seconds is not None else None


def describe(entry: FeedEntry, state: FeedState) -> FeedOut:
    feed = entry.feed
    return FeedOut.model_validate(
        {
            "name": feed.name,
            "source": entry.source,
            "url": redact_url(feed.url),
            "enabled": feed.enabled,
            "interval": feed.interval,
            "full_text": feed.full_text,
            "language": feed.language,
            "region": feed.region,
            "tags": feed.tags,
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


async def _directory(request: web.Request) -> Any:
    feeds = request.app[INGEST].feeds
    await feeds.sync()  # the api role may run alone: see the file's and the other processes' changes
    return feeds


def _check_url(request: web.Request, url: str) -> None:
    """What an API client may point the poller at: a public http(s) host, no credentials in the URL.

    Names are not resolved here (a host may be offline now, or resolve
    differently later): the fetcher's guard decides at connect time.
    """
    try:
        parsed = parse_url(url)
        request.app[FETCHGUARD].check_literal(parsed.raw_host or "")
    except (ValueError, UnsafeAddress) as exc:
        raise ApiError(422, "the request is not valid; see fields", [("url", str(exc))]) from None
    host = (parsed.raw_host or "").lower().rstrip(".")
    if host in LOCAL_NAMES or host.endswith(LOCAL_NAMES[1:]):
        raise ApiError(422, "the request is not valid; see fields", [("url", f"{host!r} is a local name")])


def _config(data: dict[str, Any]) -> FeedConfig:
    try:
        return FeedConfig.model_validate(data)
    except ValidationError as exc:
        raise invalid(exc) from None


def _api_feed(request: web.Request, directory: Any) -> FeedEntry:
    name = request.match_info["name"]
    entry: FeedEntry | None = directory.find(name)
    if entry is None:
        raise ApiError(404, f"no feed named {name!r}")
    if entry.source == "file":
        raise ApiError(
            409, f"feed {name!r} is declared in {directory.path}, which is read-only here: edit the file"
        )
    return entry


@routes.route(
    "GET",
    "/v1/feeds",
    summary="Every feed (the file's and the API's) and its polling state",
    responses={200: ("feeds", FeedList)},
)
async def list_feeds(request: web.Request) -> web.Response:
    directory = await _directory(request)
    entries = list(directory.entries)
    states = await request.app[INGEST].store.get_many([e.feed.name for e in entries])
    return json_of(
        FeedList(
            feeds=[describe(e, s) for e, s in zip(entries, states, strict=True)],
            config_errors=[str(p) for p in directory.problems],
        )
    )


@routes.route(
    "POST",
    "/v1/feeds",
    summary="Add a feed; every poller picks it up within its reload interval",
    body=FeedIn,
    responses={201: ("added", FeedOut), 409: READ_ONLY[1], 422: INVALID[1]},
)
async def add_feed(request: web.Request) -> web.Response:
    given = await body_of(request, FeedIn)
    _check_url(request, given.url)
    feed = _config(given.model_dump())
    directory = await _directory(request)
    if directory.find(feed.name) is not None:
        raise ApiError(409, f"a feed named {feed.name!r} already exists")
    try:
        await directory.registry.add([feed])
    except FeedExists:
        raise ApiError(409, f"a feed named {feed.name!r} already exists") from None
    except TooManyFeeds as exc:
        raise ApiError(409, str(exc)) from None
    await directory.sync()
    state = await request.app[INGEST].store.get(feed.name)
    return json_of(describe(FeedEntry(feed, "api"), state), status=201)


@routes.route(
    "GET",
    "/v1/feeds/{name}",
    summary="One feed and its polling state",
    responses={200: ("the feed", FeedOut), 404: NOT_FOUND[1]},
)
async def get_feed(request: web.Request) -> web.Response:
    directory = await _directory(request)
    name = request.match_info["name"]
    entry = directory.find(name)
    if entry is None:
        raise ApiError(404, f"no feed named {name!r}")
    return json_of(describe(entry, await request.app[INGEST].store.get(name)))


@routes.route(
    "PATCH",
    "/v1/feeds/{name}",
    summary="Change a feed added over the API (pause it with enabled: false)",
    body=FeedPatch,
    responses={200: ("changed", FeedOut), 404: NOT_FOUND[1], 409: READ_ONLY[1], 422: INVALID[1]},
)
async def patch_feed(request: web.Request) -> web.Response:
    given = await body_of(request, FeedPatch)
    directory = await _directory(request)
    entry = _api_feed(request, directory)
    changes = given.model_dump(exclude_unset=True)
    if changes.get("url") is not None:
        _check_url(request, changes["url"])
    feed = _config({**entry.feed.model_dump(), **changes})
    await directory.registry.add([feed], replace=True)
    await directory.sync()
    return json_of(describe(FeedEntry(feed, "api"), await request.app[INGEST].store.get(feed.name)))


@routes.route(
    "DELETE",
    "/v1/feeds/{name}",
    summary="Remove a feed added over the API, and its polling state",
    responses={204: ("removed", None), 404: NOT_FOUND[1], 409: READ_ONLY[1]},
)
async def delete_feed(request: web.Request) -> web.Response:
    directory = await _directory(request)
    entry = _api_feed(request, directory)
    await directory.registry.remove(entry.feed.name)
    await request.app[REDIS].delete(request.app[KEYS].feed_state(entry.feed.name))
    await directory.sync()
    return web.Response(status=204)


@routes.route(
    "GET",
    "/v1/feeds.opml",
    summary="Every feed as OPML, for a feed reader (credentials in URLs are left out)",
    responses={200: ("an OPML 2.0 document", None)},
    media_type="text/x-opml",
)
async def export_feeds(request: web.Request) -> web.Response:
    directory = await _directory(request)
    feeds = [f.model_copy(update={"url": public_url(f.url)}) for f in directory.current]
    return web.Response(
        text=export_opml(feeds),
        content_type="text/x-opml",
        headers={"Content-Disposition": 'attachment; filename="geoalert-feeds.opml"'},
    )


@routes.route(
    "POST",
    "/v1/feeds.opml",
    summary="Add every feed of an OPML document (names already taken get a suffix; http(s) only)",
    responses={200: ("what was added and skipped", ImportedFeeds), 409: READ_ONLY[1], 422: INVALID[1]},
    media_type="text/x-opml",
)
async def import_feeds(request: web.Request) -> web.Response:
    if request.content_type not in OPML_TYPES:
        raise ApiError(415, f"send OPML with Content-Type: text/x-opml (got {request.content_type!r})")
    raw = await request.read()  # bounded by the app's client_max_size (413)
    directory = await _directory(request)
    try:
        found = parse_opml(raw, taken=[f.name for f in directory.current])
    except OpmlError as exc:
        raise ApiError(422, f"not an OPML document we can read: {exc}") from None
    added, skipped = [], [{"what": what, "why": why} for what, why in found.skipped]
    known_urls = {f.url for f in directory.current}
    for feed in found.feeds:
        try:
            if feed.url in known_urls:
                raise ApiError(409, "already polled")
            _check_url(request, feed.url)
        except ApiError as exc:
            why = exc.fields[0][1] if exc.fields else exc.message
            skipped.append({"what": feed.url, "why": why})
            continue
        added.append(feed)
    try:
        await directory.registry.add(added)
    except (FeedExists, TooManyFeeds) as exc:
        raise ApiError(409, f"nothing imported: {exc}") from None
    await directory.sync()
    return json_of(ImportedFeeds(added=[f.name for f in added], skipped=skipped))


def public_url(url: str) -> str:
    """A feed URL as shown to readers: no userinfo, and secret-looking query values masked."""
    try:
        parsed = URL(url)
    except (ValueError, TypeError):
        return "(not a URL)"
    if not parsed.absolute:
        return url
    query = [(k, "***" if secret_parameter(k) else v) for k, v in parsed.query.items()]
    return str(parsed.with_user(None).with_query(query))
