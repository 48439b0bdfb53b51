"""The key layout: keys used together share a cluster slot, and data in the old layout moves over intact."""

from __future__ import annotations

import pytest
import redis as sync_redis
from redis.asyncio import Redis
from redis.crc import key_slot

from service.app import create_app
from service.cli import main
from service.config import Settings
from service.connections import RedisUrlError, parse_redis_url
from service.errors import SettingsError
from service.keymigration import legacy_keys_present, migrate, new_name
from service.keys import Keys
from tests.conftest import SettingsFactory
from tests.helpers import running


def slots(*names: str) -> set[int]:
    return {key_slot(name.encode()) for name in names}


def test_the_keys_of_each_script_and_transaction_share_one_slot() -> None:
    k = Keys("geoalert:")
    ingest = [
        k.articles,
        k.dead_letter(k.articles),
        k.seen_article("a"),
        k.seen_url("u"),
        k.seen_content("c"),
    ]
    ingest += [k.story_band(3, "abcd"), k.story_signature("a"), k.story_sources("s")]
    assert len(slots(*ingest)) == 1
    assert len(slots(k.alerts, k.dead_letter(k.alerts), k.seen_alert("x"))) == 1
    delivery = [k.deliveries_due, k.delivery_lane("https://a"), k.delivery("d"), k.delivery_attempts("d")]
    delivery += [k.delivery_flight("https://a"), k.deliveries_dead_now]
    delivery += [k.alert_payload("x"), k.subscription_deliveries("s"), k.throttle("s", "r:st")]
    delivery += [k.digest("s", 3600), k.digest_seen("s", "x"), k.digests_open, k.deliveries_dead]
    delivery += [k.subscriptions, k.subscriptions_version, k.subscriptions_disabled]
    assert len(slots(*delivery)) == 1
    assert len(slots(k.feed_state("wire"), k.feed_lease("wire"))) == 1
    assert len(slots(k.feeds, k.feeds_version)) == 1
    # The three streams are free to live on three different primaries.
    assert len(slots(k.articles, k.alerts, k.deliveries_due)) == 3


def test_two_deployments_sharing_a_cluster_keep_their_streams_in_different_slots() -> None:
    europe, asia = Keys("geoalert-eu:"), Keys("geoalert-asia:")
    assert key_slot(europe.articles.encode()) != key_slot(asia.articles.encode())
    assert europe.articles.startswith("geoalert-eu:")  # every key still starts with its prefix


def test_a_key_prefix_with_a_brace_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="braces"):
        Settings(key_prefix="geo{alert}:")
    with pytest.raises(ValueError, match="braces"):
        Keys("x}")


def test_the_three_url_forms_are_told_apart() -> None:
    sentinel = parse_redis_url("redis+sentinel://:pw@s1:26379,s2:26380/mymaster/2")
    assert (sentinel.kind, sentinel.hosts, sentinel.service, sentinel.db) == (
        "sentinel",
        [("s1", 26379), ("s2", 26380)],
        "mymaster",
        2,
    )
    assert sentinel.password == "pw"
    cluster = parse_redis_url("redis+cluster://n1:7000,n2:7001")
    assert (cluster.kind, cluster.hosts, cluster.tls) == ("cluster", [("n1", 7000), ("n2", 7001)], False)
    assert parse_redis_url("rediss://r:6380/0").kind == "single"
    with pytest.raises(RedisUrlError, match="SERVICE_NAME"):
        parse_redis_url("redis+sentinel://s1:26379")
    with pytest.raises(RedisUrlError, match="no /DB"):
        parse_redis_url("redis+cluster://n1:7000/1")


def test_every_old_key_name_maps_onto_its_new_one() -> None:
    k = Keys("p:")
    assert new_name(k, "p:articles") == k.articles
    assert new_name(k, "p:alerts:dead") == k.dead_letter(k.alerts)
    assert new_name(k, "p:seen:alert:a1") == k.seen_alert("a1")
    assert new_name(k, "p:story:band:3:abcd") == k.story_band(3, "abcd")
    assert new_name(k, "p:delivery:d1") == k.delivery("d1")
    assert new_name(k, "p:delivery:d1:attempts") == k.delivery_attempts("d1")
    assert new_name(k, "p:deliveries:lane:https://x.example:8443") == k.delivery_lane(
        "https://x.example:8443"
    )
    assert new_name(k, "p:subscription:s1:deliveries") == k.subscription_deliveries("s1")
    assert new_name(k, "p:throttle:s1:rule:story") == k.throttle("s1", "rule:story")
    assert new_name(k, "p:digest:s1:3600") == k.digest("s1", 3600)
    assert new_name(k, "p:feed:wire:lease") == k.feed_lease("wire")
    assert new_name(k, "p:feed:wire") == k.feed_state("wire")
    assert new_name(k, "p:feeds:version") == k.feeds_version
    assert new_name(k, "p:status:rules") is None  # unchanged
    assert new_name(k, k.articles) is None  # already new
    assert new_name(k, "other:articles") is None


async def test_migrating_keeps_a_streams_groups_pending_entries_and_ttls(
    redis: Redis, key_prefix: str
) -> None:
    keys = Keys(key_prefix)
    old_stream = f"{key_prefix}articles"
    await redis.xadd(old_stream, {"data": "one"})
    await redis.xgroup_create(old_stream, "matchers", id="0")
    await redis.xreadgroup("matchers", "m1", {old_stream: ">"})  # read, not acknowledged: pending
    await redis.set(f"{key_prefix}feed:wire:lease", "poller-1", px=60_000)
    await redis.hset(f"{key_prefix}delivery:d1", mapping={"status": "pending"})
    await redis.set(keys.delivery("d2"), "new")  # written the new way meanwhile
    await redis.set(f"{key_prefix}delivery:d2", "old")
    assert await legacy_keys_present(redis, keys)

    assert await migrate(redis, keys, dry_run=True) == {"renamed": 4, "skipped": 0}
    assert await migrate(redis, keys) == {"renamed": 3, "skipped": 1}

    assert (await redis.xpending(keys.articles, "matchers"))["pending"] == 1
    assert 0 < await redis.pttl(keys.feed_lease("wire")) <= 60_000
    assert await redis.hget(keys.delivery("d1"), "status") == "pending"
    assert await redis.get(keys.delivery("d2")) == "new"  # never overwritten
    assert not await legacy_keys_present(redis, keys)
    assert await migrate(redis, keys) == {"renamed": 0, "skipped": 1}


async def test_a_service_on_a_redis_still_in_the_old_layout_refuses_to_start_naming_the_fix(
    redis: Redis, key_prefix: str, make_settings: SettingsFactory
) -> None:
    await redis.xadd(f"{key_prefix}articles", {"data": "left by 0.1"})
    with pytest.raises(SettingsError, match="geoalert migrate-keys"):
        async with running(create_app(make_settings(), roles=["matcher"])):
            pass


def test_migrate_keys_from_the_command_line_counts_first_then_moves(
    redis_server_url: str,
    key_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = sync_redis.Redis.from_url(redis_server_url)
    client.set(f"{key_prefix}seen:article:a1", "a1", ex=600)
    monkeypatch.setenv("GEOALERT_REDIS_URL", redis_server_url)
    monkeypatch.setenv("GEOALERT_KEY_PREFIX", key_prefix)
    try:
        assert main(["migrate-keys", "--dry-run"]) == 0
        assert "would rename 1 keys" in capsys.readouterr().out
        assert main(["migrate-keys"]) == 0
        assert "renamed 1 keys" in capsys.readouterr().out
        assert client.get(Keys(key_prefix).seen_article("a1")) == b"a1"
    finally:
        client.delete(Keys(key_prefix).seen_article("a1"), f"{key_prefix}seen:article:a1")
        client.close()
