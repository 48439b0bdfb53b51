"""Fuzzing article normalisation: whatever a feed or a sender gives, an article within its bounds, or none.

Hypothesis draws hostile items (control characters, markup, huge and odd
links, GUIDs, sources and feed titles) and whole JSON Feed documents of any
shape. Bounded in time so it runs in CI on every change: a fixed number of
examples, derandomised so a failure reproduces, no example database written.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.ingest.normalise import (
    MAX_SOURCE_CHARS,
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    MAX_URL_CHARS,
    RawItem,
    canonical_url,
    normalise,
)
from service.ingest.parse import ParseError, prepare_feed
from service.models import Article

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CONTROL = {*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)}
FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Text a hostile feed would send: every control character, markup, entities, bidi overrides, long runs.
hostile_chars = st.characters(codec="utf-8") | st.sampled_from(
    ["\x1b", "\x07", "\r", "\n", "\x00", "\x9b", "\x85", "\u202e", "\u200b", "<", ">", "&", ";", "#"]
)
hostile_text = st.text(hostile_chars, max_size=300) | st.builds(
    lambda head, n: head * n, st.text(hostile_chars, min_size=1, max_size=5), st.integers(0, 3000)
)
markup = st.lists(
    st.sampled_from(
        ["<p>", "</p>", "<br/>", "<script>", "</script>", "<!--", "-->", "&amp;", "&#27;", "&#x9b;",
         "<a href='x'>", "<![CDATA[", "]]>", "<style>", "\x1b]0;T\x07"]
    )
    | hostile_text,
    max_size=20,
).map("".join)  # fmt: skip
links = (
    st.none()
    | hostile_text
    | st.builds(lambda path, q: f"https://outlet.example/{path}?{q}", hostile_text, hostile_text)
    | st.builds(lambda n: "https://outlet.example/" + "a" * n, st.integers(3_900, 5_000))
    | st.sampled_from(["http://user:pw@h/x", "javascript:alert(1)", "file:///etc/passwd", "http://[::1", "http://h:99999/"])
)  # fmt: skip


def no_control(text: str, *, allow: str = "") -> bool:
    return not any(ord(c) in CONTROL and c not in allow for c in text)


def assert_within_bounds(article: Article) -> None:
    assert len(article.title) <= MAX_TITLE_CHARS
    assert len(article.summary) <= MAX_TEXT_CHARS
    assert len(article.body) <= MAX_TEXT_CHARS
    assert len(article.source or "") <= MAX_SOURCE_CHARS
    # Paragraphs are kept as line breaks; nothing else a terminal would obey.
    for text in (article.title, article.summary, article.body):
        assert no_control(text, allow="\n")
    for text in (article.source or "", article.feed or "", article.url or "", article.language or ""):
        assert no_control(text)
    if article.url is not None:
        assert len(article.url) <= MAX_URL_CHARS
        assert canonical_url(article.url) == article.url  # canonical, http(s), no credentials
    Article.model_validate_json(article.model_dump_json())  # it travels as JSON


@FUZZ
@given(
    title=markup,
    summary=markup,
    content=markup,
    link=links,
    guid=st.none() | hostile_text,
    language=st.none() | hostile_text,
    source=st.none() | hostile_text,
)
def test_any_item_normalises_to_a_bounded_clean_article_or_none(
    title: str, summary: str, content: str, link: str | None, guid: str | None, language: str | None,
    source: str | None,
) -> None:  # fmt: skip
    item = RawItem(title=title, summary=summary, content=content, link=link, guid=guid, language=language)

    article = normalise(item, feed="fuzz", source=source, now=NOW)
    again = normalise(item, feed="fuzz", source=source, now=NOW)

    if article is None:
        assert again is None
        return
    assert again is not None
    assert article.id == again.id  # the same item is the same article on every poll
    assert article.title or article.body
    assert_within_bounds(article)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | hostile_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
json_items = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "id": json_values, "url": links | json_values, "title": markup | json_values,
            "summary": markup, "content_html": markup | json_values, "content_text": hostile_text,
            "date_published": st.sampled_from(["2025-01-01T00:00:00Z", "9999-99-99", "", "0001-01-01T00:00:00+00:00"]) | json_values,
            "language": hostile_text,
        },
    )
    | json_values,
    max_size=8,
)  # fmt: skip


@FUZZ
@given(title=st.none() | hostile_text | json_values, items=json_items | json_values)
def test_any_json_feed_document_gives_bounded_articles_or_a_parse_error(title: Any, items: Any) -> None:
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": title, "items": items}
    body = json.dumps(doc).encode()

    try:
        prepared = prepare_feed(body, feed_name="fuzz", content_type="application/feed+json", now=NOW)
    except ParseError:
        return
    for entry in prepared.articles:
        assert_within_bounds(entry.article())
