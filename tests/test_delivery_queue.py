"""The delivery queue keeps every delivery until it succeeds or is dead-lettered, across crashes and restarts."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from service.delivery import DEFAULT_SCHEDULE, DeliveryQueue, RetryPolicy
from service.delivery.queue import Outcome
from service.delivery.record import Attempt, Settled
from tests.deliverykit import Kit, make_alert
from tests.helpers import Received, WebhookReceiver, wait_until


def test_the_default_schedule_is_svixs_with_ten_percent_jitter() -> None:
    assert DEFAULT_SCHEDULE == (5, 300, 1800, 7200, 18000, 36000, 36000)
    policy = RetryPolicy()
    for attempt, base in enumerate(DEFAULT_SCHEDULE, start=1):
        delays = {policy.delay(attempt, None) for _ in range(20)}
        assert all(d is not None and base * 0.9 <= d <= base * 1.1 for d in delays)
        assert len(delays) > 1  # jittered
    assert policy.delay(len(DEFAULT_SCHEDULE) + 1, None) is None


def test_retry_after_replaces_the_delay_but_is_capped_and_grants_no_extra_attempts() -> None:
    policy = RetryPolicy(schedule=(5, 10), max_retry_after=3600)
    assert policy.delay(1, 42) == 42
    assert policy.delay(2, 10**9) == 3600
    assert policy.delay(3, 42) is None


async def failing_delivery(kit: Kit, receiver: WebhookReceiver, *, schedule: tuple[int, ...]) -> str:
    """A delivery to an endpoint that answers 500, retried on ``schedule`` without jitter."""
    kit.policy = RetryPolicy(schedule=schedule, jitter=0.0)
    receiver.status = 500
    sub = await kit.subscribe(webhook={"url": receiver.url})
    delivery_id = await kit.queue.enqueue(make_alert(), sub, now=kit.clock())
    assert delivery_id is not None
    return delivery_id


async def test_a_failing_endpoint_is_tried_on_schedule_then_dead_lettered_and_can_be_redelivered(
    kit: Kit, receiver: WebhookReceiver
) -> None:
    delivery_id = await failing_delivery(kit, receiver, schedule=(5, 300, 1800))
    worker = kit.worker()

    await worker.process_due()
    for delay in (5, 300, 1800):
        kit.clock.advance(delay - 1)
        assert await worker.process_due() == 0  # not yet due
        kit.clock.advance(1)
        assert await worker.process_due() == 1

    record = await kit.delivery(delivery_id)
    assert record.status == "dead"
    assert record.attempts == 4
    log = await kit.queue.attempts(delivery_id)
    assert [e.outcome for e in log] == ["retrying", "retrying", "retrying", "dead"]
    assert all(e.status_code == 500 for e in log)
    (dead,) = await kit.redis.xrange(kit.keys.deliveries_dead)
    assert dead[1]["delivery"] == delivery_id

    receiver.status = 200
    assert await kit.queue.redeliver(delivery_id, now=kit.clock()) == "ok"
    await worker.process_due()

    record = await kit.delivery(delivery_id)
    assert record.status == "delivered"
    assert record.attempts == 5
    assert len(receiver.received) == 5
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1


async def test_a_redelivered_delivery_gets_a_fresh_retry_schedule(
    kit: Kit, receiver: WebhookReceiver
) -> None:
    delivery_id = await failing_delivery(kit, receiver, schedule=(5,))
    worker = kit.worker()
    await worker.process_due()
    kit.clock.advance(5)
    await worker.process_due()
    assert (await kit.delivery(delivery_id)).status == "dead"

    await kit.queue.redeliver(delivery_id, now=kit.clock())
    await worker.process_due()

    record = await kit.delivery(delivery_id)
    assert record.status == "retrying"  # not dead at once: the schedule starts over
    assert record.next_at == kit.clock() + 5


async def test_nothing_is_lost_across_a_restart(kit: Kit, receiver: WebhookReceiver) -> None:
    sub = await kit.subscribe(webhook={"url": receiver.url})
    for n in range(3):
        await kit.queue.enqueue(make_alert(n), sub, now=kit.clock())

    # A new process: a new queue object over the same Redis, nothing kept in memory.
    kit.queue = DeliveryQueue(kit.redis, kit.keys)
    await kit.worker().process_due()

    assert sorted(r.json["data"]["id"] for r in receiver.received) == [
        f"alert-leader_summit-{n}" for n in range(3)
    ]


async def test_a_worker_that_dies_mid_attempt_leaves_the_delivery_to_another_after_the_lease(
    kit: Kit, receiver: WebhookReceiver
) -> None:
    sub = await kit.subscribe(webhook={"url": receiver.url})
    delivery_id = await kit.queue.enqueue(make_alert(), sub, now=kit.clock())
    # The first worker takes the delivery and is killed before recording anything.
    (taken,) = (await kit.queue.take(10, 60, per_endpoint=8, busy={}, now=kit.clock())).items
    assert taken.id == delivery_id
    survivor = kit.worker()

    assert await survivor.process_due() == 0  # still leased
    kit.clock.advance(61)
    assert await survivor.process_due() == 1

    assert (await kit.delivery(delivery_id)).status == "delivered"
    assert len(receiver.received) == 1


async def test_a_late_outcome_from_a_worker_that_lost_its_lease_changes_nothing(
    kit: Kit, receiver: WebhookReceiver
) -> None:
    sub = await kit.subscribe(webhook={"url": receiver.url})
    delivery_id = await kit.queue.enqueue(make_alert(), sub, now=kit.clock())
    assert delivery_id is not None
    (slow,) = (await kit.queue.take(10, 60, per_endpoint=8, busy={}, now=kit.clock())).items
    kit.clock.advance(61)
    await kit.worker().process_due()  # the lease ran out; another worker delivered it

    late = Outcome(
        "retrying",
        1,
        kit.clock() + 5,
        Attempt(attempt=1, at=kit.clock(), outcome="retrying"),
        Settled(updated_at=kit.clock(), last_error="late"),
    )
    assert await kit.queue.settle(slow, delivery_id, slow.endpoint, late) == "kept"

    record = await kit.delivery(delivery_id)
    assert record.status == "delivered"
    assert await kit.redis.zcard(kit.keys.deliveries_due) == 0  # nothing left to retry


async def test_a_slow_endpoint_fills_only_its_own_share_and_never_delays_the_others(kit: Kit) -> None:
    release = asyncio.Event()
    in_flight = 0
    most = 0

    async def stuck(_: Received) -> web.StreamResponse:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await release.wait()
        in_flight -= 1
        return web.Response(status=200)

    slow, fast = WebhookReceiver(respond=stuck), WebhookReceiver()
    await slow.start()
    await fast.start()
    try:
        slow_sub = await kit.subscribe(name="slow", webhook={"url": slow.url})
        fast_sub = await kit.subscribe(name="fast", webhook={"url": fast.url})
        for n in range(30):  # the slow endpoint's backlog comes first
            await kit.queue.enqueue(make_alert(n), slow_sub, now=kit.clock())
        for n in range(10):
            await kit.queue.enqueue(make_alert(n), fast_sub, now=kit.clock())
        worker = kit.worker(concurrency=8, per_endpoint=3)
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))

        await fast.wait_for(10, timeout=5)
        await wait_until(lambda: most == 3)
        assert worker.busy[slow_sub.endpoint] == 3

        release.set()
        await slow.wait_for(30, timeout=10)
        stop.set()
        await running
    finally:
        release.set()
        await slow.stop()
        await fast.stop()


async def test_a_removed_subscription_cancels_its_pending_deliveries(
    kit: Kit, receiver: WebhookReceiver
) -> None:
    sub = await kit.subscribe(webhook={"url": receiver.url})
    delivery_id = await kit.queue.enqueue(make_alert(), sub, now=kit.clock())
    assert delivery_id is not None
    await kit.store.delete(sub.id)

    await kit.worker().process_due()

    assert receiver.received == []
    record = await kit.delivery(delivery_id)
    assert record.status == "cancelled"
    assert record.last_error == "subscription removed"


async def test_the_delivery_log_pages_newest_first_without_gaps(kit: Kit, receiver: WebhookReceiver) -> None:
    sub = await kit.subscribe(webhook={"url": receiver.url})
    for n in range(7):  # three at a time in the same millisecond
        await kit.queue.enqueue(make_alert(n), sub, now=kit.clock() - (n // 3))
    seen: list[str] = []
    cursor = None
    while True:
        page, cursor = await kit.queue.for_subscription(sub.id, limit=2, cursor=cursor)
        seen += [record.alert_id for record, _ in page]
        if cursor is None:
            break

    assert len(seen) == 7
    assert set(seen) == {f"alert-leader_summit-{n}" for n in range(7)}


@pytest.mark.parametrize("per", ["story", "rule"])
async def test_the_throttle_lets_one_alert_per_period_through(
    kit: Kit, receiver: WebhookReceiver, per: str
) -> None:
    sub = await kit.subscribe(webhook={"url": receiver.url}, throttle={"period": 3600, "per": per})
    dispatcher = kit.dispatcher()
    first = make_alert(1, story="s1")
    same_story_again = make_alert(2, story="s1")
    other_story = make_alert(3, story="s2")

    assert await dispatcher.queue.enqueue(first, sub, now=kit.clock()) is not None
    assert await dispatcher.queue.enqueue(same_story_again, sub, now=kit.clock() + 60) is None
    other = await dispatcher.queue.enqueue(other_story, sub, now=kit.clock() + 60)
    assert (other is None) == (per == "rule")
    kit.clock.advance(3601)
    assert await dispatcher.queue.enqueue(same_story_again, sub, now=kit.clock()) is not None
