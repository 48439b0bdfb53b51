"""Parse fetched bytes as a feed: RSS 0.9x/1.0/2.0 and Atom via feedparser, JSON Feed ourselves.

feedparser is only ever given a file object over bytes we fetched: given a
string it would treat it as a path or URL and open it itself. Everything here
is a pure function of its arguments, so it can run in a worker process.
"""

from __future__ import annotations

import calendar
import io
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import feedparser

from service.ingest.jsonfeed import JSONFeedError, looks_like_json, parse_json_feed
from service.ingest.minhash import signatures as sign_all
from service.ingest.normalise import RawItem, normalise
from service.ingest.prepared import Prepared, prepare
from service.ingest.xmlguard import UnsafeXML, check_entities
from service.models import Article, utcnow

# A feed is a window on recent items; thousands at once is a dump or an attack.
MAX_ITEMS = 1_000


class ParseError(Exception):
    """The document is not a feed we can read; the message says why."""


@dataclass
class ParsedFeed:
    title: str | None
    language: str | None
    articles: list[Article] = field(default_factory=list)
    items: int = 0  # items in the document, including those without any text
    warning: str | None = None  # the document was malformed but still gave items
    signatures: list[str | None] = field(default_factory=list)  # MinHash, one per article, when asked for


@dataclass
class PreparedFeed:
    """A feed's articles as a parse worker sends them back: ready for the sink (see prepared.py)."""

    title: str | None
    language: str | None
    articles: list[Prepared]
    items: int
    warning: str | None


def _struct_time(value: Any) -> datetime | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


# Entries are read with dict.get: FeedParserDict.get maps a missing "updated"
# to "published" (with a warning) and resolves aliases ("guid" is "id"), which
# none of the keys read here needs, and costs several calls per key.
_get = dict.get


def _entry_language(entry: Any) -> str | None:
    for key in ("title_detail", "summary_detail"):
        detail = _get(entry, key)
        if detail and _get(detail, "language"):
            return str(detail["language"])
    for content in _get(entry, "content") or []:
        if _get(content, "language"):
            return str(content["language"])
    return None


def _raw_item(entry: Any) -> RawItem:
    contents = _get(entry, "content") or []
    content = max((str(_get(c, "value") or "") for c in contents), key=len, default="")
    guid = _get(entry, "id")  # feedparser stores an RSS <guid> as "id"
    link = _get(entry, "link")
    return RawItem(
        title=str(_get(entry, "title") or ""),
        summary=str(_get(entry, "summary") or ""),
        content=content,
        link=str(link) if link else None,
        guid=str(guid) if guid else None,
        published=_struct_time(_get(entry, "published_parsed"))
        or _struct_time(_get(entry, "updated_parsed")),
        language=_entry_language(entry),
    )


def _reason(exc: Any) -> str:
    text = str(exc) if exc else "unknown error"
    return text.splitlines()[0][:200] if text else type(exc).__name__


def parse_xml_feed(
    body: bytes, content_type: str | None
) -> tuple[str | None, str | None, list[RawItem], str | None]:
    try:
        check_entities(body)
    except UnsafeXML as exc:
        raise ParseError(str(exc)) from None
    headers = {"content-type": content_type} if content_type else None
    doc = feedparser.parse(
        io.BytesIO(body), response_headers=headers, sanitize_html=False, resolve_relative_uris=False
    )
    meta = doc.get("feed", {})
    bozo = doc.get("bozo_exception") if doc.get("bozo") else None
    if not doc.entries:
        if not doc.get("version"):
            head = body[:512].lstrip().lower()
            if head.startswith((b"<!doctype html", b"<html")):
                raise ParseError("not a feed: an HTML page")
            raise ParseError("not a feed: no RSS, Atom or RDF" + (f" ({_reason(bozo)})" if bozo else ""))
        if bozo:
            raise ParseError(f"malformed feed: {_reason(bozo)}")
    items = [_raw_item(e) for e in doc.entries[:MAX_ITEMS]]
    return meta.get("title") or None, meta.get("language") or None, items, _reason(bozo) if bozo else None


def parse_feed(
    body: bytes,
    *,
    feed_name: str,
    content_type: str | None = None,
    now: datetime | None = None,
    sign: bool = False,
) -> ParsedFeed:
    """The articles of one fetched document; raises ParseError (only) when it is not a readable feed."""
    now = now or utcnow()
    warning = None
    if looks_like_json(body, content_type):
        try:
            title, language, items = parse_json_feed(body)
        except JSONFeedError as exc:
            raise ParseError(str(exc)) from None
        items = items[:MAX_ITEMS]
    else:
        title, language, items, warning = parse_xml_feed(body, content_type)
    articles = [
        article
        for item in items
        if (article := normalise(item, feed=feed_name, source=title, feed_language=language, now=now))
    ]
    signatures = sign_all((a.title, a.body) for a in articles) if sign else []
    return ParsedFeed(
        title=title,
        language=language,
        articles=articles,
        items=len(items),
        warning=warning,
        signatures=signatures,
    )


def prepare_feed(
    body: bytes, *, feed_name: str, content_type: str | None = None, now: datetime | None = None
) -> PreparedFeed:
    """``parse_feed``, signed and prepared for the sink: what a parse worker returns."""
    parsed = parse_feed(body, feed_name=feed_name, content_type=content_type, now=now, sign=True)
    return PreparedFeed(
        title=parsed.title,
        language=parsed.language,
        articles=prepare(parsed.articles, parsed.signatures),
        items=parsed.items,
        warning=parsed.warning,
    )
