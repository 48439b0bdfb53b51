"""Webhooks follow the Standard Webhooks specification, checked against its test vector and its library."""

from __future__ import annotations

import json
import time

import pytest
from standardwebhooks.webhooks import Webhook

from notifiers.webhook import WebhookTarget, event, new_secret, secret_bytes, sign
from tests.deliverykit import Kit, make_alert
from tests.helpers import WebhookReceiver


def test_signature_reproduces_the_specifications_test_vector() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'

    signature = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)

    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_generated_secrets_are_whsec_and_32_random_bytes() -> None:
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_")
    assert first != second
    assert len(secret_bytes(first)) == 32


@pytest.mark.parametrize(
    ("secret", "problem"),
    [("whsec_not base64!", "base64"), ("whsec_c2hvcnQ=", "24 to 64 bytes")],
)
def test_a_malformed_secret_is_refused_with_the_reason(secret: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        WebhookTarget(url="https://example.org/hook", secret=secret)


def test_the_event_body_carries_the_alert_in_the_documented_shape() -> None:
    alert = make_alert(7).model_dump(mode="json")

    body = event(alert)

    assert body["type"] == "alert.created"
    assert body["timestamp"] == alert["created_at"]
    data = body["data"]
    assert data["id"] == alert["id"]
    assert data["rule"] == {"id": "leader_summit", "title": "Leaders' summit", "severity": "high"}
    assert set(data["article"]) == {"id", "title", "url", "source", "published"}
    assert data["evidence"][0]["text"] == "Putin"
    assert data["story_id"] == "story-7"


async def test_a_real_delivery_verifies_with_the_official_library(
    kit: Kit, receiver: WebhookReceiver
) -> None:
    kit.clock.now = time.time()  # the library checks the timestamp against the real clock
    secret = new_secret()
    sub = await kit.subscribe(webhook={"url": receiver.url, "secret": secret})
    delivery_id = await kit.queue.enqueue(make_alert(), sub, now=kit.clock())

    await kit.worker().process_due()

    (got,) = receiver.received
    verified = Webhook(secret).verify(got.body, got.headers)
    assert verified["data"]["id"] == "alert-leader_summit-1"
    assert got.headers["webhook-id"] == delivery_id
    assert got.headers["Content-Type"] == "application/json"
    assert json.loads(got.body) == verified


async def test_every_attempt_keeps_the_webhook_id_but_is_signed_afresh(
    kit: Kit, receiver: WebhookReceiver
) -> None:
    receiver.status = 500
    secret = new_secret()
    sub = await kit.subscribe(webhook={"url": receiver.url, "secret": secret})
    await kit.queue.enqueue(make_alert(), sub, now=kit.clock())
    worker = kit.worker()

    await worker.process_due()
    kit.clock.advance(6)  # past the first retry delay (5 s)
    receiver.status = 200
    await worker.process_due()

    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert int(second.headers["webhook-timestamp"]) == int(first.headers["webhook-timestamp"]) + 6
    assert first.headers["webhook-signature"] != second.headers["webhook-signature"]
    assert first.body == second.body
    # The library checks timestamps against the real clock; verify against the signed content instead.
    for got in (first, second):
        expected = sign(secret, got.headers["webhook-id"], int(got.headers["webhook-timestamp"]), got.body)
        assert got.headers["webhook-signature"] == expected
