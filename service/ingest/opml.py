"""OPML, the list format every feed reader imports and exports.

An import is a document from elsewhere, so it is read as hostile: no DTD or
entities (defusedxml), a bounded size, outline depth and count, and only
http(s) feed URLs. Categories (nested outlines, or the ``category``
attribute) become tags; ``language``, ``region`` and ``interval`` survive a
round trip through geoalert's own exports (readers ignore attributes they
do not know).
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

import defusedxml.ElementTree as SafeElementTree
from defusedxml import DefusedXmlException
from pydantic import ValidationError

from service.ingest.feeds import FeedConfig

MAX_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 16
MAX_OUTLINES = 10_000
_NAME_CHARS = re.compile(r"[^\w.\-]+")


class OpmlError(ValueError):
    """The document is not OPML we can read; the message says why."""


@dataclass
class OpmlImport:
    feeds: list[FeedConfig] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (what, why)


def export_opml(feeds: Iterable[FeedConfig], *, title: str = "geoalert feeds") -> str:
    root = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(root, "head")
    ElementTree.SubElement(head, "title").text = title
    body = ElementTree.SubElement(root, "body")
    for feed in feeds:
        attrs = {"type": "rss", "text": feed.name, "title": feed.name, "xmlUrl": feed.url}
        if feed.language:
            attrs["language"] = feed.language
        if feed.region:
            attrs["region"] = feed.region
        if feed.tags:
            attrs["category"] = ",".join(feed.tags)
        attrs["interval"] = f"{feed.interval:g}"
        if not feed.enabled:
            attrs["enabled"] = "false"
        ElementTree.SubElement(body, "outline", attrs)
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"


def parse_opml(data: bytes, *, taken: Iterable[str] = ()) -> OpmlImport:
    """The feeds of an OPML document, named uniquely (also apart from ``taken`` names)."""
    if len(data) > MAX_BYTES:
        raise OpmlError(f"the document is over {MAX_BYTES // 1024} KiB")
    try:
        root = SafeElementTree.fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise OpmlError("the document declares a DTD or entities, which OPML does not need") from None
    except ElementTree.ParseError as exc:
        raise OpmlError(f"not well-formed XML: {exc}") from None
    if root.tag != "opml":
        raise OpmlError(f"the root element is <{_clip(root.tag)}>, not <opml>")
    body = root.find("body")
    if body is None:
        raise OpmlError("the document has no <body>")
    result = OpmlImport()
    names = set(taken)
    urls: set[str] = set()
    for outline, categories in _outlines(body):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if not url:
            continue  # a folder, or an outline that is not a feed
        label = (outline.get("title") or outline.get("text") or "").strip()
        if not url.lower().startswith(("http://", "https://")):
            result.skipped.append((_clip(url), "only http(s) feed URLs are imported"))
            continue
        if url in urls:
            result.skipped.append((_clip(url), "listed twice"))
            continue
        tags = [*categories, *_split_categories(outline.get("category", ""))]
        try:
            feed = FeedConfig.model_validate(
                _feed_fields(outline, url, _unique(_slug(label, url), names), tags)
            )
        except ValidationError as exc:
            result.skipped.append((_clip(url), "; ".join(e["msg"] for e in exc.errors())))
            continue
        urls.add(url)
        names.add(feed.name)
        result.feeds.append(feed)
    return result


def _outlines(body: Any) -> Iterator[tuple[Any, list[str]]]:
    """Every outline in document order, with the tags of the folders above it; bounded."""
    seen = 0
    stack: list[tuple[Any, list[str], int]] = [(c, [], 1) for c in reversed(_children(body))]
    while stack:
        node, categories, depth = stack.pop()
        seen += 1
        if seen > MAX_OUTLINES:
            raise OpmlError(f"more than {MAX_OUTLINES} outlines")
        if depth > MAX_DEPTH:
            raise OpmlError(f"outlines nested more than {MAX_DEPTH} deep")
        yield node, categories
        children = _children(node)
        if children:
            inner = categories
            folder = "" if node.get("xmlUrl") else _tag(node.get("text") or node.get("title") or "")
            if folder:
                inner = [*categories, folder]
            stack.extend((c, inner, depth + 1) for c in reversed(children))


def _children(node: Any) -> list[Any]:
    return [c for c in node if c.tag == "outline"]


def _feed_fields(outline: Any, url: str, name: str, tags: list[str]) -> dict[str, Any]:
    fields: dict[str, Any] = {"name": name, "url": url, "tags": list(dict.fromkeys(tags))[:20]}
    language = (outline.get("language") or "").strip()
    if re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", language):
        fields["language"] = language
    region = _tag(outline.get("region") or "")
    if region:
        fields["region"] = region
    interval = outline.get("interval")
    if interval:
        with contextlib.suppress(ValueError):
            fields["interval"] = max(float(interval), 60.0)
    if (outline.get("enabled") or "").lower() == "false":
        fields["enabled"] = False
    return fields


def _split_categories(value: str) -> list[str]:
    # OPML's category: comma-separated, each possibly a "/"-path; keep the last step of each.
    out = []
    for item in value.split(",")[:20]:
        tag = _tag(item.strip().strip("/").rsplit("/", 1)[-1])
        if tag:
            out.append(tag)
    return out


def _tag(text: str) -> str:
    return _NAME_CHARS.sub("-", _ascii(text).lower()).strip("-.")[:40]


def _slug(label: str, url: str) -> str:
    slug = _tag(label)
    if not slug:
        host = re.sub(r"^https?://", "", url, flags=re.I).split("/", 1)[0].split("@")[-1]
        slug = _tag(host.removeprefix("www.").removeprefix("feeds."))
    return slug[:80] or "feed"


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    n = 2
    while f"{name}-{n}" in taken:
        n += 1
    return f"{name}-{n}"


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _clip(text: str, limit: int = 200) -> str:
    text = "".join(ch for ch in text if ch.isprintable())
    return text if len(text) <= limit else text[: limit - 1] + "…"
