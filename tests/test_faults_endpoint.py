"""A webhook endpoint failing for a while (500s, timeouts, refused connections) slows no one else,
and gets every delivery once it recovers."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest
from aiohttp import web
from redis.asyncio import Redis

from notifiers.webhook import new_secret
from service.app import create_app
from service.keys import Keys
from tests.conftest import SettingsFactory
from tests.helpers import Received, WebhookReceiver, running, wait_until
from tests.processes import summit_and_arms_article

pytestmark = pytest.mark.slow
PER_PHASE = 10  # articles; each raises two alerts


def latencies(received: list[Received], phase: str) -> list[float]:
    out = []
    for r in received:
        data = r.json["data"]
        if data["article"]["id"].startswith(f"{phase}-"):
            out.append(r.at - datetime.fromisoformat(data["created_at"]).timestamp())
    return sorted(out)


def p95(values: list[float]) -> float:
    return values[min(len(values) - 1, int(len(values) * 0.95))]


async def test_a_failing_endpoint_delays_no_one_and_catches_up_after_recovery(
    make_settings: SettingsFactory, tmp_path: Path, redis: Redis, key_prefix: str
) -> None:
    healthy, failing = WebhookReceiver(), WebhookReceiver()
    await healthy.start()
    await failing.start()
    failing_port = int(failing.url.split(":")[2].split("/")[0])
    mode = "ok"
    answered_ok: set[tuple[str, str]] = set()  # (article, rule) the failing endpoint finally took

    async def misbehave(request: Received) -> web.StreamResponse:
        if mode == "500":
            return web.Response(status=500, text="down for maintenance")
        if mode == "timeout":
            await asyncio.sleep(5)  # well past the webhook timeout: the sender has given up
            return web.Response(text="too late")
        data = request.json["data"]
        answered_ok.add((data["article"]["id"], data["rule"]["id"]))
        return web.Response(text="ok")

    failing.respond = misbehave
    (tmp_path / "subscriptions.yaml").write_text(
        "subscriptions:\n"
        f"  - name: healthy\n    webhook: {{url: '{healthy.url}', secret: '{new_secret()}'}}\n"
        f"  - name: failing\n    webhook: {{url: '{failing.url}', secret: '{new_secret()}'}}\n"
    )
    settings = make_settings(
        webhook_allow_cidrs="127.0.0.0/8", webhook_timeout=1.0, retry_schedule="0.2,0.5,1,1,2,2,2,5,5"
    )

    async def publish_phase(phase: str) -> None:
        for n in range(PER_PHASE):
            await redis.xadd(Keys(key_prefix).articles, {"data": summit_and_arms_article(n, prefix=phase)})
            await asyncio.sleep(0.1)  # a steady 10 articles/s

    async with running(create_app(settings, roles=["matcher", "dispatcher"])):
        await publish_phase("baseline")
        await healthy.wait_for(2 * PER_PHASE)
        for phase in ("500", "timeout", "refused"):
            mode = phase
            if phase == "refused":
                await failing.stop()
            await publish_phase(phase)
        await healthy.wait_for(2 * PER_PHASE * 4)
        mode = "ok"
        await failing.start(failing_port)  # recovered

        await wait_until(lambda: len(answered_ok) >= 2 * PER_PHASE * 4, timeout=60)
    await healthy.stop()
    await failing.stop()

    baseline = latencies(healthy.received, "baseline")
    for phase in ("500", "timeout", "refused"):
        during = latencies(healthy.received, phase)
        assert len(during) == 2 * PER_PHASE
        assert p95(during) <= max(0.5, 3 * p95(baseline)), (phase, during, baseline)
    assert answered_ok == {
        (r.json["data"]["article"]["id"], r.json["data"]["rule"]["id"]) for r in healthy.received
    }
