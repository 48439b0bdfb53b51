"""Issue 10, point 1 (and the bearer part of 11): the API token is a real secret, compared byte for byte."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.api.middlewares import listen_host
from service.config import load_settings
from service.errors import SettingsError
from tests.apikit import ApiFactory
from tests.conftest import ROOT, SettingsFactory
from tests.hostile.wire import raw_request

TOKEN = "correct-horse-battery-staple"
WEBHOOK = {"name": "x", "rules": ["*"], "webhook": {"url": "http://127.0.0.1:9/hook"}}


@pytest.mark.parametrize("value", ["", "   ", "\t", "\u00a0", "\u3000"])
def test_an_empty_or_blank_api_token_stops_start_up_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("GEOALERT_API_TOKEN", value)
    with pytest.raises(SettingsError, match="GEOALERT_API_TOKEN"):
        load_settings()


def test_an_api_token_shorter_than_16_characters_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEOALERT_API_TOKEN", "s3cret")
    with pytest.raises(SettingsError, match=r"GEOALERT_API_TOKEN.*at least 16"):
        load_settings()
    monkeypatch.setenv("GEOALERT_API_TOKEN", "x" * 16)
    assert load_settings().api_token is not None


def test_geoalert_run_with_an_empty_token_exits_at_once_with_one_line(redis_server_url: str) -> None:
    # docker run -e GEOALERT_API_TOKEN="$T" with $T unset, on every interface
    env = {
        **os.environ,
        "GEOALERT_API_TOKEN": "",
        "GEOALERT_HTTP_HOST": "0.0.0.0",
        "GEOALERT_HTTP_PORT": "0",
        "GEOALERT_REDIS_URL": redis_server_url,
        "GEOALERT_KEY_PREFIX": "test:hostile-auth:",
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "service", "run", "--role", "api"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=20,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the service started with an empty API token")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "GEOALERT_API_TOKEN" in lines[0]


def test_a_non_loopback_host_without_a_token_stops_start_up(make_settings: SettingsFactory) -> None:
    with pytest.raises(SettingsError, match=r"GEOALERT_HTTP_HOST.*GEOALERT_API_TOKEN"):
        listen_host(make_settings(http_host="0.0.0.0", api_token=None))
    assert listen_host(make_settings(http_host="127.0.0.1", api_token=None)) == "127.0.0.1"
    assert listen_host(make_settings(http_host="0.0.0.0", api_token=TOKEN)) == "0.0.0.0"


@pytest.mark.parametrize("space", ["\u00a0", "\u3000", "\u2003", "\u2028"])
async def test_the_presented_token_is_compared_byte_for_byte_never_stripped(
    start_api: ApiFactory, small_rules: Path, space: str
) -> None:
    api = await start_api(rules_dir=small_rules, token=TOKEN)
    for presented in (TOKEN + space, space + TOKEN):
        response = await raw_request(
            api.base,
            "POST",
            "/v1/subscriptions",
            headers=[
                ("Authorization", b"Bearer " + presented.encode()),
                ("Content-Type", b"application/json"),
            ],
            body=json.dumps(WEBHOOK).encode(),
        )
        assert response.status == 401, presented.encode()
    listed = await api.call("GET", "/v1/subscriptions")
    assert listed[1]["items"] == []


@pytest.mark.parametrize("value", [b"Bearer \xff", b"Bearer \xc3\xa9t\xc3\xa9", b"\xff\xfe", b"Bearer"])
@pytest.mark.parametrize("token", [TOKEN, None])
async def test_an_undecodable_or_non_ascii_authorization_header_is_401_never_500(
    start_api: ApiFactory, small_rules: Path, value: bytes, token: str | None
) -> None:
    api = await start_api(rules_dir=small_rules, token=token, api_auth_reads=True)
    response = await raw_request(
        api.base,
        "POST",
        "/v1/subscriptions",
        headers=[("Authorization", value), ("Content-Type", b"application/json")],
        body=json.dumps(WEBHOOK).encode(),
    )
    # without a token a loopback client needs none, and the header is not looked at
    assert response.status == (401 if token else 201)
    assert "error" in response.json or token is None


async def test_the_right_token_still_opens_the_api(start_api: ApiFactory, small_rules: Path) -> None:
    api = await start_api(rules_dir=small_rules, token=TOKEN)
    response = await raw_request(
        api.base,
        "POST",
        "/v1/subscriptions",
        headers=[("Authorization", b"Bearer " + TOKEN.encode()), ("Content-Type", b"application/json")],
        body=json.dumps(WEBHOOK).encode(),
    )
    assert response.status == 201
