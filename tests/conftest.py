"""Shared fixtures: a real Redis for every test, isolated by key prefix."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import redis as sync_redis
from redis.asyncio import Redis

from service.config import Settings
from service.embedded_redis import RedisServer, free_port

ROOT = Path(__file__).resolve().parent.parent

pytest_plugins = [
    "tests.deliverykit",
    "tests.smtpkit",
    "tests.chatkit",
    "tests.apikit",
    "tests.feedserver",
    "tests.topologies",
    "tests.browserkit",
]  # fixtures of the delivery, webhook, email and poller tests, Redis topologies, the console


def _reachable(url: str) -> bool:
    client = sync_redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    except (sync_redis.ConnectionError, sync_redis.TimeoutError, OSError):
        return False
    finally:
        client.close()


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """GEOALERT_TEST_REDIS_URL when it answers; otherwise a private redis-server for the session."""
    url = os.environ.get("GEOALERT_TEST_REDIS_URL")
    if url and _reachable(url):
        yield url
        return
    server = RedisServer(tmp_path_factory.mktemp("redis"), port=free_port(), appendonly=False)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _no_rule_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """``geoalert match`` keeps compiled rules in the user's cache (service/matching/rulecache.py);
    tests compile theirs and leave the user's cache alone."""
    monkeypatch.setenv("GEOALERT_RULE_CACHE", "off")


@pytest.fixture
def key_prefix() -> str:
    return f"test:{uuid.uuid4().hex[:12]}:"


@pytest.fixture
async def redis(redis_server_url: str, key_prefix: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server_url, decode_responses=True)
    yield client
    keys = [k async for k in client.scan_iter(match=f"{key_prefix}*", count=1000)]
    if keys:
        await client.unlink(*keys)
    await client.aclose()


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(redis_server_url: str, key_prefix: str, tmp_path: Path) -> SettingsFactory:
    """Test settings: the test Redis and prefix, files under tmp_path, short waits."""

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "redis_url": redis_server_url,
            "key_prefix": key_prefix,
            "data_dir": tmp_path / "data",
            "rules_dir": ROOT / "rules",
            "feeds_file": tmp_path / "feeds.yaml",
            "subscriptions_file": tmp_path / "subscriptions.yaml",
            "consumer_name": f"test-{uuid.uuid4().hex[:8]}",
            "read_block_ms": 100,
            "reload_interval": 0.1,
            "shutdown_timeout": 5.0,
            # Parsing in threads: a test polls a few small documents, and starting
            # worker processes would cost more than they save. Tests of the
            # processes make their own pool.
            "parse_processes": 0,
            # Test feeds are new and their items often old: every article may alert, unless a
            # test (tests/test_alert_age.py) is about the age limit and the first-poll rule.
            "alert_max_age": 0,
            "alert_first_poll": True,
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return make


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[Callable[..., RedisServer]]:
    """Start private redis-server processes (for tests that flush, kill or restart Redis)."""
    servers: list[RedisServer] = []

    def start(name: str = "own", **options: object) -> RedisServer:
        server = RedisServer(tmp_path / f"redis-{name}", port=free_port(), **options)  # type: ignore[arg-type]
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.kill()
