"""A newcomer's first mistakes are caught with one clear line: settings, help, start-up failures."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from service.cli import build_parser
from service.config import load_settings, unknown_variables
from service.errors import SettingsError
from service.logs import configure_logging
from tests.conftest import ROOT
from tests.processes import geoalert, service_env


def _all_helps() -> dict[str, str]:
    """The help text of the command and of every subcommand, by its name."""
    helps: dict[str, str] = {}

    def walk(parser: argparse.ArgumentParser, name: str) -> None:
        helps[name] = parser.format_help()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    walk(sub, f"{name} {sub_name}")

    walk(build_parser(), "geoalert")
    return helps


def test_no_help_text_shows_raw_markup_and_every_positional_argument_is_described() -> None:
    helps = _all_helps()
    assert {"geoalert run", "geoalert match", "geoalert rules check", "geoalert rules eval"} <= set(helps)
    for name, text in helps.items():
        assert "``" not in text, name
    assert "rules directory (default: rules)" in helps["geoalert rules check"]
    assert "rules directory (default: rules)" in helps["geoalert rules test"]
    assert "stdin (default: -)" in helps["geoalert match"]
    assert "labelled articles" in helps["geoalert rules eval"]


def test_run_help_points_at_the_settings_table() -> None:
    text = _all_helps()["geoalert run"]
    assert "GEOALERT_" in text
    assert '"Configuration" section of README.md' in text
    assert "## Configuration" in (ROOT / "README.md").read_text()


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out.strip() == "geoalert 0.1.0"


def test_misspelled_settings_are_warned_about_with_a_did_you_mean() -> None:
    warnings = unknown_variables(
        {
            "GEOALERT_HTTP_PROT": "8081",
            "GEOALERT_API_TOKN": "secret",
            "GEOALERT_HTTP_PORT": "8081",  # a real one: no warning
            "GEOALERT_API_TOKEN_FILE": "/run/secrets/token",  # its file form: no warning
            "GEOALERT_TEST_REDIS_URL": "redis://",  # the test suite's own
            "GEOALERT_ZZZ": "1",
            "PATH": "/bin",
        }
    )
    assert warnings == [
        "GEOALERT_API_TOKN is not a geoalert setting and is ignored (did you mean GEOALERT_API_TOKEN?)",
        "GEOALERT_HTTP_PROT is not a geoalert setting and is ignored (did you mean GEOALERT_HTTP_PORT?)",
        "GEOALERT_ZZZ is not a geoalert setting and is ignored",
    ]


@pytest.mark.parametrize("given", ["debug", "Debug", "DEBUG", " debug "])
def test_the_log_level_is_accepted_in_any_case(monkeypatch: pytest.MonkeyPatch, given: str) -> None:
    monkeypatch.setenv("GEOALERT_LOG_LEVEL", given)
    assert load_settings().log_level == "DEBUG"


@pytest.mark.parametrize("variable", ["GEOALERT_FEEDS_FILE", "GEOALERT_SUBSCRIPTIONS_FILE"])
def test_a_feeds_or_subscriptions_file_named_but_missing_is_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str
) -> None:
    missing = tmp_path / "feeds.yml"
    monkeypatch.setenv(variable, str(missing))
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value) == f"invalid setting {variable}={str(missing)!r}: no such file"


def test_secrets_are_read_from_the_files_named_by_their_file_variables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "token").write_text("s3cret-token-0123456789abcdef\n")
    (tmp_path / "smtp").write_text("mail-pass")
    monkeypatch.setenv("GEOALERT_API_TOKEN_FILE", str(tmp_path / "token"))
    monkeypatch.setenv("GEOALERT_SMTP_PASSWORD_FILE", str(tmp_path / "smtp"))
    settings = load_settings()
    assert settings.api_token is not None
    assert settings.api_token.get_secret_value() == "s3cret-token-0123456789abcdef"
    assert settings.smtp_password is not None
    assert settings.smtp_password.get_secret_value() == "mail-pass"

    monkeypatch.setenv("GEOALERT_API_TOKEN_FILE", str(tmp_path / "absent"))
    with pytest.raises(SettingsError, match=r"GEOALERT_API_TOKEN_FILE=.*absent'.*No such file"):
        load_settings()
    monkeypatch.setenv("GEOALERT_API_TOKEN_FILE", str(tmp_path / "token"))
    monkeypatch.setenv("GEOALERT_API_TOKEN", "other")
    with pytest.raises(SettingsError, match="both set"):
        load_settings()


def test_json_log_format_writes_one_object_per_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GEOALERT_LOG_FORMAT", "JSON")
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        settings = load_settings()
        configure_logging(settings.log_level, fmt=settings.log_format)
        logging.getLogger("geoalert.test").warning("feed %s: failed\nsecond line", "bbc")
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["level"] == "WARNING"
    assert record["logger"] == "geoalert.test"
    assert record["message"] == "feed bbc: failed\nsecond line"
    assert record["time"].endswith("+00:00")


@pytest.fixture
def embedded_dir(tmp_path: Path) -> Iterator[Path]:
    data_dir = tmp_path / ".geoalert"
    yield data_dir
    url_file = data_dir / "redis/url"
    if url_file.exists():
        with contextlib.suppress(redis.ConnectionError, OSError):
            redis.Redis.from_url(url_file.read_text().strip()).shutdown(nosave=True)


def _embedded_redis_answers(data_dir: Path) -> bool:
    url_file = data_dir / "redis/url"
    if not url_file.exists():
        return False
    client = redis.Redis.from_url(url_file.read_text().strip(), socket_connect_timeout=0.5)
    try:
        return bool(client.ping())
    except (redis.ConnectionError, OSError):
        return False
    finally:
        client.close()


async def test_a_failed_start_leaves_no_embedded_redis_running(tmp_path: Path, embedded_dir: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "bad.yaml").write_text("id: bad\ncondition: nothing(\n")
    env = service_env(tmp_path, rules_dir=str(rules))
    async with geoalert("run", env=env, cwd=ROOT) as svc:
        code = await asyncio.wait_for(svc.process.wait(), 30)
    assert code == 2
    log = "".join(svc.log)
    assert "started an embedded Redis" in log
    assert "cannot start, fix these first" in log
    assert "Traceback" not in log
    assert not _embedded_redis_answers(embedded_dir)


async def test_a_port_in_use_stops_start_up_with_one_line_before_any_work(
    tmp_path: Path, embedded_dir: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = service_env(tmp_path, http_port=str(port), api_token="t" * 32)
        env["GEOALERT_HTTP_HOST"] = "127.0.0.1"
        async with geoalert("run", env=env, cwd=ROOT) as svc:
            code = await asyncio.wait_for(svc.process.wait(), 30)
    assert code == 2
    assert [line.strip() for line in svc.log if line.strip()] == [
        f"geoalert: cannot listen on 127.0.0.1:{port} (GEOALERT_HTTP_PORT, GEOALERT_HTTP_HOST): already in use"
    ]
    assert svc.out == []  # no alert raised, no work started
    assert not (embedded_dir / "redis/url").exists()  # no redis-server started


async def test_unknown_variables_are_warned_about_at_start_up(tmp_path: Path, embedded_dir: Path) -> None:
    env = service_env(tmp_path, http_prot="9999", log_level="warning")
    async with geoalert("run", "--role", "api", env=env, cwd=ROOT) as svc:
        await svc.wait_log("GEOALERT_HTTP_PROT is not a geoalert setting and is ignored", timeout=60)
        assert await svc.terminate() == 0
    assert any("did you mean GEOALERT_HTTP_PORT?" in line for line in svc.log)
