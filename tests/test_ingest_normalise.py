"""Normalising one item: plain text, canonical URL, UTC time, language, identities."""

from __future__ import annotations

import html
import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from service.ingest.language import detect_language
from service.ingest.normalise import (
    RawItem,
    canonical_url,
    html_to_text,
    identity_keys,
    normalise,
    parsed_text,
    utc_time,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_html_becomes_plain_text_without_scripts_styles_or_entities() -> None:
    markup = "<p>Tanks &amp; jets</p><script>evil()</script><style>p{}</style><p>in   Kyiv&nbsp;today</p>"
    assert html_to_text(markup) == "Tanks & jets\n\nin Kyiv today"


def test_control_characters_are_dropped() -> None:
    assert html_to_text("a\x00b\x07c") == "abc"


# Pieces of markup, plain tags and everything else: plain-tag markup is read
# without the HTML parser (see normalise.py), and must read exactly as the parser reads it.
MARKUP = [
    "<p>", "</p>", '<P class="a b">', "<br>", "<br/>", "<br />", "<BR/>", '<a href="http://x/?a=1&amp;b=2">', "</a>",
    "<a href=x/>", "<b>", "</b>", "<div\tid='q'>", "</div >", "<h1>", "</h1>", "<li>", "</br>", "<span title=\"x\"/>",
    '<img src="a>b">', "<img src=a.jpg alt='x'>", "<script>", "</script>", "<style>", "</style>", "<iframe>", "<svg/>",
    "<!-- c -->", "<!doctype html>", "<![CDATA[x]]>", "<?pi?>", "<", ">", "x<y", "<td", 'q">', "'", '"', "=", "/",
    "<p\x0bclass=x>", "<a:b>", "<x-y>", '<a href="x"title="y">', "</>", "</ p>", '</p class="x">', "<p =x>", "<p a==b>",
    "&amp;", "&lt;", "&", "&#39;", "&#x41;", "&nbsp;", "&amp;lt;", "&notin;", "&not", "&am", "p;",
    "text", " ", "\n", "\xa0", "é", "\x00",
]  # fmt: skip


def test_markup_of_plain_tags_reads_exactly_as_the_html_parser_reads_it() -> None:
    rng = random.Random(5)
    cases = ["".join(rng.choices(MARKUP[:21] + MARKUP[-12:], k=rng.randint(1, 12))) for _ in range(3000)]
    cases += ["".join(rng.choices(MARKUP, k=rng.randint(1, 12))) for _ in range(3000)]
    for markup in cases:
        by_parser = html.unescape(parsed_text(markup)).replace("\x00", "")
        folded = "\n\n".join(p for p in (" ".join(line.split()) for line in by_parser.split("\n")) if p)
        assert html_to_text(markup) == folded, markup


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Example.COM:80/a?utm_source=x&id=3&fbclid=y#frag", "http://example.com/a?id=3"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com:8443/a?gclid=1", "https://example.com:8443/a"),
        ("javascript:alert(1)", None),
        ("/relative/path", None),
        ("https://user:pw@example.com/a", None),
        ("http://[::1", None),
    ],
)
def test_canonical_urls(url: str, expected: str | None) -> None:
    assert canonical_url(url) == expected


def test_times_are_utc_and_future_ones_are_taken_as_now() -> None:
    plus_two = datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert utc_time(plus_two, NOW) == NOW
    assert utc_time(NOW + timedelta(days=3), NOW) == NOW
    assert utc_time(NOW + timedelta(minutes=5), NOW) == NOW + timedelta(minutes=5)  # clock skew is kept
    assert utc_time(datetime(1970, 1, 1, tzinfo=UTC), NOW) is None
    assert utc_time(None, NOW) is None


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("The president said on Monday that the talks with the delegation were useful for both sides.", "en"),
        (
            "Le président a déclaré que les discussions avec la délégation ont été utiles pour les deux pays.",
            "fr",
        ),
        (
            "El presidente dijo que las conversaciones con la delegación fueron útiles para los dos países.",
            "es",
        ),
        (
            "Der Präsident sagte, dass die Gespräche mit der Delegation für beide Seiten nicht einfach sind.",
            "de",
        ),
        ("Президент заявил, что переговоры с делегацией были полезны и для него, и для их страны.", "ru"),
        ("남북 정상은 판문점에서 회담을 열고 공동 선언을 채택했다고 밝혔다", "ko"),
        ("ok", None),
    ],
)
def test_language_is_told_by_the_text_when_long_enough(text: str, language: str | None) -> None:
    assert detect_language(text) == language


def test_the_feed_language_wins_over_detection_and_is_reduced_to_its_primary_subtag() -> None:
    item = RawItem(title="The president said that the talks were useful for both of them", guid="1")
    article = normalise(item, feed="f", source=None, feed_language="de-AT", now=NOW)
    assert article is not None
    assert article.language == "de"


def test_an_item_without_text_gives_no_article() -> None:
    assert normalise(RawItem(link="https://example.com/a"), feed="f", source=None, now=NOW) is None


def test_every_guid_is_scoped_to_its_feed_and_url_guids_still_share_a_url_identity() -> None:
    # A GUID is the feed's own name for an item: another feed using it names another
    # item (issue 10, point 8). Whether two are the same article is the URL's and the
    # text's to tell, checked in the sink.
    a = normalise(RawItem(title="One", guid="1"), feed="a", source=None, now=NOW)
    b = normalise(RawItem(title="One", guid="1"), feed="b", source=None, now=NOW)
    c = normalise(
        RawItem(title="One", guid="https://example.com/1?utm_medium=x"), feed="a", source=None, now=NOW
    )
    d = normalise(RawItem(title="One", guid="https://example.com/1"), feed="b", source=None, now=NOW)
    assert a is not None
    assert b is not None
    assert c is not None
    assert d is not None
    assert a.id != b.id
    assert c.id != d.id
    assert c.url == d.url == "https://example.com/1"
    assert identity_keys(c)["url"] == identity_keys(d)["url"]
