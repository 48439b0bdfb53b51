"""Alert emails reach a real SMTP server: over TLS as configured, well-formed, safe, retried or dead-lettered."""

from __future__ import annotations

import time

import pytest
from redis.asyncio import Redis

from service.config import load_settings
from service.delivery.digest import Digests, period_start
from service.errors import SettingsError
from service.keys import Keys
from service.subscriptions import SubscriptionStore
from tests.apikit import ApiFactory
from tests.deliverykit import T0, Kit, make_alert
from tests.helpers import wait_until
from tests.smtpkit import SmtpServer


async def _deliver(
    kit: Kit, server: SmtpServer, security: str = "starttls", **alert: object
) -> dict[str, str]:
    kit.smtp = server.config(security)
    sub = await kit.subscribe(email={"to": ["analyst@example.org", "desk@example.org"]})
    delivery_id = await kit.queue.enqueue(make_alert(**alert), sub, now=kit.clock())  # type: ignore[arg-type]
    assert delivery_id is not None
    await kit.worker().process_due()
    return await kit.delivery(delivery_id)


async def test_an_alert_is_mailed_over_starttls_with_text_and_html_bodies(
    kit: Kit, smtp_starttls: SmtpServer
) -> None:
    record = await _deliver(kit, smtp_starttls)

    assert record.status == "delivered"
    (mail,) = smtp_starttls.recorder.mails
    assert mail.tls
    assert mail.sender == "alerts@geoalert.test"
    assert mail.recipients == ["analyst@example.org", "desk@example.org"]
    message = mail.message
    assert message["Subject"] == "[geoalert] HIGH Leaders' summit: Leaders meet in Vladivostok (1)"
    assert message["Message-ID"] == f"<{record.id}@geoalert.test>"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    assert "https://news.example/1" in text.get_content()
    assert '<a href="https://news.example/1">' in html.get_content()


async def test_implicit_tls_works_when_configured(kit: Kit, smtp_tls: SmtpServer) -> None:
    record = await _deliver(kit, smtp_tls, "tls")
    assert record.status == "delivered"
    assert smtp_tls.recorder.mails[0].tls


async def test_a_server_without_starttls_is_an_error_never_a_plain_text_fallback(
    kit: Kit, smtp_plain: SmtpServer
) -> None:
    record = await _deliver(kit, smtp_plain, "starttls")

    assert record.status == "retrying"
    assert "does not offer STARTTLS" in record.last_error
    assert smtp_plain.recorder.data_seen == []


async def test_article_text_cannot_inject_headers(kit: Kit, smtp_starttls: SmtpServer) -> None:
    record = await _deliver(
        kit,
        smtp_starttls,
        title="Summit\r\nBcc: victim@example.org\r\nX-Evil: 1\n\nbody <script>alert(1)</script>",
    )

    assert record.status == "delivered"
    (mail,) = smtp_starttls.recorder.mails
    assert mail.recipients == ["analyst@example.org", "desk@example.org"]
    assert mail.message["Bcc"] is None
    assert mail.message["X-Evil"] is None
    assert "\n" not in mail.message["Subject"]
    assert "Bcc: victim@example.org" in mail.message["Subject"]  # kept as harmless text on one line
    html = mail.message.get_body(("html",))
    assert html is not None
    assert "<script>" not in html.get_content()


async def test_a_4xx_reply_is_retried_with_the_same_message_id(kit: Kit, smtp_starttls: SmtpServer) -> None:
    smtp_starttls.recorder.data_replies.append("451 Try again later")
    kit.smtp = smtp_starttls.config()
    sub = await kit.subscribe(email={"to": ["analyst@example.org"]})
    delivery_id = await kit.queue.enqueue(make_alert(), sub, now=kit.clock())
    assert delivery_id is not None
    worker = kit.worker()

    await worker.process_due()
    first = await kit.delivery(delivery_id)
    kit.clock.advance(5)
    await worker.process_due()

    assert first.status == "retrying"
    assert first.last_status == 451
    assert (await kit.delivery(delivery_id)).status == "delivered"
    refused, accepted = smtp_starttls.recorder.data_seen
    assert refused["Message-ID"] == accepted["Message-ID"] == f"<{delivery_id}@geoalert.test>"


async def test_a_5xx_reply_is_dead_lettered(kit: Kit, smtp_starttls: SmtpServer) -> None:
    smtp_starttls.recorder.data_replies.append("554 Message rejected")
    record = await _deliver(kit, smtp_starttls)
    assert record.status == "dead"
    assert record.last_status == 554


async def test_recipients_refused_for_good_are_dead_lettered(kit: Kit, smtp_starttls: SmtpServer) -> None:
    smtp_starttls.recorder.rcpt_replies += ["550 No such user", "550 No such user"]
    record = await _deliver(kit, smtp_starttls)
    assert record.status == "dead"
    assert "every recipient refused" in record.last_error


async def test_a_digest_arrives_as_one_mail_listing_the_periods_alerts(
    kit: Kit, smtp_starttls: SmtpServer
) -> None:
    kit.smtp = smtp_starttls.config()
    sub = await kit.subscribe(email={"to": ["analyst@example.org"]}, digest="hourly")
    digests = kit.digests()
    hour = period_start("hourly", T0)
    for n in range(3):
        await digests.gather(make_alert(n), sub, now=hour + n)
    kit.clock.now = hour + 3600
    await digests.flush_due(now=kit.clock())

    await kit.worker().process_due()

    (mail,) = smtp_starttls.recorder.mails
    assert mail.message["Subject"] == "[geoalert] hourly 2030-03-17 17:00 UTC digest: 3 alerts"
    text = mail.message.get_body(("plain",))
    assert text is not None
    body = text.get_content()
    for n in range(3):
        assert f"Leaders meet in Vladivostok ({n})" in body


async def test_the_service_mails_an_api_subscription_and_sends_digests_that_came_due_while_it_was_down(
    start_api: ApiFactory, smtp_starttls: SmtpServer, redis: Redis, key_prefix: str
) -> None:
    smtp = smtp_starttls.config()
    api = await start_api(
        roles=("api",),
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_ca_file=smtp.ca_file,
        smtp_from="alerts@geoalert.test",
    )
    _, now_sub = await api.call(
        "POST", "/v1/subscriptions", {"name": "now", "email": {"to": ["now@example.org"]}}
    )
    _, daily = await api.call(
        "POST",
        "/v1/subscriptions",
        {"name": "daily", "email": {"to": ["daily@example.org"]}, "digest": "daily"},
    )
    # Yesterday, while the dispatcher was down, two alerts were gathered for the daily digest.
    keys = Keys(key_prefix)
    store = SubscriptionStore(redis, keys)
    digests = Digests(redis, keys, store.get)
    sub = await store.get(daily["id"])
    assert sub is not None
    for n in range(2):
        await digests.gather(make_alert(n), sub, now=time.time() - 86400)

    await start_api(
        roles=("dispatcher",),
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_ca_file=smtp.ca_file,
        smtp_from="alerts@geoalert.test",
    )
    await redis.xadd(keys.alerts, {"data": make_alert(7).model_dump_json(), "rule": "leader_summit"})

    await wait_until(lambda: len(smtp_starttls.recorder.mails) == 2)
    by_recipient = {m.recipients[0]: m for m in smtp_starttls.recorder.mails}
    assert "2 alerts" in by_recipient["daily@example.org"].message["Subject"]
    assert "(7)" in by_recipient["now@example.org"].message["Subject"]
    assert now_sub["channel"] == "email"


def test_a_login_over_plain_text_is_refused_at_start() -> None:
    with pytest.raises(SettingsError, match="GEOALERT_SMTP_USERNAME is set with GEOALERT_SMTP_SECURITY=none"):
        load_settings(smtp_security="none", smtp_username="alerts")
