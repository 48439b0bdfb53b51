"""Turn one feed item, whatever its format, into an ``Article``.

Plain text from HTML, a canonical URL, a UTC time (or none), a language, and
the identities exact de-duplication keys on: the GUID, the canonical URL and
a hash of the text.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Literal
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from notifiers.printable import CONTROL_CODES, one_line
from service.ingest.language import detect_language, primary_subtag
from service.models import Article, stable_id, utcnow

_SKIP_TAGS = {"script", "style", "noscript", "template", "head", "iframe", "object", "svg"}
_BLOCK_TAGS = {
    "p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "section",
    "article", "header", "footer", "ul", "ol", "table", "pre", "hr", "figure", "figcaption",
}  # fmt: skip

# Bounds on every field an article stores, whichever way it came in, so a hostile
# item cannot bloat the stream (a feed's title becomes every item's source).
MAX_TITLE_CHARS = 1_000
MAX_TEXT_CHARS = 100_000
MAX_SOURCE_CHARS = 200
MAX_URL_CHARS = 4_000  # a longer link is dropped: a URL cut short points elsewhere
MAX_FEED_CHARS = 200
MAX_GUID_CHARS = 1_000  # only hashed into the id, but a hash of a megabyte is work
# Clocks differ; a few minutes ahead is skew, more is a wrong date.
FUTURE_SKEW = timedelta(minutes=10)
# Feeds put 1970-01-01 (or worse) where they mean "unknown".
EARLIEST = datetime(1971, 1, 1, tzinfo=UTC)
# Hashing only texts this long keeps "Live updates" items from different outlets apart.
MIN_HASHED_TEXT = 64

_TRACKING_PARAMS = frozenset(
    [
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "ref_src",
        "ref_url",
        "cmpid",
        "ncid",
        "ocid",
        "smid",
        "sr_share",
        "spm",
        "cid_source",
    ]
)
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "__hs", "oly_")


@dataclass
class RawItem:
    """One item as a feed gave it: HTML where the format allows it, times already in UTC."""

    title: str = ""
    summary: str = ""
    content: str = ""
    link: str | None = None
    guid: str | None = None
    published: datetime | None = None
    language: str | None = None


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


# Control characters are dropped, zero-width spaces become spaces; str.split()
# then folds every kind of Unicode space (no-break, ideographic, thin...).
# C1 goes too (0x9B is a one-byte CSI to some terminals); NEL is a line break.
_CLEAN = {c: None for c in CONTROL_CODES if c not in (0x09, 0x0A, 0x0D)} | {0x85: "\n", 0x200B: " "}


# Markup in feeds is mostly plain tags: <p>, <a href="...">, <br/>. For text
# whose every "<" opens such a tag (a name of letters and digits, attributes
# with plain names and values free of "<" and ">"), splitting at the tags
# gives the very pieces the parser would, several times faster. Anything
# else (comments, declarations, a stray "<", scripts and the other skipped
# elements) goes to the parser. Whitespace is the parser's, not \s, which
# would also take Unicode spaces.
_WS = "[ \t\n\r\f]"
_ATTRIBUTE = (
    f"""{_WS}+[a-zA-Z_:][-a-zA-Z0-9_:.]*(?:{_WS}*={_WS}*(?:"[^"<>]*"|'[^'<>]*'|[^ \t\n\r\f"'=<>`]+))?"""
)
_PLAIN_TAG = re.compile(
    f"<(?:([a-zA-Z][a-zA-Z0-9]*)(?:{_ATTRIBUTE})*{_WS}*(/?)|/([a-zA-Z][a-zA-Z0-9]*){_WS}*)>"
)


def _plain_tags_text(markup: str) -> str | None:
    """What _TextExtractor makes of markup of plain tags only; None for any other markup."""
    pieces = _PLAIN_TAG.split(markup)
    if markup.count("<") != len(pieces) // 4:
        return None
    parts = [html.unescape(pieces[0])]
    for i in range(1, len(pieces), 4):
        start, empty, end, data = pieces[i : i + 4]
        tag = (start or end).lower()
        if tag in _SKIP_TAGS:
            return None
        if tag in _BLOCK_TAGS:
            parts.append("\n\n" if empty else "\n")  # <br/> is a start and an end tag
        parts.append(html.unescape(data))
    return "".join(parts)


def parsed_text(markup: str) -> str:
    """The text of any markup, by the parser: blocks as line breaks, skipped elements dropped."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)


def html_to_text(markup: str) -> str:
    """Readable plain text: tags, scripts and styles dropped, entities decoded, whitespace folded."""
    if "<" not in markup and "&" not in markup:
        text = markup
    else:
        plain = _plain_tags_text(markup) if "<" in markup else html.unescape(markup)
        text = parsed_text(markup) if plain is None else plain
        # Entities the parser left (e.g. inside odd markup) are decoded here.
        text = html.unescape(text)
    return plain_text(text)


def plain_text(text: str) -> str:
    """Text without markup made safe to store: control characters dropped, paragraphs kept, spaces folded."""
    paragraphs = (" ".join(p.split()) for p in text.translate(_CLEAN).split("\n"))
    return "\n\n".join(p for p in paragraphs if p)


# Control characters in a link are percent-encoded, as a browser would send them.
_PERCENT_ENCODED_CONTROLS = {c: quote(chr(c), safe="") for c in CONTROL_CODES}


def canonical_url(url: str | None) -> str | None:
    """The URL without tracking parameters or fragment, host lowercased; None unless absolute http(s)."""
    if not url:
        return None
    url = url.strip().translate(_PERCENT_ENCODED_CONTROLS)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    if parts.username or parts.password:
        return None  # credentials in a feed link are a mistake at best; never keep them
    query = parts.query and urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k.lower() not in _TRACKING_PARAMS and not k.lower().startswith(_TRACKING_PREFIXES)
        ],
        doseq=True,
    )
    return urlunsplit((scheme, host, parts.path or "/", query, ""))


def utc_time(value: datetime | None, now: datetime) -> datetime | None:
    """A publication time in UTC: none if missing or implausibly old; now if in the future."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    if value < EARLIEST:
        return None
    return min(value, now) if value > now + FUTURE_SKEW else value


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def content_digest(title: str, body: str) -> str | None:
    """A hash of the text as a reader sees it (case and spacing ignored); None for very short texts."""
    folded = " ".join(f"{title}\n{body}".casefold().split())
    return digest(folded) if len(folded) >= MIN_HASHED_TEXT else None


def title_key(title: str) -> str:
    """A short hash of a headline as a reader sees it: what a URL identity is checked against (sink.py)."""
    folded = " ".join(title.casefold().split())
    return digest(folded)[:16] if folded else ""


IdentityKind = Literal["id", "url", "content"]


def identity_keys(article: Article) -> dict[IdentityKind, str]:
    """The identities of an article for exact de-duplication: kind -> digest."""
    keys: dict[IdentityKind, str] = {"id": article.id}
    if article.url:
        keys["url"] = digest(article.url)
    hashed = content_digest(article.title, article.body)
    if hashed:
        keys["content"] = hashed
    return keys


def normalise(
    item: RawItem,
    *,
    feed: str,
    source: str | None,
    feed_language: str | None = None,
    now: datetime | None = None,
) -> Article | None:
    """An Article, or None when the item carries no text at all."""
    now = now or utcnow()
    title = html_to_text(item.title)[:MAX_TITLE_CHARS]
    summary = html_to_text(item.summary)[:MAX_TEXT_CHARS]
    body = (html_to_text(item.content) if item.content else "")[:MAX_TEXT_CHARS] or summary
    if not (title or body):
        return None
    url = canonical_url(item.link) or (canonical_url(item.guid) if item.guid else None)
    if url is not None and len(url) > MAX_URL_CHARS:
        url = None
    guid = item.guid.strip()[:MAX_GUID_CHARS] if item.guid and item.guid.strip() else None
    # The id is the feed's (or the sender's) own name for the item: a GUID, a
    # link or the text, always within the feed. Another feed or sender using
    # the same GUID or link names another item; whether it is the same article
    # is for the URL and content identities to tell (identity_keys, sink.py).
    if guid and guid == item.link and url:
        identity = f"url:{url}"  # a permalink GUID: the link, canonical
    elif guid:
        identity = f"guid:{guid}"
    elif url:
        identity = f"url:{url}"
    else:
        identity = f"text:{title}\x1f{body[:2000]}"
    language = (
        primary_subtag(item.language) or primary_subtag(feed_language) or detect_language(f"{title}\n{body}")
    )
    return Article(
        id=stable_id("article", feed, identity),
        title=title,
        summary=summary if summary != body else "",
        body=body,
        url=url,
        source=one_line(source or feed)[:MAX_SOURCE_CHARS],
        feed=one_line(feed)[:MAX_FEED_CHARS],
        published=utc_time(item.published, now),
        language=language,
    )
