"""Alerts to chat and push services through Apprise, on the durable queue, against real local servers.

ntfy, Gotify and Mattermost accept a custom host, and Apprise's json:// and
form:// targets post to any URL: each is a small aiohttp server here that
speaks the service's API (tests/chatkit.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from notifiers.ssrf import AddressPolicy
from service.app import create_app
from tests.chatkit import ServiceReceiver
from tests.conftest import ROOT, SettingsFactory
from tests.deliverykit import Kit, make_alert
from tests.helpers import running, wait_until

Start = Callable[..., Any]


def url_of(api: str, receiver: ServiceReceiver) -> str:
    where = f"127.0.0.1:{receiver.port}"
    return {
        "ntfy": f"ntfy://{where}/geoalert-desk",
        "gotify": f"gotify://{where}/AbCdEfGhIjKlMnO",
        "mattermost": f"mmost://{where}/yobjmukpaw3r3urc5h6i369yima",
        "json": f"json://{where}/alerts",
        "form": f"form://{where}/alerts",
    }[api]


async def deliver_one(kit: Kit, url: str, **channel: Any) -> tuple[str, Any]:
    sub = await kit.subscribe(apprise={"urls": [url], **channel})
    delivery_id = await kit.queue.enqueue(
        make_alert(title="Leaders meet in *Vladivostok* @channel"), sub, now=kit.clock()
    )
    assert delivery_id is not None
    await kit.worker().process_due()
    return delivery_id, sub


def text_of(api: str, receiver: ServiceReceiver) -> tuple[str, str]:
    """(title, body) as the service received them."""
    request = receiver.received[-1]
    if api == "form":
        from urllib.parse import parse_qs

        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        return form["title"], form["message"]
    payload = request.json()
    if api == "mattermost":
        return "", payload["text"]
    return payload.get("title", ""), payload["message"]


@pytest.mark.parametrize("api", ["ntfy", "gotify", "mattermost", "json", "form"])
async def test_an_alert_reaches_each_service_with_title_evidence_and_link(
    kit: Kit, service_receiver: Start, api: str
) -> None:
    receiver = await service_receiver(api)

    delivery_id, _ = await deliver_one(kit, url_of(api, receiver))

    record = await kit.delivery(delivery_id)
    assert record.status == "delivered", record.last_error
    assert record.channel == "apprise"
    title, body = text_of(api, receiver)
    assert "HIGH" in title + body
    assert "Leaders" in title + body
    assert "https://news.example/1" in body  # the article link
    assert "Putin" in body  # the evidence
    assert "@channel" not in body  # article text cannot mention everyone in a chat


async def test_a_500_is_retried_on_the_schedule_and_then_delivered(kit: Kit, service_receiver: Start) -> None:
    receiver = await service_receiver("ntfy", 500)

    delivery_id, _ = await deliver_one(kit, url_of("ntfy", receiver))

    record = await kit.delivery(delivery_id)
    assert record.status == "retrying"
    assert record.last_status == 500
    assert record.next_at == kit.clock() + 5
    kit.clock.advance(5)
    await kit.worker().process_due()
    record = await kit.delivery(delivery_id)
    assert record.status == "delivered"
    assert len(receiver.received) == 2
    assert [a.outcome for a in await kit.queue.attempts(delivery_id)] == ["retrying", "delivered"]


@pytest.mark.parametrize("status", [401, 403, 404])
async def test_a_refused_token_or_a_gone_channel_disables_the_subscription(
    kit: Kit, service_receiver: Start, status: int
) -> None:
    receiver = await service_receiver("mattermost", status)

    delivery_id, sub = await deliver_one(kit, url_of("mattermost", receiver))

    record = await kit.delivery(delivery_id)
    assert record.status == "dead"
    assert record.last_status == status
    assert "subscription disabled" in record.last_error
    stored = await kit.directory.get(sub.id)
    assert stored is not None
    assert stored.enabled is False
    assert stored.disabled_reason is not None
    assert "yobjmukpaw3r3urc5h6i369yima" not in record.last_error + stored.disabled_reason


async def test_a_service_that_keeps_failing_is_dead_lettered_and_can_be_redelivered(
    kit: Kit, service_receiver: Start
) -> None:
    receiver = await service_receiver("gotify", *([503] * 8))
    kit.policy = type(kit.policy)(schedule=(5, 5), jitter=0.0)

    delivery_id, _ = await deliver_one(kit, url_of("gotify", receiver))
    for _ in range(2):
        kit.clock.advance(5)
        await kit.worker().process_due()

    record = await kit.delivery(delivery_id)
    assert record.status == "dead"
    assert record.attempts == 3
    (dead,) = await kit.redis.xrange(kit.keys.deliveries_dead)
    assert dead[1]["delivery"] == delivery_id
    receiver.statuses.clear()
    assert await kit.queue.redeliver(delivery_id, now=kit.clock()) == "ok"
    await kit.worker().process_due()
    assert (await kit.delivery(delivery_id)).status == "delivered"


async def test_a_private_host_is_refused_unless_its_range_is_allowed(
    kit: Kit, service_receiver: Start
) -> None:
    receiver = await service_receiver("json")
    kit.address_policy = AddressPolicy()  # GEOALERT_WEBHOOK_ALLOW_CIDRS unset

    delivery_id, sub = await deliver_one(kit, url_of("json", receiver))

    assert receiver.received == []
    record = await kit.delivery(delivery_id)
    assert record.status == "dead"  # refusing again later cannot help
    assert "refused: 127.0.0.1 resolves to 127.0.0.1 is loopback" in record.last_error
    assert (await kit.directory.get(sub.id)).enabled is True  # type: ignore[union-attr]


async def test_a_subscription_template_shapes_the_message_in_a_sandbox(
    kit: Kit, service_receiver: Start
) -> None:
    receiver = await service_receiver("json")

    await deliver_one(
        kit,
        url_of("json", receiver),
        title="{{ rule.id }} fired",
        template="{{ article.title | md }} — {{ evidence | length }} evidence",
    )

    title, body = text_of("json", receiver)
    assert title == "leader_summit fired"
    assert body.startswith("Leaders meet in \\*Vladivostok\\*")
    assert body.endswith("1 evidence")


async def test_a_template_that_reaches_outside_its_sandbox_fails_for_good(
    kit: Kit, service_receiver: Start
) -> None:
    receiver = await service_receiver("json")

    delivery_id, _ = await deliver_one(
        kit, url_of("json", receiver), template="{{ alert.__class__.__mro__[1].__subclasses__() }}"
    )

    assert receiver.received == []
    record = await kit.delivery(delivery_id)
    assert record.status == "dead"
    assert "template failed" in record.last_error


async def test_the_seed_alerts_reach_ntfy_and_mattermost_from_the_subscriptions_file(
    make_settings: SettingsFactory, tmp_path: Path, service_receiver: Start
) -> None:
    ntfy = await service_receiver("ntfy")
    mattermost = await service_receiver("mattermost")
    (tmp_path / "feeds.yaml").write_text(
        f"feeds:\n  - name: seed\n    url: {ROOT / 'seeds/feed.xml'}\n    interval: 3600\n"
    )
    (tmp_path / "subscriptions.yaml").write_text(
        "subscriptions:\n"
        "  - name: phones\n"
        "    rules: [leader_summit, arms_deal]\n"
        f"    apprise: {{urls: ['{url_of('ntfy', ntfy)}']}}\n"
        "  - name: newsroom\n"
        "    rules: [tag:diplomacy]\n"
        f"    apprise: {{urls: ['{url_of('mattermost', mattermost)}']}}\n"
    )
    settings = make_settings(webhook_allow_cidrs="127.0.0.0/8")

    async with running(create_app(settings, roles=["poller", "matcher", "dispatcher"])):
        await wait_until(lambda: len(ntfy.received) >= 2 and len(mattermost.received) >= 1, timeout=30)

    assert all("North Korean Leader" in r.json()["title"] for r in ntfy.received)
    assert "leader_summit" not in mattermost.received[0].json()["text"]  # a title, not an id
    assert "North Korean Leader" in mattermost.received[0].json()["text"]


async def test_a_failure_is_logged_with_the_service_redacted(
    kit: Kit, service_receiver: Start, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = await service_receiver("gotify", 500)

    await deliver_one(kit, url_of("gotify", receiver))

    assert "gotify://127.0.0.1" in caplog.text
    assert "AbCdEfGhIjKlMnO" not in caplog.text
