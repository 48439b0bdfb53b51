"""A dispatcher process killed in the middle of an attempt loses nothing: another one delivers after the lease."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from aiohttp import web
from redis.asyncio import Redis

from notifiers.webhook import new_secret
from service.app import create_app
from service.delivery.queue import delivery_id_for
from service.keys import Keys
from tests.conftest import ROOT, SettingsFactory
from tests.deliverykit import make_alert
from tests.helpers import Received, WebhookReceiver, running, wait_until


async def test_a_killed_dispatcher_leaves_its_attempt_to_the_next_one(
    make_settings: SettingsFactory, redis_server_url: str, redis: Redis, key_prefix: str, tmp_path: Path
) -> None:
    answered = 0
    release = asyncio.Event()

    async def hang_first(_: Received) -> web.StreamResponse:
        nonlocal answered
        answered += 1
        if answered == 1:
            await release.wait()  # the first attempt gets no answer while its process lives
        return web.Response(status=200)

    receiver = WebhookReceiver(respond=hang_first)
    await receiver.start()
    subscriptions = tmp_path / "subscriptions.yaml"
    subscriptions.write_text(
        f"subscriptions:\n  - name: ops\n    webhook: {{url: '{receiver.url}', secret: '{new_secret()}'}}\n"
    )
    (tmp_path / "feeds.yaml").write_text("feeds: []\n")  # a feeds file that is set must exist
    env = {
        **os.environ,
        "GEOALERT_REDIS_URL": redis_server_url,
        "GEOALERT_KEY_PREFIX": key_prefix,
        "GEOALERT_DATA_DIR": str(tmp_path / "data"),
        "GEOALERT_RULES_DIR": str(ROOT / "rules"),
        "GEOALERT_SUBSCRIPTIONS_FILE": str(subscriptions),
        "GEOALERT_FEEDS_FILE": str(tmp_path / "feeds.yaml"),
        "GEOALERT_WEBHOOK_ALLOW_CIDRS": "127.0.0.0/8",
        "GEOALERT_DELIVERY_LEASE_SECONDS": "2",
        "GEOALERT_READ_BLOCK_MS": "100",
    }
    doomed = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service", "run", "--role", "dispatcher", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        alert = make_alert()
        await redis.xadd(Keys(key_prefix).alerts, {"data": alert.model_dump_json(), "rule": alert.rule.id})
        await receiver.wait_for(1, timeout=20)  # the attempt is in flight...
        doomed.send_signal(signal.SIGKILL)  # ...when its process dies
        await doomed.wait()

        settings = make_settings(subscriptions_file=subscriptions, webhook_allow_cidrs="127.0.0.0/8")
        async with running(create_app(settings, roles=["dispatcher"])):
            await receiver.wait_for(2, timeout=20)
            delivery_id = delivery_id_for(alert.id, "ops")
            await wait_until(lambda: _status(redis, key_prefix, delivery_id, "delivered"))
    finally:
        if doomed.returncode is None:
            doomed.kill()
            await doomed.wait()
        release.set()
        await receiver.stop()

    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery_id


async def _status(redis: Redis, key_prefix: str, delivery_id: str, wanted: str) -> bool:
    return bool(await redis.hget(Keys(key_prefix).delivery(delivery_id), "status") == wanted)
