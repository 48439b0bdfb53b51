"""Load: the whole service under 10,000 articles and 200 webhook subscriptions, then with a fifth of
the endpoints timing out.

    python bench/load.py [--articles 10000] [--rate 100] [--quick] [--json PATH]

`geoalert run` (every role in one process, as the quick start runs it) on a private redis-server;
articles are pushed through POST /v1/articles at a steady rate; 200 subscriptions (40 per rule of
the shipped library) point at 20 webhook endpoints served by a separate receiver process. Printed:
end-to-end latency (push -> signed webhook arriving), event-loop lag of the service, pending entries
and due deliveries, Redis memory and the service's resident memory, sampled every second; then the
same with 4 of the 20 endpoints hanging past the webhook timeout, healthy endpoints' latency beside
the first phase's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import parser, percentile, write_json  # noqa: E402
from bench.corpus import generate  # noqa: E402
from service.aio import sleep_or_stop  # noqa: E402
from service.embedded_redis import RedisServer, free_port  # noqa: E402

ENDPOINTS = 20
SUBSCRIPTIONS = 200
RULES = [
    "leader_summit",
    "arms_deal",
    "sanctions_imposed",
    "missile_or_nuclear_test",
    "ceasefire_or_peace_talks",
]
TOKEN = "load-bench-token"
MARKER = re.compile(r"\((r\d?-\d+)\)$")


# --- the receiver process: ENDPOINTS webhook endpoints, some of which can be told to hang ---------


def serve_receivers(control_port: int, ports: list[int]) -> None:
    arrivals: list[tuple[float, int, str, str]] = []  # (time, endpoint port, webhook-id, article marker)
    hanging: set[int] = set()

    def endpoint(port: int) -> web.Application:
        async def hook(request: web.Request) -> web.Response:
            body = await request.json()
            if port in hanging:
                await asyncio.sleep(30)  # far past the service's webhook timeout
                return web.Response(status=504)
            marker = MARKER.search(body["data"]["article"]["title"])
            arrivals.append(
                (time.time(), port, request.headers["webhook-id"], marker.group(1) if marker else "")
            )
            return web.Response(status=204)

        app = web.Application()
        app.router.add_post("/hook", hook)
        return app

    async def stats(request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0"))
        return web.json_response({"arrivals": arrivals[since:], "total": len(arrivals)})

    async def hang(request: web.Request) -> web.Response:
        hanging.clear()
        hanging.update(int(p) for p in (await request.json())["ports"])
        return web.Response(status=204)

    async def main() -> None:
        runners = []
        control = web.Application()
        control.router.add_get("/stats", stats)
        control.router.add_post("/hang", hang)
        for port, app in [(control_port, control), *((p, endpoint(p)) for p in ports)]:
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            runners.append(runner)
        await asyncio.Event().wait()

    asyncio.run(main())


# --- the measuring side ---------------------------------------------------------------------------


@dataclass
class Samples:
    loop_lag_p99_ms: list[float] = field(default_factory=list)
    pending_articles: list[int] = field(default_factory=list)
    pending_alerts: list[int] = field(default_factory=list)
    due: list[int] = field(default_factory=list)
    redis_mb: list[float] = field(default_factory=list)
    service_mb: list[float] = field(default_factory=list)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def lag_buckets(metrics_text: str) -> dict[float, float]:
    out = {}
    for line in metrics_text.splitlines():
        if line.startswith("geoalert_event_loop_lag_seconds_bucket"):
            le = line.split('le="')[1].split('"')[0]
            out[float("inf") if le == "+Inf" else float(le)] = float(line.rsplit(" ", 1)[1])
    return out


def p99_from(before: dict[float, float], after: dict[float, float]) -> float:
    """The upper bound of the bucket holding the 99th percentile of the lag observed in between."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    total = counts[-1] if counts else 0
    if total <= 0:
        return 0.0
    for bound, cumulative in zip(bounds, counts, strict=True):
        if cumulative >= 0.99 * total:
            return bound * 1000
    return float("inf")


async def sampler(
    http: aiohttp.ClientSession, redis: Redis, api: str, pid: int, samples: Samples, stop: asyncio.Event
) -> None:
    previous: dict[float, float] = {}
    while not stop.is_set():
        async with http.get(f"{api}/metrics") as response:
            buckets = lag_buckets(await response.text())
        if previous:
            samples.loop_lag_p99_ms.append(p99_from(previous, buckets))
        previous = buckets
        groups = (
            {g["name"]: g for g in await redis.xinfo_groups("geoalert:articles")}
            if await redis.exists("geoalert:articles")
            else {}
        )
        samples.pending_articles.append(int(groups.get("matchers", {}).get("pending", 0)))
        alert_groups = (
            {g["name"]: g for g in await redis.xinfo_groups("geoalert:alerts")}
            if await redis.exists("geoalert:alerts")
            else {}
        )
        samples.pending_alerts.append(int(alert_groups.get("dispatchers", {}).get("pending", 0)))
        samples.due.append(await redis.zcard("geoalert:deliveries:due"))
        samples.redis_mb.append(int((await redis.info("memory"))["used_memory"]) / 1e6)
        samples.service_mb.append(rss_mb(pid))
        await sleep_or_stop(stop, 1.0)


async def push(http: aiohttp.ClientSession, api: str, articles: list[Any], rate: float) -> dict[str, float]:
    """POST the articles in batches of 10 at ``rate`` articles/s; returns the send time of each marker."""
    sent: dict[str, float] = {}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    batch, started = 10, time.perf_counter()
    for start in range(0, len(articles), batch):
        due = started + start / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        chunk = articles[start : start + batch]
        now = time.time()
        body = {"items": [{"source": "load", "guid": a.id, "title": a.title, "body": a.body} for a in chunk]}
        async with http.post(f"{api}/v1/articles", json=body, headers=headers) as response:
            if response.status != 202:
                raise RuntimeError(f"push refused: {response.status} {await response.text()}")
        for a in chunk:
            sent[MARKER.search(a.title).group(1)] = now  # type: ignore[union-attr]
    return sent


def summarise(values: list[float]) -> str:
    if not values:
        return "none"
    return f"start {values[0]:.1f} peak {max(values):.1f} end {values[-1]:.1f}"


def log_summary(path: Path) -> str:
    """How many warnings and errors the service logged, by kind, instead of every line."""
    kinds: Counter[str] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        match = re.search(r" (WARNING|ERROR|CRITICAL) +(\S+): (.*)", line)
        if match:
            level, logger, message = match.groups()
            kinds[f"{level} {logger}: {re.sub(r'[0-9a-f]{12,}|[0-9.]+', '#', message)[:70]}"] += 1
    if not kinds:
        return f"service log: no warnings or errors ({path})"
    lines = [f"service log ({path}): {sum(kinds.values())} warnings or errors"]
    lines += [f"  {count:6d}  {kind}" for kind, count in kinds.most_common(5)]
    return "\n".join(lines)


async def run(args: Any) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="geoalert-load-"))
    server = RedisServer(tmp / "redis", port=free_port(), appendonly=True, appendfsync="everysec")
    server.start()
    control, ports = free_port(), [free_port() for _ in range(ENDPOINTS)]
    receivers = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve", str(control), ",".join(map(str, ports)), cwd=ROOT
    )
    (tmp / "feeds.yaml").write_text("feeds: []\n")
    (tmp / "subscriptions.yaml").write_text("subscriptions: []\n")
    api_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEOALERT_")}
    env.update(
        GEOALERT_REDIS_URL=server.url,
        GEOALERT_HTTP_PORT=str(api_port),
        GEOALERT_API_TOKEN=TOKEN,
        GEOALERT_FEEDS_FILE=str(tmp / "feeds.yaml"),
        GEOALERT_SUBSCRIPTIONS_FILE=str(tmp / "subscriptions.yaml"),
        GEOALERT_RULES_DIR=str(ROOT / "rules"),
        GEOALERT_WEBHOOK_ALLOW_CIDRS="127.0.0.0/8",
        GEOALERT_WEBHOOK_TIMEOUT="2",
        GEOALERT_STORY_THRESHOLD="1.0",  # synthetic articles share templates: keep each its own story
        GEOALERT_LOG_LEVEL="WARNING",
    )
    # The service's own log goes to a file: the timed-out phase logs every failed attempt.
    service_log = (tmp / "service.log").open("wb")
    service = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service", "run", cwd=ROOT, env=env, stdout=service_log, stderr=service_log
    )
    api = f"http://127.0.0.1:{api_port}"
    redis = Redis.from_url(server.url, decode_responses=True)
    results: dict[str, Any] = {}
    try:
        async with aiohttp.ClientSession() as http:
            await wait_up(http, f"{api}/livez", f"http://127.0.0.1:{control}/stats")
            per_rule: Counter[str] = Counter()
            for n in range(SUBSCRIPTIONS):
                rule, port = RULES[n % len(RULES)], ports[n % ENDPOINTS]
                per_rule[rule] += 1
                sub = {
                    "name": f"load-{n}",
                    "rules": [rule],
                    "webhook": {"url": f"http://127.0.0.1:{port}/hook"},
                }
                async with http.post(
                    f"{api}/v1/subscriptions", json=sub, headers={"Authorization": f"Bearer {TOKEN}"}
                ) as response:
                    assert response.status == 201, await response.text()
            phases = [
                ("all endpoints healthy", args.articles, []),
                ("4 of 20 endpoints time out", args.articles // 5, ports[:4]),
            ]
            for index, (name, count, hanging) in enumerate(phases):
                async with http.post(f"http://127.0.0.1:{control}/hang", json={"ports": hanging}):
                    pass
                run_id = f"r{index}"
                articles = generate(count, event_share=0.05, seed=index, run=run_id)
                samples, stop = Samples(), asyncio.Event()
                seen_before = (await stats(http, control, 0))["total"]
                alerts_before = await redis.xlen("geoalert:alerts")
                sampling = asyncio.create_task(sampler(http, redis, api, service.pid, samples, stop))
                t0 = time.perf_counter()
                sent = await push(http, api, articles, args.rate)
                push_s = time.perf_counter() - t0
                expected = await expected_healthy(redis, alerts_before, per_rule, ports, hanging)
                arrivals = await wait_arrivals(http, control, seen_before, expected, hanging, timeout=300)
                stop.set()
                await sampling
                latencies = [
                    (at - sent[m]) * 1000 for at, port, _, m in arrivals if m in sent and port not in hanging
                ]
                ids = Counter(w for _, _, w, _ in arrivals)
                phase = {
                    "articles": count,
                    "push_seconds": round(push_s, 1),
                    "deliveries": len(ids),
                    "duplicates": sum(ids.values()) - len(ids),
                    "p50_ms": percentile(latencies, 50),
                    "p99_ms": percentile(latencies, 99),
                    "max_ms": max(latencies),
                    "loop_lag_p99_ms_worst_second": max(samples.loop_lag_p99_ms or [0]),
                    "pending_articles_peak": max(samples.pending_articles or [0]),
                    "pending_alerts_peak": max(samples.pending_alerts or [0]),
                    "due_peak": max(samples.due or [0]),
                    "redis_mb": summarise(samples.redis_mb),
                    "service_rss_mb": summarise(samples.service_mb),
                }
                results[name] = phase
                print(
                    f"{name}: {count} articles pushed at {args.rate:.0f}/s in {push_s:.1f} s; "
                    f"{phase['deliveries']} deliveries to healthy endpoints, {phase['duplicates']} duplicates\n"
                    f"  end-to-end (push -> webhook): p50 {phase['p50_ms']:.0f} ms, p99 {phase['p99_ms']:.0f} ms, "
                    f"max {phase['max_ms']:.0f} ms\n"
                    f"  event-loop lag: worst per-second p99 <= {phase['loop_lag_p99_ms_worst_second']:.0f} ms\n"
                    f"  pending peak: articles {phase['pending_articles_peak']}, alerts {phase['pending_alerts_peak']};"
                    f" deliveries due or in flight peak {phase['due_peak']}\n"
                    f"  Redis memory MB: {phase['redis_mb']}; service RSS MB: {phase['service_rss_mb']}",
                    flush=True,
                )
    finally:
        service.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(service.wait(), 30)
        except TimeoutError:
            service.kill()
        receivers.terminate()
        service_log.close()
        print(log_summary(tmp / "service.log"), flush=True)
        await receivers.wait()
        await redis.aclose()
        server.stop()
    return results


async def wait_up(http: aiohttp.ClientSession, *urls: str) -> None:
    for url in urls:
        for _ in range(600):
            try:
                async with http.get(url):
                    break
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
        else:
            raise RuntimeError(f"{url} did not come up")


async def stats(http: aiohttp.ClientSession, control: int, since: int) -> dict[str, Any]:
    async with http.get(f"http://127.0.0.1:{control}/stats", params={"since": str(since)}) as response:
        return await response.json()  # type: ignore[no-any-return]


async def expected_healthy(
    redis: Redis, alerts_before: int, per_rule: Counter[str], ports: list[int], hanging: list[int]
) -> int:
    """Deliveries the healthy endpoints should get for the alerts this phase raised (waits for them)."""
    last, stable = -1, 0
    while stable < 3:  # the alerts stream has stopped growing for 3 s
        now = await redis.xlen("geoalert:alerts")
        stable = stable + 1 if now == last else 0
        last = now
        await asyncio.sleep(1)
    entries = await redis.xrange("geoalert:alerts")
    rules = [fields["rule"] for _, fields in entries[alerts_before:]]
    healthy_share = {rule: 0 for rule in RULES}
    for n in range(SUBSCRIPTIONS):
        if ports[n % ENDPOINTS] not in hanging:
            healthy_share[RULES[n % len(RULES)]] += 1
    return sum(healthy_share.get(rule, 0) for rule in rules)


async def wait_arrivals(
    http: aiohttp.ClientSession, control: int, since: int, expected: int, hanging: list[int], timeout: float
) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        got = (await stats(http, control, since))["arrivals"]
        healthy = {w for _, port, w, _ in got if port not in hanging}
        if len(healthy) >= expected or time.monotonic() > deadline:
            return got
        await asyncio.sleep(0.5)


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--articles", type=int, default=10_000)
    p.add_argument("--rate", type=float, default=100.0)
    p.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        serve_receivers(int(args.serve[0]), [int(x) for x in args.serve[1].split(",")])
        return
    if args.quick:
        args.articles = 1000
    write_json(args.json, "load", asyncio.run(run(args)))


if __name__ == "__main__":
    main()
