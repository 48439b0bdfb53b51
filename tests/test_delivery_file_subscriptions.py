"""Subscriptions declared in the file: delivered like the API's, switched off by a 410 until the entry is edited."""

from __future__ import annotations

from pathlib import Path

import pytest

from notifiers.webhook import new_secret
from service.errors import ConfigFileError
from service.subscriptions import load_subscriptions_file
from tests.deliverykit import Kit, make_alert
from tests.helpers import WebhookReceiver


def _declare(tmp_path: Path, url: str, secret: str, *, rules: str = "['*']") -> None:
    (tmp_path / "subscriptions.yaml").write_text(
        f"subscriptions:\n  - name: ops\n    rules: {rules}\n    webhook: {{url: '{url}', secret: '{secret}'}}\n"
    )


async def test_a_410_switches_a_file_subscription_off_until_its_entry_is_edited(
    kit: Kit, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    secret = new_secret()
    _declare(tmp_path, receiver.url, secret)
    assert kit.directory.refresh()
    receiver.status = 410
    await kit.dispatcher().dispatch(make_alert(1))
    await kit.worker().process_due()

    sub = await kit.directory.get("ops")
    assert sub is not None
    assert not sub.enabled
    assert sub.disabled_reason == "endpoint answered 410 Gone: subscription disabled"
    assert await kit.dispatcher().dispatch(make_alert(2)) == 0  # nothing more is queued for it

    _declare(tmp_path, receiver.url, secret, rules="[leader_summit]")  # the operator edits the entry
    (tmp_path / "subscriptions.yaml").touch()
    assert kit.directory.refresh()
    receiver.status = 200
    assert await kit.dispatcher().dispatch(make_alert(3)) == 1
    await kit.worker().process_due()
    assert receiver.received[-1].json["data"]["article"]["id"] == "art-3"


def test_a_file_webhook_without_a_secret_is_refused_at_load(tmp_path: Path) -> None:
    path = tmp_path / "subscriptions.yaml"
    path.write_text("subscriptions:\n  - name: ops\n    webhook: {url: 'https://example.org/hook'}\n")

    with pytest.raises(ConfigFileError, match=r"webhook\.secret is required"):
        load_subscriptions_file(path)


def test_a_file_can_declare_an_email_digest(tmp_path: Path) -> None:
    path = tmp_path / "subscriptions.yaml"
    path.write_text(
        "subscriptions:\n  - name: desk\n    email: {to: [desk@example.org]}\n    digest: hourly\n"
        "    throttle: {period: 600}\n"
    )

    (sub,) = load_subscriptions_file(path)
    assert sub.channel == "email"
    assert sub.endpoint == "smtp"
    assert sub.source == "file"
