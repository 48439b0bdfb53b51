"""`geoalert healthcheck`: alive while the process touches its heartbeat file, unhealthy once it stops."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from service.app import create_app
from service.cli import main
from service.heartbeat import check
from tests.conftest import SettingsFactory
from tests.helpers import running, wait_until


async def test_a_role_without_a_port_touches_its_heartbeat_and_passes_the_check(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    beat = tmp_path / "run/heartbeat"
    settings = make_settings(heartbeat_file=beat)
    assert check(settings) == (False, f"no heartbeat yet at {beat} (GEOALERT_HEARTBEAT_FILE)")
    async with running(create_app(settings, roles=["matcher"])):
        await wait_until(beat.exists)
        healthy, why = check(settings)
    assert healthy, why
    old = time.time() - 120
    os.utime(beat, (old, old))  # the process died or its loop is stuck: no more beats
    healthy, why = check(settings)
    assert not healthy
    assert "heartbeat 120s old" in why


def test_the_command_exits_0_when_alive_and_1_with_one_line_when_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    beat = tmp_path / "heartbeat"
    monkeypatch.setenv("GEOALERT_HEARTBEAT_FILE", str(beat))
    assert main(["healthcheck"]) == 1
    assert (
        capsys.readouterr().err.strip() == f"unhealthy: no heartbeat yet at {beat} (GEOALERT_HEARTBEAT_FILE)"
    )
    beat.touch()
    assert main(["healthcheck"]) == 0
    assert capsys.readouterr().out.startswith("ok: heartbeat 0s old")


def test_an_empty_compose_variable_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    from service.config import load_settings

    for name in (
        "GEOALERT_SMTP_HOST",
        "GEOALERT_SMTP_PORT",
        "GEOALERT_SMTP_USERNAME",
        "GEOALERT_WEBHOOK_ALLOW_CIDRS",
    ):
        monkeypatch.setenv(name, "")
    settings = load_settings()
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_username) == (None, None, None)
    assert settings.webhook_allow_cidrs == ()
