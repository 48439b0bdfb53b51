"""Normalising one item: plain text, canonical URL, UTC time, language, identities."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from service.poller.language import detect_language
from service.poller.normalise import RawItem, canonical_url, html_to_text, normalise, utc_time

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_html_becomes_plain_text_without_scripts_styles_or_entities() -> None:
    markup = "<p>Tanks &amp; jets</p><script>evil()</script><style>p{}</style><p>in   Kyiv&nbsp;today</p>"
    assert html_to_text(markup) == "Tanks & jets\n\nin Kyiv today"


def test_control_characters_are_dropped() -> None:
    assert html_to_text("a\x00b\x07c") == "abc"


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


def test_guids_that_are_not_urls_are_scoped_to_their_feed() -> None:
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
    assert c.id == d.id
