"""JSON Feed (1.0 and 1.1, https://jsonfeed.org/version/1.1), which feedparser does not read."""

from __future__ import annotations

import html
import json
from datetime import datetime
from typing import Any

from service.ingest.normalise import RawItem

# Documents that start like this are JSON, not XML.
JSON_START = (b"{", b"\xef\xbb\xbf{")


class JSONFeedError(ValueError):
    """Not a JSON Feed; the message says what is wrong and where."""


def looks_like_json(body: bytes, content_type: str | None) -> bool:
    if content_type and "json" in content_type.lower():
        return True
    return body.lstrip().startswith(JSON_START)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def parse_json_feed(body: bytes) -> tuple[str | None, str | None, list[RawItem]]:
    """(title, language, items) of a JSON Feed."""
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise JSONFeedError(f"invalid JSON: {exc}") from None
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith(
        "https://jsonfeed.org/version/"
    ):
        raise JSONFeedError("JSON but not a JSON Feed (no jsonfeed.org 'version')")
    items = doc.get("items")
    if not isinstance(items, list):
        raise JSONFeedError("JSON Feed without an 'items' list")
    out: list[RawItem] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        link = item.get("url") or item.get("external_url")
        out.append(
            RawItem(
                title=_text(item.get("title")),
                summary=_text(item.get("summary")),
                # content_text is plain text: escaped, so html_to_text keeps it as written.
                content=_text(item.get("content_html")) or html.escape(_text(item.get("content_text"))),
                link=link if isinstance(link, str) else None,
                guid=str(item["id"]) if item.get("id") not in (None, "") else None,
                published=_time(item.get("date_published")) or _time(item.get("date_modified")),
                language=_text(item.get("language")) or None,
            )
        )
    title = doc.get("title") if isinstance(doc.get("title"), str) else None
    language = doc.get("language") if isinstance(doc.get("language"), str) else None
    return title, language, out
