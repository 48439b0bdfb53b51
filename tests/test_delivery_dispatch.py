"""The dispatcher turns each alert into deliveries for the subscriptions that want it, exactly once."""

from __future__ import annotations

import json
from datetime import timedelta

from service.consumer import Entry
from service.delivery.digest import period_start, schedule_flushes
from tests.deliverykit import T0, Kit, make_alert
from tests.helpers import WebhookReceiver


async def test_each_interested_subscription_gets_one_delivery(kit: Kit, receiver: WebhookReceiver) -> None:
    await kit.subscribe(name="all", webhook={"url": receiver.url})
    await kit.subscribe(name="by-id", rules=["leader_summit"], webhook={"url": receiver.url})
    await kit.subscribe(name="by-tag", rules=["tag:diplomacy"], webhook={"url": receiver.url})
    await kit.subscribe(name="other-rule", rules=["arms_deal"], webhook={"url": receiver.url})
    await kit.subscribe(name="critical-only", min_severity="critical", webhook={"url": receiver.url})
    await kit.subscribe(name="off", enabled=False, webhook={"url": receiver.url})

    created = await kit.dispatcher().dispatch(make_alert())

    assert created == 3
    await kit.worker().process_due()
    assert len(receiver.received) == 3


async def test_an_alert_handled_twice_creates_nothing_new(kit: Kit, receiver: WebhookReceiver) -> None:
    await kit.subscribe(webhook={"url": receiver.url})
    dispatcher = kit.dispatcher()
    entry = Entry("1-0", {"data": make_alert().model_dump_json()})

    await dispatcher.handle(entry)
    await dispatcher.handle(entry)  # redelivered by the stream after a crash

    await kit.worker().process_due()
    assert len(receiver.received) == 1


async def test_a_digest_subscription_gathers_the_periods_alerts_into_one_delivery(kit: Kit) -> None:
    sub = await kit.subscribe(email={"to": ["analyst@example.org"]}, digest="hourly")
    digests = kit.digests()
    hour = period_start("hourly", T0)
    for n in range(3):
        assert await digests.gather(make_alert(n), sub, now=hour + 60 * n) == 1
    assert await digests.gather(make_alert(1), sub, now=hour + 300) == 0  # redelivered: not gathered twice

    assert await digests.flush_due(now=hour + 3599) == 0  # the period is still open
    assert await digests.flush_due(now=hour + 3605) == 1
    assert await digests.flush_due(now=hour + 3700) == 0  # and it is sent once

    ((record, _),) = (await kit.queue.for_subscription(sub.id, limit=10))[0]
    assert record.kind == "digest"
    assert record.endpoint == "smtp"
    assert [a["id"] for a in json.loads(record.alerts)] == [f"alert-leader_summit-{n}" for n in range(3)]


async def test_digests_of_periods_that_ended_during_downtime_are_still_sent(kit: Kit) -> None:
    sub = await kit.subscribe(email={"to": ["analyst@example.org"]}, digest="daily")
    digests = kit.digests()
    day = period_start("daily", T0)
    await digests.gather(make_alert(1), sub, now=day + 10)
    await digests.gather(make_alert(2), sub, now=day + 86400 + 10)  # the next day

    assert await digests.flush_due(now=day + 3 * 86400) == 2
    page, _ = await kit.queue.for_subscription(sub.id, limit=10)
    assert sorted(record.period for record, _ in page) == ["daily 2030-03-17", "daily 2030-03-18"]


async def test_digests_are_flushed_by_a_cron_job_just_past_every_hour(kit: Kit) -> None:
    scheduler = schedule_flushes(kit.digests(), lambda: None)
    try:
        job = scheduler.get_job("digests")
        assert job is not None
        upcoming = job.next_run_time
        assert (upcoming.minute, upcoming.second) == (0, 5)
        assert upcoming.utcoffset() == timedelta(0)
    finally:
        scheduler.shutdown(wait=False)
