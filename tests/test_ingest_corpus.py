"""Robustness: every document of feedparser's own test corpus parses and normalises without surprise.

The corpus is kept in ``tests/data/feedparser-tests`` (GEOALERT_FEED_CORPUS
points elsewhere, e.g. at a newer copy).
"""

from __future__ import annotations

import os
from datetime import UTC
from pathlib import Path

import pytest

from service.ingest.parse import ParseError, parse_feed
from tests.conftest import ROOT


def corpus_dir() -> Path | None:
    configured = os.environ.get("GEOALERT_FEED_CORPUS")
    for candidate in (
        Path(configured) if configured else None,
        ROOT / "tests/data/feedparser-tests",
    ):
        if candidate is not None and candidate.is_dir():
            return candidate
    return None


@pytest.fixture(scope="module")
def corpus() -> list[Path]:
    found = corpus_dir()
    if found is None:
        message = "feed corpus not found: set GEOALERT_FEED_CORPUS or place it at ../shared/corpora/feedparser-tests"
        if os.environ.get("GEOALERT_REQUIRE_CORPUS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return sorted(found.rglob("*.xml"))


def test_every_corpus_document_parses_or_is_refused_with_a_reason(corpus: list[Path]) -> None:
    parsed = articles = 0
    reasons: list[str] = []
    for path in corpus:
        try:
            feed = parse_feed(path.read_bytes(), feed_name="corpus", sign=True)
        except ParseError as exc:
            reasons.append(str(exc))
            continue
        parsed += 1
        for article in feed.articles:
            articles += 1
            assert article.id, path
            assert article.title or article.body, path
            assert article.published is None or article.published.tzinfo == UTC, path
        assert len(feed.signatures) == len(feed.articles), path

    assert len(corpus) > 2000
    assert parsed + len(reasons) == len(corpus)
    assert all(reasons)  # every refusal says why
    assert parsed > 0.8 * len(corpus)  # most of the corpus is well-formed feeds
    assert articles > 300
