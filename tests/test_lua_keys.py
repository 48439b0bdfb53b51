"""Every key a Lua script touches is one it declares in KEYS, as Redis Cluster requires.

Watched for real: Redis's MONITOR reports each EVALSHA with its keys, then each command
the script runs; an article pushed, matched, delivered to a webhook (failing once, so that
it is retried), a test event and a redelivery exercise the scripts of ingest, matching and
delivery. (The feed, digest and fleet-limit scripts name only keys their callers pass.)
"""

from __future__ import annotations

import asyncio
import hashlib
from importlib import resources

from redis.asyncio import Redis

from service.lua import source
from tests.apikit import ApiFactory
from tests.helpers import WebhookReceiver, wait_until

# Scripts allowed to touch keys they do not declare: none.
DERIVES_KEYS: set[str] = set()


def _scripts_by_sha() -> dict[str, str]:
    names = [
        p.name.removesuffix(".lua")
        for p in resources.files("service.lua").iterdir()
        if p.name.endswith(".lua") and not p.name.startswith("lib_")
    ]
    return {hashlib.sha1(source(n).encode()).hexdigest(): n for n in names}


async def test_every_script_touches_only_the_keys_it_declares(
    start_api: ApiFactory, receiver: WebhookReceiver, redis_server_url: str, key_prefix: str
) -> None:
    scripts = _scripts_by_sha()
    seen: dict[str, set[str]] = {}  # script -> keys it touched without declaring them
    ran: set[str] = set()
    monitor_client = Redis.from_url(redis_server_url, decode_responses=True)
    stop = asyncio.Event()

    async def watch() -> None:
        current: tuple[str, set[str]] | None = None
        async with monitor_client.monitor() as monitor:
            async for event in monitor.listen():
                if stop.is_set():
                    return
                words = str(event["command"]).split(" ")
                if event.get("client_type") == "lua":
                    if current is None:
                        continue
                    name, declared = current
                    touched = {w for w in words[1:] if w.startswith(key_prefix)}
                    if touched - declared:
                        seen.setdefault(name, set()).update(touched - declared)
                    continue
                current = None
                if words[0].upper() == "EVALSHA" and words[1] in scripts:
                    count = int(words[2])
                    declared = set(words[3 : 3 + count])
                    if any(k.startswith(key_prefix) for k in declared):
                        current = (scripts[words[1]], declared)
                        ran.add(current[0])

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0.3)
    try:
        api = await start_api(
            roles=("matcher", "dispatcher", "api"), retry_schedule="0.2,0.2", retry_jitter=0.0
        )
        receiver.replies = []
        receiver.status = 200
        status, sub = await api.call(
            "POST", "/v1/subscriptions", {"name": "ops", "webhook": {"url": receiver.url}}
        )
        assert status == 201
        receiver.status = 503  # the first attempt fails: the retry path runs too
        article = {"title": "Putin and Kim Jong Un met in Vladivostok", "body": "Putin and Kim Jong Un met."}
        assert (await api.call("POST", "/v1/articles", article))[0] == 202

        async def dead_or_retrying() -> bool:
            _, page = await api.call("GET", f"/v1/subscriptions/{sub['id']}/deliveries")
            return bool(page["items"]) and page["items"][0]["attempts"] >= 1

        await wait_until(dead_or_retrying)
        receiver.status = 200
        await receiver.wait_for(2)
        _, page = await api.call("GET", f"/v1/subscriptions/{sub['id']}/deliveries")
        delivery = page["items"][0]["id"]

        async def settled() -> bool:
            _, d = await api.call("GET", f"/v1/deliveries/{delivery}")
            return bool(d["status"] in ("delivered", "dead"))

        await wait_until(settled)
        assert (await api.call("POST", f"/v1/deliveries/{delivery}/redeliver"))[0] == 202
        assert (await api.call("POST", f"/v1/subscriptions/{sub['id']}/test"))[0] == 202
        await receiver.wait_for(4)
        await asyncio.sleep(0.5)
    finally:
        stop.set()
        await monitor_client.ping()  # wakes the monitor loop so it sees stop
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        await monitor_client.aclose()

    assert {"ingest_batch", "publish_unique", "delivery_enqueue", "delivery_take", "delivery_settle"} <= ran
    assert "delivery_redeliver" in ran
    assert set(seen) == DERIVES_KEYS, seen
