"""Bad settings and config files: one clear error naming file and line; a running service keeps its last good config."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from service.config import load_settings
from service.errors import ConfigFileError, SettingsError
from service.ingest.feeds import FeedConfig, load_feeds_file
from service.subscriptions import load_subscriptions_file
from service.watched import WatchedFile


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def failure(load: Callable[[Path], object], path: Path) -> ConfigFileError:
    with pytest.raises(ConfigFileError) as caught:
        load(path)
    return caught.value


def test_a_bad_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEOALERT_HTTP_PORT", "eighty")
    with pytest.raises(SettingsError, match=r"GEOALERT_HTTP_PORT='eighty'.*valid integer"):
        load_settings()


def test_an_out_of_range_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEOALERT_MAX_DELIVERIES", "0")
    with pytest.raises(SettingsError, match=r"GEOALERT_MAX_DELIVERIES='0'.*greater than or equal to 1"):
        load_settings()


def test_a_bad_feed_value_names_file_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path / "feeds.yaml", "feeds:\n  - name: a\n    url: a.xml\n    interval: soon\n")
    assert str(failure(load_feeds_file, path)).startswith(
        f"{path}:4:15: feeds.0.interval: Input should be a valid number"
    )


def test_an_unknown_key_is_rejected_with_a_suggestion(tmp_path: Path) -> None:
    path = write(
        tmp_path / "subs.yaml", "subscriptions:\n  - name: a\n    console: {}\n    min_severty: high\n"
    )
    assert (
        str(failure(load_subscriptions_file, path))
        == f"{path}:4:5: unknown key 'min_severty', did you mean 'min_severity'?"
    )


def test_a_missing_key_points_at_its_parent(tmp_path: Path) -> None:
    path = write(tmp_path / "feeds.yaml", "feeds:\n  - name: a\n    interval: 5\n")
    assert str(failure(load_feeds_file, path)) == f"{path}:2:5: missing required key 'url'"


def test_a_subscription_needs_exactly_one_channel(tmp_path: Path) -> None:
    path = write(tmp_path / "subs.yaml", "subscriptions:\n  - name: a\n    rules: ['*']\n")
    with pytest.raises(ConfigFileError, match=r"subs.yaml:2:5: .*exactly one channel"):
        load_subscriptions_file(path)


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "feeds.yaml", "feeds:\n  - name: a\n    url: [unclosed\n")
    with pytest.raises(ConfigFileError, match=r"feeds.yaml:4:1: YAML syntax error"):
        load_feeds_file(path)


def test_a_duplicate_key_names_the_lines_of_both(tmp_path: Path) -> None:
    path = write(
        tmp_path / "feeds.yaml", "feeds:\n  - name: a\n    url: a.xml\n    interval: 5\n    url: b.xml\n"
    )
    assert str(failure(load_feeds_file, path)) == f"{path}:5:5: duplicate key 'url' (first at line 3)"


def test_every_duplicate_key_is_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path / "subs.yaml",
        "subscriptions:\n  - name: a\n    console: {}\n    name: b\nsubscriptions: []\n",
    )
    assert [str(p) for p in failure(load_subscriptions_file, path).problems] == [
        f"{path}:4:5: duplicate key 'name' (first at line 2)",
        f"{path}:5:1: duplicate key 'subscriptions' (first at line 1)",
    ]


def test_keys_that_only_look_alike_are_not_duplicates(tmp_path: Path) -> None:
    path = write(
        tmp_path / "feeds.yaml", "feeds:\n  - name: a\n    url: a.xml\n    headers: {'1': x, 1: y}\n"
    )
    message = str(failure(load_feeds_file, path))
    assert "duplicate" not in message
    assert message.startswith(f"{path}:4:")


def test_overriding_a_merged_key_is_not_a_duplicate(tmp_path: Path) -> None:
    path = write(
        tmp_path / "feeds.yaml",
        "feeds:\n  - name: a\n    url: a.xml\n    headers: &h {Accept: x, From: me}\n"
        "  - name: b\n    url: b.xml\n    headers:\n      <<: *h\n      Accept: y\n",
    )
    assert [f.headers for f in load_feeds_file(path)] == [
        {"Accept": "x", "From": "me"},
        {"Accept": "y", "From": "me"},
    ]


def test_an_unknown_key_without_a_close_match_lists_the_known_ones(tmp_path: Path) -> None:
    path = write(tmp_path / "feeds.yaml", "feeds:\n  - name: a\n    url: a.xml\n    zzz: 1\n")
    assert str(failure(load_feeds_file, path)) == (
        f"{path}:4:5: unknown key 'zzz' (expected one of: {', '.join(sorted(FeedConfig.model_fields))})"
    )


def test_a_file_that_is_not_utf8_is_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_bytes(b"feeds:\n  - name: caf\xe9\n")
    assert str(failure(load_feeds_file, path)) == f"{path}:1:1: not UTF-8 text: invalid continuation byte"


def test_every_problem_in_a_file_is_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path / "feeds.yaml",
        "feeds:\n  - name: a\n    url: a.xml\n    interval: 0\n  - name: 'b c'\n    url: b\n",
    )
    assert [(p.line, p.col) for p in failure(load_feeds_file, path).problems] == [(4, 15), (5, 11)]


def test_a_broken_edit_keeps_the_last_good_feeds(tmp_path: Path) -> None:
    path = write(tmp_path / "feeds.yaml", "feeds:\n  - name: a\n    url: a.xml\n")
    watched = WatchedFile(path, load_feeds_file)
    write(path, "feeds:\n  - name: a\n    url: a.xml\n    intervall: 5\n")

    assert watched.refresh() is False
    assert [f.name for f in watched.current] == ["a"]
    assert str(watched.problems[0]) == f"{path}:4:5: unknown key 'intervall', did you mean 'interval'?"

    write(path, "feeds:\n  - name: b\n    url: b.xml\n")
    assert watched.refresh() is True
    assert [f.name for f in watched.current] == ["b"]
    assert watched.problems == []


def test_a_broken_edit_keeps_the_last_good_subscriptions(tmp_path: Path) -> None:
    path = write(tmp_path / "subs.yaml", "subscriptions:\n  - name: t\n    console: {}\n")
    watched = WatchedFile(path, load_subscriptions_file)
    write(path, "subscriptions:\n  - name: t\n    console: {}\n  - name: t\n    console: {}\n")

    assert watched.refresh() is False
    assert [s.name for s in watched.current] == ["t"]
    assert "share the id 't'" in str(watched.problems[0])


def test_the_shipped_seed_files_are_valid() -> None:
    root = Path(__file__).resolve().parent.parent
    assert [f.name for f in load_feeds_file(root / "seeds/feeds.yaml")] == ["seed"]
    assert [s.channel for s in load_subscriptions_file(root / "seeds/subscriptions.yaml")] == ["console"]
