"""Redis failing under a running service: killed, restarted empty, unreachable for a while."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from service.embedded_redis import RedisServer
from service.keys import Keys
from service.streams import Trim, publish
from tests.conftest import ROOT
from tests.helpers import wait_until
from tests.processes import Service, alert_lines, geoalert, service_env, summit_and_arms_article

pytestmark = pytest.mark.slow
TRIM = Trim("maxlen", 1_000_000)
PREFIX = "fault:"


async def alerted_articles(redis: Redis) -> set[tuple[str, str]]:
    entries = await redis.xrange(Keys(PREFIX).alerts)
    return {(e[1]["rule"], json.loads(e[1]["data"])["article"]["id"]) for e in entries}


async def publish_until_acked(redis: Redis, n: int) -> bool:
    """Append article n; False if Redis did not acknowledge it."""
    try:
        await publish(redis, Keys(PREFIX).articles, {"data": summit_and_arms_article(n)}, TRIM)
        return True
    except (RedisConnectionError, ConnectionError, OSError):
        return False


async def test_every_acknowledged_article_survives_kill_9_with_appendfsync_always(
    own_redis: Callable[..., RedisServer], tmp_path: Path
) -> None:
    server = own_redis(appendonly=True, appendfsync="always")
    env = service_env(tmp_path, redis_url=server.url, key_prefix=PREFIX, claim_idle_ms="2000")
    redis = Redis.from_url(server.url, decode_responses=True, socket_connect_timeout=1, socket_timeout=2)
    acked: list[int] = []
    async with geoalert("run", "--role", "matcher", env=env, cwd=tmp_path) as matcher:
        await matcher.wait_log("running roles: matcher")
        n = 0
        while len(acked) < 400:
            if len(acked) == 200 and server.process is not None and server.process.poll() is None:
                server.kill()  # mid-stream: the publisher and the matcher both lose Redis
                await asyncio.to_thread(server.start)
            if await publish_until_acked(redis, n):
                acked.append(n)
            n += 1
        expected = {(rule, f"fault-{i}") for i in acked for rule in ("leader_summit", "arms_deal")}

        async def all_alerted() -> bool:
            return expected <= await alerted_articles(redis)

        await wait_until(all_alerted, timeout=60)
        assert await matcher.terminate() == 0
    await redis.aclose()


async def test_a_redis_restarted_empty_gets_its_groups_back_without_a_crash_loop(
    own_redis: Callable[..., RedisServer], tmp_path: Path
) -> None:
    server = own_redis(appendonly=True, appendfsync="always")
    env = service_env(tmp_path, redis_url=server.url, key_prefix=PREFIX)
    redis = Redis.from_url(server.url, decode_responses=True, socket_connect_timeout=1, socket_timeout=2)
    async with geoalert("run", "--role", "matcher", env=env, cwd=tmp_path) as matcher:
        await matcher.wait_log("running roles: matcher")
        await publish(redis, Keys(PREFIX).articles, {"data": summit_and_arms_article(1)}, TRIM)
        await wait_until(lambda: logged_alert(matcher, 1))

        server.kill()
        shutil.rmtree(server.data_dir)  # its data is gone for good
        await asyncio.to_thread(server.start)
        await wait_until(lambda: publish_until_acked(redis, 2), timeout=20)

        await wait_until(lambda: logged_alert(matcher, 2), timeout=30)
        assert matcher.process.returncode is None
        assert await matcher.terminate() == 0
    await redis.aclose()
    # Recovered once (on reconnect, or on NOGROUP if it noticed that first), never in a loop.
    assert not any("stopped unexpectedly" in line for line in matcher.log)
    assert len([line for line in matcher.log if "WARNING" in line]) <= 3


def logged_alert(service: Service, n: int) -> bool:
    return any("alert " in line and f"(report {n})" in line for line in service.log)


async def test_every_role_rides_out_ten_seconds_without_redis(
    own_redis: Callable[..., RedisServer], tmp_path: Path
) -> None:
    server = own_redis(appendonly=True, appendfsync="always")
    env = service_env(tmp_path, redis_url=server.url, key_prefix=PREFIX)
    port = env["GEOALERT_HTTP_PORT"]
    redis = Redis.from_url(server.url, decode_responses=True, socket_connect_timeout=1, socket_timeout=2)
    async with geoalert("run", env=env, cwd=ROOT) as svc, aiohttp.ClientSession() as http:
        await svc.wait_log("running roles: poller, matcher, dispatcher, api")
        await svc.wait_log("ALERT HIGH     leader_summit", stdout=True)  # the seed went through

        server.kill()
        async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
            assert response.status == 503
            assert (await response.json())["status"] == "degraded"
        await asyncio.sleep(10)  # the outage itself is what is under test
        assert svc.process.returncode is None
        await asyncio.to_thread(server.start)

        await wait_until(lambda: publish_until_acked(redis, 7), timeout=20)
        await wait_until(lambda: len(alert_lines(svc)) == 4, timeout=30)  # the seed's two, then report 7's
        async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
            assert response.status == 200
        assert await svc.terminate() == 0
    await redis.aclose()
