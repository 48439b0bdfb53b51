"""`geoalert run` as a real process: embedded Redis, roles, signals, start-up errors."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import redis

from tests.conftest import ROOT
from tests.processes import alert_lines, geoalert, service_env


@pytest.fixture
def embedded_dir(tmp_path: Path) -> Iterator[Path]:
    """The data dir of an embedded Redis; whatever still runs there is shut down after the test."""
    data_dir = tmp_path / ".geoalert"
    yield data_dir
    url_file = data_dir / "redis/url"
    if url_file.exists():
        with contextlib.suppress(redis.ConnectionError, OSError):
            redis.Redis.from_url(url_file.read_text().strip()).shutdown(nosave=True)


async def test_out_of_the_box_the_seed_raises_two_alerts_once_on_embedded_redis(
    tmp_path: Path, embedded_dir: Path
) -> None:
    env = service_env(tmp_path)
    del env["GEOALERT_PARSE_PROCESSES"]  # out of the box: feeds parsed in worker processes
    async with geoalert("run", env=env, cwd=ROOT) as first:
        await first.wait_log("ALERT HIGH     arms_deal", stdout=True, timeout=30)
        await first.wait_log("ALERT HIGH     leader_summit", stdout=True)
        assert await first.terminate() == 0
    assert any("started an embedded Redis" in line and "append-only" in line for line in first.log)
    assert sorted(line.split()[2] for line in alert_lines(first)) == ["arms_deal:", "leader_summit:"]
    assert (tmp_path / ".geoalert/redis").exists()

    async with geoalert("run", env={**env, "GEOALERT_LOG_LEVEL": "DEBUG"}, cwd=ROOT) as second:
        await second.wait_log("api listening")
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{env['GEOALERT_HTTP_PORT']}/healthz") as response,
        ):
            health = await response.json()
        # The feed's run is skipped (fetched within its interval) or finds nothing new.
        await second.wait_log("feed seed: ")
        assert await second.terminate() == 0
    assert health["streams"]["alerts"]["length"] == 2  # the embedded Redis kept what it saw ...
    assert alert_lines(second) == []  # ... so nothing is raised twice


async def test_ctrl_c_at_a_terminal_stops_every_process_cleanly(tmp_path: Path, embedded_dir: Path) -> None:
    env = service_env(tmp_path)
    del env["GEOALERT_PARSE_PROCESSES"]  # out of the box: feeds parsed in worker processes
    async with geoalert("run", env=env, cwd=ROOT) as svc:
        await svc.wait_log("feed seed: ", timeout=30)  # the parse workers have started
        assert await svc.interrupt() == 0
    assert not any("Traceback" in line or "KeyboardInterrupt" in line for line in svc.log), "".join(svc.log)
    assert any("embedded Redis stopped" in line for line in svc.log)


async def test_sigterm_during_start_up_still_stops_gracefully(
    tmp_path: Path, redis_server_url: str, key_prefix: str
) -> None:
    env = service_env(tmp_path, redis_url=redis_server_url, key_prefix=key_prefix)
    async with geoalert("run", env=env, cwd=ROOT) as svc:
        await svc.wait_log(" rules from ")  # start-up is under way, the API not yet listening
        assert await svc.terminate() == 0
    assert any("stopped" in line for line in svc.log)


async def test_roles_other_than_api_open_no_port(
    tmp_path: Path, redis_server_url: str, key_prefix: str
) -> None:
    env = service_env(tmp_path, redis_url=redis_server_url, key_prefix=key_prefix)
    port = int(env["GEOALERT_HTTP_PORT"])
    async with geoalert(
        "run", "--role", "poller", "--role", "matcher", "--role", "dispatcher", env=env, cwd=ROOT
    ) as svc:
        await svc.wait_log("running roles: poller, matcher, dispatcher")
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
        assert await svc.terminate() == 0
    assert not any("embedded Redis" in line for line in svc.log)


async def test_the_api_role_answers_health(tmp_path: Path, redis_server_url: str, key_prefix: str) -> None:
    env = service_env(tmp_path, redis_url=redis_server_url, key_prefix=key_prefix)
    async with geoalert("run", "--role", "api", env=env, cwd=ROOT) as svc:
        await svc.wait_log("api listening")
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{env['GEOALERT_HTTP_PORT']}/healthz") as response,
        ):
            body = await response.json()
        assert await svc.terminate() == 0
    assert response.status == 200
    assert body["status"] == "ok"
    assert body["redis"]["ok"] is True
    assert set(body["streams"]) >= {"articles", "alerts"}


async def test_a_bad_setting_stops_start_up_with_one_line(tmp_path: Path) -> None:
    env = service_env(tmp_path, http_port="eighty")
    async with geoalert("run", env=env, cwd=ROOT) as svc:
        code = await asyncio.wait_for(svc.process.wait(), 20)
    assert code == 2
    assert [line.strip() for line in svc.log if line.strip()] == [
        "geoalert: invalid setting GEOALERT_HTTP_PORT='eighty': "
        "Input should be a valid integer, unable to parse string as an integer"
    ]


async def test_a_broken_feeds_file_stops_start_up_naming_file_and_line(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n  - name: seed\n    url: seeds/feed.xml\n    interval: -1\n")
    env = service_env(tmp_path, feeds_file=str(feeds), redis_url="redis://127.0.0.1:1/0")
    async with geoalert("run", "--role", "poller", env=env, cwd=ROOT) as svc:
        code = await asyncio.wait_for(svc.process.wait(), 20)
    assert code == 2
    assert f"{feeds}:4:15: feeds.0.interval: Input should be greater than or equal to 1" in "".join(svc.log)
    assert "Traceback" not in "".join(svc.log)
