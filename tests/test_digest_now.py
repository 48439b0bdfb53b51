"""A digest can be previewed as it would be mailed, and sent now, before its period ends;
what arrives later in the period still goes out when it ends."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from service.delivery.digest import Digests
from service.keys import Keys
from service.subscriptions import SubscriptionStore
from tests.apikit import ApiFactory
from tests.deliverykit import make_alert
from tests.helpers import wait_until
from tests.smtpkit import SmtpServer


async def test_a_daily_digest_is_previewed_then_sent_now_and_the_rest_of_the_day_still_goes_out(
    start_api: ApiFactory, smtp_starttls: SmtpServer, redis: Redis, key_prefix: str
) -> None:
    smtp = smtp_starttls.config()
    api = await start_api(
        roles=("api", "dispatcher"), smtp_host=smtp.host, smtp_port=smtp.port, smtp_ca_file=smtp.ca_file
    )
    _, daily = await api.call(
        "POST", "/v1/subscriptions", {"name": "daily", "email": {"to": ["d@example.org"]}, "digest": "daily"}
    )
    keys = Keys(key_prefix)
    store = SubscriptionStore(redis, keys)
    digests = Digests(redis, keys, store.get)
    sub = await store.get(daily["id"])
    assert sub is not None
    for n in range(2):
        await digests.gather(make_alert(n), sub, now=time.time())

    status, preview = await api.call("GET", f"/v1/subscriptions/{daily['id']}/digest")
    assert status == 200
    (period,) = preview["periods"]
    assert period["alerts"] == 2
    assert "2 alerts in the daily" in period["text"]
    assert "Leaders meet in Vladivostok (1)" in period["text"]
    assert smtp_starttls.recorder.mails == []  # a preview sends nothing

    status, sent = await api.call("POST", f"/v1/subscriptions/{daily['id']}/digest")
    assert status == 202
    assert sent == {"subscription": daily["id"], "deliveries": 1}
    await wait_until(lambda: len(smtp_starttls.recorder.mails) == 1)
    assert "2 alerts" in smtp_starttls.recorder.mails[0].message["Subject"]
    _, empty = await api.call("GET", f"/v1/subscriptions/{daily['id']}/digest")
    assert empty["periods"] == []

    # Later the same day: a new alert, and the day's end makes a delivery of its own for it.
    await digests.gather(make_alert(5), sub, now=time.time())
    assert await digests.flush_due(now=time.time() + 2 * 86400) == 1
    _, log = await api.call("GET", f"/v1/subscriptions/{daily['id']}/deliveries")
    assert len(log["items"]) == 2


async def test_only_a_digest_subscription_has_a_digest(start_api: ApiFactory) -> None:
    api = await start_api()
    _, now = await api.call("POST", "/v1/subscriptions", {"name": "now", "email": {"to": ["n@example.org"]}})
    status, error = await api.call("POST", f"/v1/subscriptions/{now['id']}/digest")
    assert status == 409
    assert "sends no digests" in error["error"]["message"]
    status, _ = await api.call("GET", "/v1/subscriptions/nope/digest")
    assert status == 404
