"""The seed article travels the real pipeline: poller -> articles stream -> matcher -> alerts -> notifiers."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.asyncio import Redis
from standardwebhooks.webhooks import Webhook

from notifiers.webhook import new_secret
from service.app import create_app
from service.keys import Keys
from service.typedefs import POLLER
from tests.conftest import ROOT, SettingsFactory
from tests.helpers import WebhookReceiver, running


def write_seed_config(tmp_path: Path, webhook_url: str, secret: str) -> None:
    (tmp_path / "feeds.yaml").write_text(
        f"feeds:\n  - name: seed\n    url: {ROOT / 'seeds/feed.xml'}\n    interval: 3600\n"
    )
    (tmp_path / "subscriptions.yaml").write_text(
        "subscriptions:\n"
        "  - name: terminal\n    rules: ['*']\n    console: {}\n"
        f"  - name: ops\n    rules: [leader_summit, arms_deal]\n    webhook: {{url: '{webhook_url}', secret: '{secret}'}}\n"
    )


@pytest.fixture
async def receiver() -> WebhookReceiver:
    r = WebhookReceiver()
    await r.start()
    yield r  # type: ignore[misc]
    await r.stop()


async def test_seed_feed_raises_a_summit_and_an_arms_deal_alert_on_webhook_and_console(
    redis_form_url: str,
    make_settings: SettingsFactory,
    tmp_path: Path,
    receiver: WebhookReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = new_secret()
    write_seed_config(tmp_path, receiver.url, secret)
    # On one Redis, behind Sentinel, and on a Redis Cluster alike.
    settings = make_settings(redis_url=redis_form_url, webhook_allow_cidrs="127.0.0.0/8")
    app = create_app(settings, roles=["poller", "matcher", "dispatcher"])

    async with running(app):
        received = await receiver.wait_for(2)

    verifier = Webhook(secret)
    events = [verifier.verify(r.body, r.headers) for r in received]
    assert sorted(e["data"]["rule"]["id"] for e in events) == ["arms_deal", "leader_summit"]
    assert {e["type"] for e in events} == {"alert.created"}
    assert all("North Korean Leader" in e["data"]["article"]["title"] for e in events)
    assert all(e["data"]["evidence"] for e in events)
    printed = capsys.readouterr().out
    assert "leader_summit" in printed
    assert "arms_deal" in printed


async def test_restarting_does_not_raise_the_seed_alerts_again(
    make_settings: SettingsFactory, tmp_path: Path, receiver: WebhookReceiver, redis: Redis, key_prefix: str
) -> None:
    write_seed_config(tmp_path, receiver.url, new_secret())
    settings = make_settings(webhook_allow_cidrs="127.0.0.0/8")
    async with running(create_app(settings, roles=["poller", "matcher", "dispatcher"])):
        await receiver.wait_for(2)

    app = create_app(settings, roles=["poller", "matcher", "dispatcher"])
    async with running(app):
        seed = app[POLLER].feeds.current[0]
        assert await app[POLLER].poll(seed) == 0  # already seen

    assert await redis.xlen(Keys(key_prefix).alerts) == 2
    assert len(receiver.received) == 2
