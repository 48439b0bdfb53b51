"""Delivery benchmark: fan-out of one alert, and end-to-end latency under steady load.

    python bench/deliver.py                      # both, with the defaults below
    python bench/deliver.py --only fanout --subscriptions 1000 --runs 5
    python bench/deliver.py --only latency --rate 100 --seconds 20

1. Fan-out: one alert to N webhook subscriptions on one local receiver, timed
   from the dispatcher taking the alert to the last signed request arriving.
   Baseline: the same N requests signed and POSTed one after another.
2. Latency: articles appended at a steady rate (through the poller's
   ``ArticleSink``, the path ``POST /v1/articles`` takes) travel matcher ->
   dispatcher -> delivery queue -> webhook; each arrival is timed against
   the moment its article was appended. Reports p50 / p99 / max.

The receiver runs in its own process (so it does not share the service's
event loop) and verifies every signature with the ``standardwebhooks``
package. Redis is a private redis-server on loopback unless
GEOALERT_REDIS_URL is set. Only loopback is used.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from notifiers.base import Notification  # noqa: E402
from notifiers.ssrf import AddressPolicy, parse_cidrs  # noqa: E402
from notifiers.webhook import new_secret, payload, sign  # noqa: E402
from service.app import create_app  # noqa: E402
from service.config import Settings  # noqa: E402
from service.delivery import DeliveryQueue, DeliveryWorker  # noqa: E402
from service.dispatcher import Dispatcher  # noqa: E402
from service.embedded_redis import RedisServer, free_port  # noqa: E402
from service.keys import Keys  # noqa: E402
from service.metrics import Metrics  # noqa: E402
from service.models import Alert, Article, ArticleRef, Evidence, RuleRef, utcnow  # noqa: E402  # noqa: E402
from service.poller.poller import ArticleSink  # noqa: E402
from service.streams import Trim  # noqa: E402
from service.subscription_store import SubscriptionStore  # noqa: E402
from service.subscriptions import Subscription, SubscriptionDirectory  # noqa: E402
from service.typedefs import REDIS  # noqa: E402
from service.watched import WatchedFile  # noqa: E402

SECRET = new_secret()
LOOPBACK = AddressPolicy(parse_cidrs("127.0.0.0/8"))  # the receiver is local


def make_alert(n: int, *, rule: str = "leader_summit") -> Alert:
    return Alert(
        id=f"bench-{uuid.uuid4().hex[:8]}-{n}",
        rule=RuleRef(id=rule, title="Leaders' summit", severity="high"),
        article=ArticleRef(
            id=f"art-{n}", title=f"Leaders meet ({n})", url="https://news.example/", published=utcnow()
        ),
        evidence=[
            Evidence(part="all[0]", field="body", term="Putin", text="Putin", start=0, end=5, snippet="Putin")
        ],
        story_id=f"story-{n}",
    )


# --- the receiver process ---------------------------------------------------


def serve_receiver(port: int, secret: str) -> None:
    from standardwebhooks.webhooks import Webhook

    verifier = Webhook(secret)
    arrivals: list[tuple[float, str, str]] = []  # (time, webhook-id, article id)
    bad = 0

    async def hook(request: web.Request) -> web.Response:
        nonlocal bad
        body = await request.read()
        at = time.time()
        try:
            event = verifier.verify(body, dict(request.headers))
        except Exception:
            bad += 1
            return web.Response(status=400)
        arrivals.append((at, request.headers["webhook-id"], event["data"]["article"]["id"]))
        return web.Response(status=204)

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({"arrivals": arrivals, "bad": bad})

    async def reset(request: web.Request) -> web.Response:
        arrivals.clear()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook/{n}", hook)
    app.router.add_get("/stats", stats)
    app.router.add_delete("/stats", reset)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve-receiver", str(self.port), "--secret", SECRET]
        )

    async def ready(self, http: aiohttp.ClientSession) -> None:
        for _ in range(200):
            try:
                async with http.get(self.base + "/stats"):
                    return
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
        raise RuntimeError("receiver did not start")

    async def arrivals(self, http: aiohttp.ClientSession) -> list[tuple[float, str, str]]:
        async with http.get(self.base + "/stats") as response:
            data = await response.json()
        if data["bad"]:
            raise RuntimeError(f"{data['bad']} requests failed signature verification")
        return [tuple(a) for a in data["arrivals"]]  # type: ignore[misc]

    async def wait_for(self, http: aiohttp.ClientSession, count: int, timeout: float = 60) -> list[Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = await self.arrivals(http)
            if len(got) >= count:
                return got
            await asyncio.sleep(0.01)
        raise RuntimeError(f"only {len(await self.arrivals(http))} of {count} arrived")

    async def reset(self, http: aiohttp.ClientSession) -> None:
        async with http.delete(self.base + "/stats"):
            pass

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


# --- fan-out -------------------------------------------------------------------


async def fanout(
    redis_url: str, receiver: Receiver, http: aiohttp.ClientSession, args: argparse.Namespace
) -> None:
    from redis.asyncio import Redis

    from notifiers.console import ConsoleNotifier
    from notifiers.webhook import WebhookNotifier, webhook_session

    redis = Redis.from_url(redis_url, decode_responses=True)
    keys = Keys(f"bench:{uuid.uuid4().hex[:8]}:")
    store = SubscriptionStore(redis, keys)
    with tempfile.TemporaryDirectory() as tmp:
        directory = SubscriptionDirectory(WatchedFile(Path(tmp) / "none.yaml", lambda p: []), store)
        for n in range(args.subscriptions):
            sub = Subscription(
                id=f"sub_{n}", name=f"s{n}", webhook={"url": f"{receiver.base}/hook/{n}", "secret": SECRET}
            )  # type: ignore[arg-type]
            await store.create(sub)
        session = webhook_session(LOOPBACK, limit=args.concurrency * 2)
        queue = DeliveryQueue(redis, keys)
        notifiers = {"console": ConsoleNotifier(), "webhook": WebhookNotifier(session, LOOPBACK)}
        worker = DeliveryWorker(
            queue,
            directory,
            notifiers,
            Metrics(),
            concurrency=args.concurrency,
            per_endpoint=args.per_endpoint,
        )
        dispatcher = Dispatcher(queue, directory.all, worker.wake, Metrics())
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))
        await dispatcher.dispatch(make_alert(0, rule="warmup"))  # warm connections and caches
        await receiver.wait_for(http, args.subscriptions)

        times = []
        for run in range(1, args.runs + 1):
            await receiver.reset(http)
            alert = make_alert(run)
            started = time.time()
            await dispatcher.dispatch(alert)
            got = await receiver.wait_for(http, args.subscriptions)
            times.append(max(a[0] for a in got) - started)
        stop.set()
        await running

        # Baseline: the same requests, signed and sent one after another, no queue.
        naive = []
        subs = await directory.all()
        for run in range(1, min(args.runs, 3) + 1):
            await receiver.reset(http)
            body = payload(Notification("x", make_alert(100 + run).model_dump(mode="json")))
            started = time.time()
            for sub in subs:
                assert sub.webhook is not None
                ts = int(time.time())
                msg_id = f"naive-{run}-{sub.id}"
                headers = {
                    "webhook-id": msg_id,
                    "webhook-timestamp": str(ts),
                    "webhook-signature": sign(SECRET, msg_id, ts, body),
                    "content-type": "application/json",
                }
                async with session.post(sub.webhook.url, data=body, headers=headers) as response:
                    await response.read()
            naive.append(time.time() - started)
        await session.close()
        await redis.unlink(*[k async for k in redis.scan_iter(match=f"{keys.prefix}*", count=1000)])
        await redis.aclose()

    print(f"fan-out of one alert to {args.subscriptions} webhook subscriptions on one receiver")
    print(f"  (concurrency {args.concurrency}, per endpoint {args.per_endpoint}, {args.runs} runs)")
    print(
        f"  geoalert delivery queue: median {statistics.median(times):.3f} s  (min {min(times):.3f}, max {max(times):.3f})"
    )
    print(f"  naive sequential POSTs:  median {statistics.median(naive):.3f} s")


# --- end-to-end latency ---------------------------------------------------------


async def latency(
    redis_url: str, receiver: Receiver, http: aiohttp.ClientSession, args: argparse.Namespace
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subs = Path(tmp) / "subscriptions.yaml"
        subs.write_text(
            "subscriptions:\n"
            f"  - name: bench\n    rules: [leader_summit]\n    webhook: {{url: '{receiver.base}/hook/0', secret: '{SECRET}'}}\n"
        )
        settings = Settings(
            redis_url=redis_url,
            key_prefix=f"bench:{uuid.uuid4().hex[:8]}:",
            data_dir=Path(tmp),
            rules_dir=ROOT / "rules",
            subscriptions_file=subs,
            feeds_file=Path(tmp) / "feeds.yaml",
            webhook_allow_cidrs="127.0.0.0/8",  # type: ignore[arg-type]
            log_level="WARNING",
        )
        app = create_app(settings, roles=["matcher", "dispatcher"])
        runner = web.AppRunner(app)
        await runner.setup()
        try:
            sink = ArticleSink(app[REDIS], Keys(settings.key_prefix), Trim(), 3600, Metrics())
            sent: dict[str, float] = {}
            total = int(args.rate * args.seconds)
            interval = 1.0 / args.rate
            start = time.monotonic()
            for n in range(total):
                # Steady pacing: each article at its slot, not after the previous one's work.
                delay = start + n * interval - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                article = Article(
                    id=f"lat-{uuid.uuid4().hex[:10]}",
                    title=f"Putin meets Kim Jong Un for talks ({n})",
                    body="The two leaders held a summit.",
                    published=utcnow(),
                )
                sent[article.id] = time.time()
                await sink.add(article)
            elapsed = time.monotonic() - start
            got = await receiver.wait_for(http, total, timeout=60)
        finally:
            await runner.cleanup()
            await _forget(redis_url, settings.key_prefix)
    ordered = [(sent[article], (at - sent[article]) * 1000) for at, _, article in got if article in sent]
    ordered.sort()
    worst = sorted(ordered, key=lambda x: -x[1])[:12]
    print(
        "  slowest (seconds into the run, ms):",
        ", ".join(f"{t - ordered[0][0]:.2f}s:{ms:.0f}" for t, ms in worst),
    )
    lat = sorted(ms for _, ms in ordered)
    p = statistics.quantiles(lat, n=100, method="inclusive")
    print(
        f"end-to-end: article appended -> signed webhook received, {total} articles at {total / elapsed:.0f}/s"
    )
    print(f"  p50 {p[49]:.1f} ms   p90 {p[89]:.1f} ms   p99 {p[98]:.1f} ms   max {lat[-1]:.1f} ms")


async def _forget(redis_url: str, prefix: str) -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url, decode_responses=True)
    keys = [k async for k in redis.scan_iter(match=f"{prefix}*", count=1000)]
    if keys:
        await redis.unlink(*keys)
    await redis.aclose()


async def main(args: argparse.Namespace) -> None:
    server = None
    redis_url = os.environ.get("GEOALERT_REDIS_URL")
    if not redis_url:
        server = RedisServer(
            Path(tempfile.mkdtemp(prefix="bench-redis-")), port=free_port(), appendonly=False
        )
        server.start()
        redis_url = server.url
    receiver = Receiver()
    try:
        async with aiohttp.ClientSession() as http:
            await receiver.ready(http)
            if args.only in (None, "fanout"):
                await fanout(redis_url, receiver, http, args)
            if args.only in (None, "latency"):
                await receiver.reset(http)
                await latency(redis_url, receiver, http, args)
    finally:
        receiver.stop()
        if server is not None:
            server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=["fanout", "latency"])
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--per-endpoint", type=int, default=64, help="one receiver is one endpoint")
    parser.add_argument("--rate", type=float, default=100.0, help="articles per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--serve-receiver", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--secret", help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.serve_receiver:
        serve_receiver(parsed.serve_receiver, parsed.secret)
    else:
        asyncio.run(main(parsed))
