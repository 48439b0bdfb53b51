"""The delivery log over HTTP: attempts with status codes, dead letters, redelivery; and /metrics."""

from __future__ import annotations

import json

from redis.asyncio import Redis
from standardwebhooks.webhooks import Webhook

from service.keys import Keys
from service.models import utcnow
from tests.apikit import Api, ApiFactory
from tests.deliverykit import make_alert
from tests.helpers import WebhookReceiver, wait_until

FAST_RETRIES = {"retry_schedule": "0.05s,0.05s", "retry_jitter": 0.0}


async def _subscribe(api: Api, url: str) -> dict[str, str]:
    status, created = await api.call("POST", "/v1/subscriptions", {"name": "ops", "webhook": {"url": url}})
    assert status == 201
    return created  # type: ignore[no-any-return]


async def _deliveries(api: Api, sub_id: str) -> list[dict[str, object]]:
    status, page = await api.call("GET", f"/v1/subscriptions/{sub_id}/deliveries")
    assert status == 200
    return page["items"]  # type: ignore[no-any-return]


async def test_a_dead_letter_shows_every_attempt_and_can_be_redelivered(
    start_api: ApiFactory, receiver: WebhookReceiver, redis: Redis, key_prefix: str
) -> None:
    api = await start_api(roles=("dispatcher", "api"), **FAST_RETRIES)
    receiver.status = 503
    sub = await _subscribe(api, receiver.url)
    await redis.xadd(
        Keys(key_prefix).alerts, {"data": make_alert().model_dump_json(), "rule": "leader_summit"}
    )

    async def dead() -> bool:
        items = await _deliveries(api, sub["id"])
        return bool(items) and items[0]["status"] == "dead"

    await wait_until(dead)
    (delivery,) = await _deliveries(api, sub["id"])
    assert delivery["attempts"] == 3
    assert [a["status_code"] for a in delivery["log"]] == [503, 503, 503]  # type: ignore[union-attr]
    assert [a["outcome"] for a in delivery["log"]] == ["retrying", "retrying", "dead"]  # type: ignore[union-attr]
    assert "503" in str(delivery["last_error"])

    receiver.status = 200
    status, queued = await api.call("POST", f"/v1/deliveries/{delivery['id']}/redeliver")
    assert status == 202
    assert queued["status"] == "pending"
    await receiver.wait_for(4)
    await wait_until(lambda: _status(api, str(delivery["id"]), "delivered"))
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1


async def _status(api: Api, delivery_id: str, wanted: str) -> bool:
    _, delivery = await api.call("GET", f"/v1/deliveries/{delivery_id}")
    return bool(delivery["status"] == wanted)


async def test_redelivering_an_unknown_delivery_is_a_404(api: Api) -> None:
    status, error = await api.call("POST", "/v1/deliveries/0123abcd/redeliver")
    assert status == 404
    assert "0123abcd" in error["error"]["message"]


async def test_an_article_travels_from_the_stream_to_a_signed_webhook_for_an_api_subscription(
    start_api: ApiFactory, receiver: WebhookReceiver, redis: Redis, key_prefix: str
) -> None:
    api = await start_api(roles=("matcher", "dispatcher", "api"))
    sub = await _subscribe(api, receiver.url)
    article = {
        "id": "a1",
        "title": "Kim Jong Un meets Putin",
        "body": "Summit talks in Vladivostok.",
        "published": utcnow().isoformat(),
    }

    await redis.xadd(Keys(key_prefix).articles, {"data": json.dumps(article)})

    (got,) = await receiver.wait_for(1)
    event = Webhook(sub["secret"]).verify(got.body, got.headers)
    assert event["data"]["rule"]["id"] == "leader_summit"
    assert event["data"]["article"]["id"] == "a1"


async def test_metrics_count_deliveries_by_outcome_and_report_stream_lag(
    start_api: ApiFactory, receiver: WebhookReceiver, redis: Redis, key_prefix: str
) -> None:
    api = await start_api(roles=("dispatcher", "api"))
    await _subscribe(api, receiver.url)
    await redis.xadd(
        Keys(key_prefix).alerts, {"data": make_alert().model_dump_json(), "rule": "leader_summit"}
    )
    await receiver.wait_for(1)

    async def delivered_counted() -> bool:
        _, text = await api.call("GET", "/metrics")
        return 'geoalert_deliveries_total{channel="webhook",outcome="delivered"} 1.0' in text

    await wait_until(delivered_counted)
    _, text = await api.call("GET", "/metrics")
    for name in (
        "geoalert_articles_ingested_total",
        "geoalert_alerts_raised_total",
        "geoalert_delivery_latency_seconds_bucket",
        'geoalert_stream_lag{stream="alerts"}',
        'geoalert_stream_pending{stream="articles"}',
        "geoalert_deliveries_active",
    ):
        assert name in text, name


async def test_a_test_event_goes_through_the_delivery_path_signed_and_into_the_log(
    start_api: ApiFactory, receiver: WebhookReceiver
) -> None:
    api = await start_api(roles=("dispatcher", "api"), **FAST_RETRIES)
    paused = {"name": "quiet", "webhook": {"url": receiver.url}, "enabled": False, "rules": ["arms_deal"]}
    status, sub = await api.call("POST", "/v1/subscriptions", paused)
    assert status == 201
    status, refused = await api.call("POST", f"/v1/subscriptions/{sub['id']}/test")
    assert status == 409, refused
    assert "paused" in refused["error"]["message"]
    assert (await api.call("PATCH", f"/v1/subscriptions/{sub['id']}", {"enabled": True}))[0] == 200
    status, queued = await api.call("POST", f"/v1/subscriptions/{sub['id']}/test")
    assert status == 202, queued
    assert queued["rule"] == "test_event"
    (request,) = await receiver.wait_for(1)
    # Signed with the secret shown once at creation, as every real alert is.
    event = Webhook(sub["secret"]).verify(request.body, request.headers)
    assert event["data"]["rule"]["id"] == "test_event"
    assert "quiet" in event["data"]["article"]["title"]
    await wait_until(lambda: _status(api, str(queued["id"]), "delivered"))
    assert [d["id"] for d in await _deliveries(api, sub["id"])] == [queued["id"]]
    status, _ = await api.call("POST", "/v1/subscriptions/nope/test")
    assert status == 404
