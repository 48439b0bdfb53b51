"""How a webhook attempt's outcome is judged: status codes, Retry-After, 410, redirects, timeouts, big replies."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import time
from email.utils import formatdate

import aiohttp
import pytest
from aiohttp import web

from notifiers.webhook import retry_after_seconds
from tests.deliverykit import Kit, make_alert
from tests.helpers import Received, WebhookReceiver


async def _one_attempt(kit: Kit, receiver: WebhookReceiver) -> dict[str, str]:
    sub = await kit.subscribe(webhook={"url": receiver.url})
    delivery_id = await kit.queue.enqueue(make_alert(), sub, now=kit.clock())
    assert delivery_id is not None
    await kit.worker().process_due()
    return await kit.delivery(delivery_id)


async def test_a_2xx_answer_is_success(kit: Kit, receiver: WebhookReceiver) -> None:
    receiver.status = 204
    record = await _one_attempt(kit, receiver)
    assert record.status == "delivered"
    assert record.last_status == 204


async def test_any_other_answer_is_retried_on_the_schedule(kit: Kit, receiver: WebhookReceiver) -> None:
    receiver.status = 404
    record = await _one_attempt(kit, receiver)
    assert record.status == "retrying"
    assert record.last_status == 404
    assert record.next_at == kit.clock() + 5  # the first delay, without jitter in the kit's policy


async def test_retry_after_seconds_on_429_replaces_the_scheduled_delay(
    kit: Kit, receiver: WebhookReceiver
) -> None:
    receiver.replies.append(web.Response(status=429, headers={"Retry-After": "120"}))
    record = await _one_attempt(kit, receiver)
    assert record.status == "retrying"
    assert record.next_at == kit.clock() + 120


async def test_retry_after_as_a_date_on_503_is_honoured(kit: Kit, receiver: WebhookReceiver) -> None:
    # The worker's clock is the real one here, since an HTTP date is absolute.
    kit.clock.now = time.time()
    receiver.replies.append(
        web.Response(status=503, headers={"Retry-After": formatdate(time.time() + 600, usegmt=True)})
    )
    record = await _one_attempt(kit, receiver)
    assert 590 <= record.next_at - kit.clock() <= 601


async def test_410_gone_dead_letters_the_delivery_and_disables_the_subscription(
    kit: Kit, receiver: WebhookReceiver
) -> None:
    receiver.status = 410
    record = await _one_attempt(kit, receiver)

    assert record.status == "dead"
    sub = await kit.directory.get("sub_ops")
    assert sub is not None
    assert not sub.enabled
    assert "410" in (sub.disabled_reason or "")
    assert await kit.redis.xlen(kit.keys.deliveries_dead) == 1


async def test_a_redirect_is_not_followed_and_counts_as_a_failure(
    kit: Kit, receiver: WebhookReceiver
) -> None:
    receiver.replies.append(web.Response(status=302, headers={"Location": receiver.url + "/elsewhere"}))
    record = await _one_attempt(kit, receiver)

    assert len(receiver.received) == 1  # the Location was never requested
    assert record.status == "retrying"
    assert "not followed" in record.last_error


async def test_a_slow_endpoint_times_out_and_is_retried(kit: Kit, receiver: WebhookReceiver) -> None:
    release = asyncio.Event()

    async def hang(_: Received) -> web.StreamResponse:
        await release.wait()
        return web.Response(status=200)

    receiver.respond = hang
    kit.timeout = aiohttp.ClientTimeout(total=0.3, sock_connect=0.3)
    started = time.monotonic()
    record = await _one_attempt(kit, receiver)
    release.set()

    assert time.monotonic() - started < 3
    assert record.status == "retrying"
    assert record.last_error == "timed out"


async def test_an_unreachable_endpoint_is_retried(kit: Kit, receiver: WebhookReceiver) -> None:
    await receiver.stop()  # nothing listens on that port any more
    record = await _one_attempt(kit, receiver)
    assert record.status == "retrying"
    assert record.last_error.startswith("cannot connect")


async def test_only_a_few_kilobytes_of_a_huge_reply_are_read(kit: Kit, receiver: WebhookReceiver) -> None:
    async def flood(_: Received) -> web.StreamResponse:
        return web.Response(status=500, body=b"x" * (20 * 1024 * 1024))

    receiver.respond = flood
    record = await _one_attempt(kit, receiver)

    assert record.status == "retrying"
    assert len(record.last_error) < 500
    log = await kit.queue.attempts(record.id)
    assert log[0].status_code == 500


def test_a_retry_after_date_without_a_zone_is_read_as_gmt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")  # a server clock that is not on GMT
    time.tzset()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    try:
        seconds = retry_after_seconds(email.utils.format_datetime(later).replace("+0000", "-0000"))
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert seconds is not None
    assert 3590 < seconds <= 3600
