"""Parse fetched bytes as a feed. feedparser never fetches anything itself here."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field

import feedparser

from service.models import Article
from service.poller.normalise import normalise

log = logging.getLogger(__name__)


class ParseError(Exception):
    """The document is not a feed we can read."""


@dataclass
class ParsedFeed:
    title: str | None
    articles: list[Article] = field(default_factory=list)
    warning: str | None = None


def parse_feed(body: bytes, *, feed_name: str, content_type: str | None = None) -> ParsedFeed:
    headers = {"content-type": content_type} if content_type else None
    # A file object, never bytes or str: feedparser would treat those as a
    # path or URL and open it itself.
    doc = feedparser.parse(
        io.BytesIO(body), response_headers=headers, sanitize_html=True, resolve_relative_uris=False
    )
    meta = doc.get("feed", {})
    if not doc.entries and doc.get("bozo"):
        raise ParseError(f"not a feed: {doc.get('bozo_exception')}")
    language = meta.get("language") or None
    title = meta.get("title") or None
    articles = [
        a
        for entry in doc.entries
        if (a := normalise(entry, feed_name=feed_name, source=title, language=language)) is not None
    ]
    warning = str(doc.get("bozo_exception")) if doc.get("bozo") else None
    return ParsedFeed(title=title, articles=articles, warning=warning)
