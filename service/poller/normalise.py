"""Turn one parsed feed entry into an ``Article``: plain text, UTC times, a stable id."""

from __future__ import annotations

import calendar
import html
import re
import time
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from service.models import Article, stable_id

_SKIP_TAGS = {"script", "style", "noscript", "template", "head"}
_BLOCK_TAGS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "section"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS and self._skip:
            self._skip -= 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Readable plain text: tags dropped, entities decoded, whitespace folded, paragraphs kept."""
    if "<" not in markup and "&" not in markup:
        text = markup
    else:
        parser = _TextExtractor()
        parser.feed(markup)
        parser.close()
        text = html.unescape("".join(parser.parts))
    paragraphs = (re.sub(r"[ \t\r\f\v\u00a0]+", " ", p).strip() for p in re.split(r"\n\s*\n|\n", text))
    return "\n\n".join(p for p in paragraphs if p)


def entry_time(entry: Any, now: float | None = None) -> datetime | None:
    """The entry's publication time in UTC; a time in the future is taken as now."""
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    seconds = calendar.timegm(parsed)
    now = time.time() if now is None else now
    return datetime.fromtimestamp(min(seconds, now), tz=UTC)


def _content(entry: Any) -> str:
    contents = entry.get("content") or []
    if contents:
        return str(max(contents, key=lambda c: len(c.get("value", ""))).get("value", ""))
    return ""


def normalise(entry: Any, *, feed_name: str, source: str | None, language: str | None) -> Article | None:
    """An Article from a feedparser entry, or None when the entry carries no text at all."""
    title = html_to_text(str(entry.get("title", "")))
    summary = html_to_text(str(entry.get("summary", "")))
    body = html_to_text(_content(entry)) or summary
    link = entry.get("link") or None
    guid = entry.get("id") or link
    if not (title or body):
        return None
    published = entry_time(entry)
    identity = guid or f"{title}\x1f{body[:500]}"
    return Article(
        id=stable_id("article", str(identity)),
        title=title,
        summary=summary if summary != body else "",
        body=body,
        url=str(link) if link else None,
        source=source or feed_name,
        feed=feed_name,
        published=published,
        language=language,
    )
