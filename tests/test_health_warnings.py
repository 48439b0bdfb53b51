"""/healthz stays "ok" but lists what someone must fix; /metrics says which feed fails; dead letters
that were redelivered with success stop counting; log lines say once, and say where."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from redis.asyncio import Redis

from service.app import create_app
from service.keys import Keys
from tests.apikit import Api, ApiFactory
from tests.conftest import ROOT, SettingsFactory
from tests.deliverykit import make_alert
from tests.feedserver import FeedServer
from tests.helpers import WebhookReceiver, running, wait_until

FAST_RETRIES = {"retry_schedule": "0.05s,0.05s", "retry_jitter": 0.0}


async def _health(api: Api) -> dict[str, object]:
    status, body = await api.call("GET", "/healthz")
    assert status == 200
    return body  # type: ignore[no-any-return]


async def test_broken_feeds_and_subscriptions_files_are_warnings_while_status_stays_ok(
    start_api: ApiFactory, tmp_path: Path
) -> None:
    feeds = tmp_path / "feeds.yaml"
    subs = tmp_path / "subscriptions.yaml"
    feeds.write_text("feeds:\n  - name: seed\n    url: seeds/feed.xml\n    interval: 60\n")
    subs.write_text("subscriptions:\n  - name: terminal\n    console: {}\n")
    api = await start_api(feeds_file=feeds, subscriptions_file=subs)
    assert _file_warnings(await _health(api)) == []

    feeds.write_text("feeds:\n  - name: seed\n    url: seeds/feed.xml\n    interval: soon\n")
    subs.write_text("subscriptions:\n  - name: terminal\n    console: {}\n    min_severty: high\n")

    async def both_reported() -> bool:  # the watchers reload within GEOALERT_RELOAD_INTERVAL
        return len(_file_warnings(await _health(api))) == 2

    await wait_until(both_reported)
    body = await _health(api)

    assert body["status"] == "ok"
    assert _file_warnings(body) == [
        f"feeds file edit rejected, the last good feeds are polled: {feeds}:4:15:"
        " feeds.0.interval: Input should be a valid number, unable to parse string as a number",
        f"subscriptions file edit rejected, the last good version is in use: {subs}:4:5:"
        " unknown key 'min_severty', did you mean 'min_severity'?",
    ]


def _file_warnings(body: dict[str, object]) -> list[str]:
    return [w for w in body.get("warnings", []) if "file edit rejected" in w]  # type: ignore[attr-defined]


async def test_a_failing_feed_is_a_warning_and_a_per_feed_gauge(
    start_api: ApiFactory, tmp_path: Path, server: FeedServer
) -> None:
    broken = server.static("/broken.xml", "down", status=500)
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(
        f"feeds:\n  - name: broken\n    url: {broken}\n    interval: 1\n"
        f"  - name: seed\n    url: {ROOT / 'seeds/feed.xml'}\n    interval: 60\n"
    )
    api = await start_api(
        roles=("poller", "api"), feeds_file=feeds, feed_failing_after=1, poll_startup_spread=0
    )

    async def warned() -> bool:
        return any("feed 'broken' is failing" in w for w in (await _health(api)).get("warnings", []))  # type: ignore[attr-defined]

    await wait_until(warned)
    body = await _health(api)
    assert body["status"] == "ok"
    assert [w for w in body["warnings"] if "seed" in w] == []  # type: ignore[attr-defined]
    _, metrics = await api.call("GET", "/metrics")
    assert 'geoalert_feed_polls_total{feed="broken",outcome="error"}' in metrics
    assert 'geoalert_feed_failing{feed="broken"} 1.0' in metrics
    assert 'geoalert_feed_failing{feed="seed"} 0.0' in metrics


async def test_a_dead_letter_redelivered_with_success_no_longer_counts_and_failures_name_where(
    start_api: ApiFactory,
    receiver: WebhookReceiver,
    redis: Redis,
    key_prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    api = await start_api(roles=("dispatcher", "api"), **FAST_RETRIES)
    receiver.status = 503
    status, sub = await api.call(
        "POST", "/v1/subscriptions", {"name": "ops", "webhook": {"url": receiver.url}}
    )
    assert status == 201
    await redis.xadd(
        Keys(key_prefix).alerts, {"data": make_alert().model_dump_json(), "rule": "leader_summit"}
    )

    async def dead_letters() -> int:
        return int((await _health(api))["streams"]["deliveries"]["dead_letters"])  # type: ignore[index]

    await wait_until(lambda: _equals(dead_letters(), 1))
    _, page = await api.call("GET", f"/v1/subscriptions/{sub['id']}/deliveries")
    delivery_id = page["items"][0]["id"]
    failures = [r.getMessage() for r in caplog.records if "attempt" in r.getMessage()]
    assert failures
    for line in failures:
        assert "to subscription 'ops' (http://127.0.0.1:" in line

    receiver.status = 200
    status, _ = await api.call("POST", f"/v1/deliveries/{delivery_id}/redeliver")
    assert status == 202
    await wait_until(lambda: _equals(dead_letters(), 0))
    _, metrics = await api.call("GET", "/metrics")
    assert "geoalert_deliveries_dead_letters 0.0" in metrics
    assert await redis.xlen(Keys(key_prefix).deliveries_dead) == 1  # the history stays


async def _equals(value: object, wanted: int) -> bool:
    return await value == wanted  # type: ignore[misc]


async def test_each_rule_reload_and_each_rule_error_is_logged_once(
    make_settings: SettingsFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    rule = rules / "watchword.yaml"
    rule.write_text("id: watchword\ntitle: W\nparts:\n  w: {any: [alpha]}\ncondition: w\n")
    app = create_app(make_settings(rules_dir=rules, reload_interval=0.05), roles=["matcher", "api"])
    caplog.set_level(logging.INFO)
    async with running(app):
        rule.write_text("id: watchword\ntitle: W\nparts:\n  w: {any: [beta]}\ncondition: w\n")
        await wait_until(lambda: _logged(caplog, "rules reloaded"))
        rule.write_text(
            "id: watchword\ntitle: W\nparts:\n  w: {any: [beta]}\n  x: {bogus: 1}\ncondition: w and y\n"
        )
        await wait_until(lambda: _logged(caplog, "not reloaded"))
        await asyncio.sleep(0.3)  # several more reload rounds: nothing is logged again
    reloaded = [r for r in caplog.records if "rules reloaded" in r.getMessage()]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and "watchword.yaml" in r.getMessage()]
    assert len(reloaded) == 1
    assert errors
    assert len({r.getMessage() for r in errors}) == len(errors)  # each error once


async def _logged(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return any(text in r.getMessage() for r in caplog.records)
