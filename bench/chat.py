"""Apprise channel benchmark: one alert to N chat subscriptions through the delivery queue.

    python bench/chat.py                       # 200 subscriptions, 3 runs
    python bench/chat.py --subscriptions 50 --runs 1

Each subscription is a ``json://`` Apprise URL on one local receiver (its own
process, answering 200). Timed from the dispatcher taking the alert to the
last request arriving. Beside it: the same fan-out as signed webhooks (the
channel with its own async HTTP client), and a naive baseline that calls
Apprise's ``notify`` for each subscription one after another, no queue.
What the figures show: the cost of Apprise's blocking sends in a pool of
threads (a new connection per message) against the webhook client's pooled
async connections.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import parser as bench_parser  # noqa: E402
from bench.common import summary  # noqa: E402
from notifiers.apprise import AppriseNotifier, send_blocking  # noqa: E402
from notifiers.ssrf import AddressPolicy, parse_cidrs  # noqa: E402
from notifiers.webhook import WebhookNotifier, new_secret, webhook_session  # noqa: E402
from service.delivery import DeliveryQueue, DeliveryWorker  # noqa: E402
from service.dispatcher import Dispatcher  # noqa: E402
from service.embedded_redis import RedisServer, free_port  # noqa: E402
from service.keys import Keys  # noqa: E402
from service.metrics import Metrics  # noqa: E402
from service.models import Alert, ArticleRef, Evidence, RuleRef, utcnow  # noqa: E402
from service.subscriptions import Subscription, SubscriptionDirectory, SubscriptionStore  # noqa: E402
from service.watched import WatchedFile  # noqa: E402

LOOPBACK = AddressPolicy(parse_cidrs("127.0.0.0/8"))


def make_alert(n: int) -> Alert:
    return Alert(
        id=f"chat-{uuid.uuid4().hex[:8]}-{n}",
        rule=RuleRef(id="leader_summit", title="Leaders' summit", severity="high"),
        article=ArticleRef(
            id=f"a{n}", title=f"Leaders meet ({n})", url="https://news.example/", published=utcnow()
        ),
        evidence=[
            Evidence(part="all[0]", field="body", term="Putin", text="Putin", start=0, end=5, snippet="Putin")
        ],
        story_id=f"s{n}",
    )


def serve(port: int) -> None:
    count = 0

    async def hook(request: web.Request) -> web.Response:
        nonlocal count
        await request.read()
        count += 1
        return web.Response(text="ok")

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({"count": count})

    app = web.Application()
    app.router.add_post("/{tail:.*}", hook)
    app.router.add_get("/stats", stats)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


async def count(http: aiohttp.ClientSession, base: str) -> int:
    async with http.get(base + "/stats") as response:
        return int((await response.json())["count"])


async def wait_for(http: aiohttp.ClientSession, base: str, total: int) -> None:
    deadline = time.monotonic() + 300
    while await count(http, base) < total:
        if time.monotonic() > deadline:
            raise RuntimeError("deliveries did not all arrive")
        await asyncio.sleep(0.01)


async def fanout(
    channel: str, redis_url: str, base: str, http: aiohttp.ClientSession, args: argparse.Namespace
) -> list[float]:
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url, decode_responses=True)
    keys = Keys(f"bench:{uuid.uuid4().hex[:8]}:")
    store = SubscriptionStore(redis, keys)
    secret = new_secret()
    port = base.rsplit(":", 1)[1]
    with tempfile.TemporaryDirectory() as tmp:
        directory = SubscriptionDirectory(WatchedFile(Path(tmp) / "none.yaml", lambda p: []), store)
        for n in range(args.subscriptions):
            target = (
                {"apprise": {"urls": [f"json://127.0.0.1:{port}/hook/{n}"]}}
                if channel == "apprise"
                else {"webhook": {"url": f"{base}/hook/{n}", "secret": secret}}
            )
            await store.create(Subscription(id=f"sub_{n}", name=f"s{n}", **target))  # type: ignore[arg-type]
        session = webhook_session(LOOPBACK, limit=128)
        chat = AppriseNotifier(LOOPBACK)
        queue = DeliveryQueue(redis, keys)
        notifiers = {"webhook": WebhookNotifier(session, LOOPBACK), "apprise": chat}
        worker = DeliveryWorker(queue, directory, notifiers, Metrics(), concurrency=64, per_endpoint=8)
        dispatcher = Dispatcher(queue, directory.all, worker.wake, Metrics())
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))
        times = []
        for run in range(args.runs + 1):  # the first run warms caches and is not counted
            before = await count(http, base)
            started = time.time()
            await dispatcher.dispatch(make_alert(run))
            await wait_for(http, base, before + args.subscriptions)
            if run:
                times.append(time.time() - started)
        stop.set()
        await running
        chat.close()
        await session.close()
    await redis.unlink(*[k async for k in redis.scan_iter(match=f"{keys.prefix}*", count=1000)])
    await redis.aclose()
    return times


def naive(base: str, n: int) -> float:
    port = base.rsplit(":", 1)[1]
    started = time.time()
    for i in range(n):
        outcomes = send_blocking([f"json://127.0.0.1:{port}/naive/{i}"], "title", "body", LOOPBACK)
        assert outcomes[0].ok
    return time.time() - started


async def main(args: argparse.Namespace) -> None:
    server = None
    redis_url = os.environ.get("GEOALERT_REDIS_URL")
    if not redis_url:
        server = RedisServer(
            Path(tempfile.mkdtemp(prefix="bench-redis-")), port=free_port(), appendonly=False
        )
        server.start()
        redis_url = server.url
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    receiver = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])  # noqa: ASYNC220
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                try:
                    await count(http, base)
                    break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.05)
            n = args.subscriptions
            for channel in ("apprise", "webhook"):
                s = summary(await fanout(channel, redis_url, base, http, args))
                print(
                    f"{channel:8} fan-out to {n} subscriptions: median {s['median']:.3f} s"
                    f" (min {s['min']:.3f}, max {s['max']:.3f}, {s['runs']} runs)"
                    f" = {n / s['median']:.0f} deliveries/s"
                )
            took = await asyncio.to_thread(naive, base, n)
            print(
                f"naive    Apprise notify() one after another, {n} messages: {took:.3f} s = {n / took:.0f}/s"
            )
    finally:
        receiver.terminate()
        receiver.wait()
        if server is not None:
            server.stop()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]))
        sys.exit(0)
    parser = bench_parser(__doc__ or "")
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--subscriptions", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.subscriptions, arguments.runs = 50, 1
    asyncio.run(main(arguments))
