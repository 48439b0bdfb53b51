"""The world catalogue and OPML: a shape the service loads, URLs that can be polled, lists that round-trip."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from yarl import URL

from service.ingest.feeds import FeedConfig, load_feeds_file
from service.ingest.opml import MAX_DEPTH, OpmlError, export_opml, parse_opml
from tests.conftest import ROOT

CATALOGUE = ROOT / "seeds" / "feeds.world.yaml"
REGIONS = {"africa", "latin-america", "middle-east", "south-asia", "east-asia", "europe", "north-america"}


@pytest.fixture(scope="module")
def catalogue() -> list[FeedConfig]:
    return load_feeds_file(CATALOGUE)


def test_the_world_catalogue_loads_as_a_feeds_file_of_at_least_60_feeds(catalogue: list[FeedConfig]) -> None:
    assert len(catalogue) >= 60
    assert all(f.enabled and 60 <= f.interval <= 3600 for f in catalogue)


def test_every_catalogue_url_is_a_well_formed_public_https_or_http_url_and_unique(
    catalogue: list[FeedConfig],
) -> None:
    for feed in catalogue:
        url = URL(feed.url)
        assert url.scheme in ("http", "https"), feed.name
        assert url.host, feed.name
        assert "." in url.host, feed.name
        assert url.user is None, feed.name
        assert not url.host.replace(".", "").isdigit(), feed.name  # a name, not an address
    assert [u for u, n in Counter(f.url for f in catalogue).items() if n > 1] == []
    assert [u for u, n in Counter(f.name for f in catalogue).items() if n > 1] == []


def test_the_catalogue_spans_ten_languages_and_every_region(catalogue: list[FeedConfig]) -> None:
    assert all(f.language and f.region for f in catalogue)
    languages = {f.language.split("-")[0] for f in catalogue if f.language}
    assert len(languages) >= 10
    assert {f.region for f in catalogue} >= REGIONS


def test_the_catalogue_round_trips_through_opml(catalogue: list[FeedConfig]) -> None:
    back = parse_opml(export_opml(catalogue).encode())
    assert back.skipped == []
    assert back.feeds == catalogue


def test_folders_become_tags_and_names_are_made_unique() -> None:
    doc = b"""<opml version="1.0"><body>
      <outline text="World News"><outline text="\xc3\x81frica">
        <outline text="Wire" xmlUrl="https://a.example/rss" category="/Defence/Arms, Politics"/>
      </outline></outline>
      <outline text="Wire" xmlUrl="https://b.example/rss"/>
      <outline text="" xmlUrl="https://www.c.example/feed"/>
    </body></opml>"""
    result = parse_opml(doc, taken=["wire"])
    assert [(f.name, f.tags) for f in result.feeds] == [
        ("wire-2", ["world-news", "africa", "arms", "politics"]),
        ("wire-3", []),
        ("c.example", []),
    ]


@pytest.mark.parametrize(
    ("doc", "why"),
    [
        (b'<!DOCTYPE opml [<!ENTITY a "aaaa">]><opml><body/></opml>', "DTD"),
        (b'<!DOCTYPE x SYSTEM "file:///etc/passwd"><opml><body/></opml>', "DTD"),
        (
            b"<opml><body>"
            + b"<outline>" * (MAX_DEPTH + 1)
            + b"</outline>" * (MAX_DEPTH + 1)
            + b"</body></opml>",
            "deep",
        ),
        (b"<opml><body>" + b"<outline/>" * 10_001 + b"</body></opml>", "outlines"),
        (b"<opml/>", "no <body>"),
        (b"<html><body/></html>", "not <opml>"),
        (b"<opml><body>" + b"x" * (3 * 1024 * 1024) + b"</body></opml>", "KiB"),
    ],
)
def test_hostile_opml_is_refused_with_the_reason(doc: bytes, why: str) -> None:
    with pytest.raises(OpmlError, match=why):
        parse_opml(doc)


def _geoalert(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_feeds_import_appends_to_the_feeds_file_keeping_its_comments(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("# my feeds\nfeeds:\n  - name: seed   # the seed\n    url: seeds/feed.xml\n")
    opml = tmp_path / "reader.opml"
    opml.write_text(
        export_opml(
            [
                FeedConfig(name="seed", url="https://x.example/rss"),
                FeedConfig(
                    name="dawn", url="https://www.dawn.com/feeds/home", language="en", region="south-asia"
                ),
            ]
        )
    )
    done = _geoalert("feeds", "import", str(opml), "--feeds-file", str(feeds), cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "2 feeds added" in done.stderr
    text = feeds.read_text()
    assert text.startswith("# my feeds\nfeeds:\n  - name: seed   # the seed\n")
    assert [(f.name, f.region) for f in load_feeds_file(feeds)] == [
        ("seed", None),
        ("seed-2", None),
        ("dawn", "south-asia"),
    ]
    again = _geoalert("feeds", "import", str(opml), "--feeds-file", str(feeds), cwd=ROOT)
    assert "0 feeds added to" in again.stderr
    assert again.stderr.endswith("2 skipped\n")
    assert "already in the feeds file" in again.stderr


def test_feeds_export_prints_the_feeds_file_as_opml(tmp_path: Path) -> None:
    done = _geoalert("feeds", "export", "--feeds-file", str(CATALOGUE), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(parse_opml(done.stdout.encode()).feeds) == len(load_feeds_file(CATALOGUE))


def test_feeds_import_of_a_broken_document_names_the_file_and_changes_nothing(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds: []\n")
    bad = tmp_path / "bad.opml"
    bad.write_text("<opml><body><outline")
    done = _geoalert("feeds", "import", str(bad), "--feeds-file", str(feeds), cwd=ROOT)
    assert done.returncode == 2
    assert "bad.opml" in done.stderr
    assert "not well-formed" in done.stderr
    assert feeds.read_text() == "feeds: []\n"
