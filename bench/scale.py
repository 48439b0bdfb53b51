"""Scaling out: a backlog drained by 1, 2 and 4 matcher processes, then by 1, 2 and 4 dispatchers,
on one Redis and on a 3-primary Redis Cluster.

    python bench/scale.py [--articles 20000] [--alerts 10000] [--processes 1,2,4] [--forms single,cluster]
                          [--quick] [--json PATH]

Matchers: N `geoalert run --role matcher` processes wait on an empty stream; the backlog (synthetic
news from bench/corpus.py, 5% of it events the shipped rules alert on) is appended in one go, and
the clock runs until the group has nothing pending and no lag. Dispatchers: the same with a
backlog of alerts, each delivered as a signed webhook to one receiver process, until every
webhook has arrived. Printed per run: wall time, throughput, speed-up over one process and its
share per process, and the Redis CPU time the run cost (INFO cpu, summed over the nodes; for the
cluster, the busiest node too). The naive baseline is one process.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402
from redis.asyncio import Redis  # noqa: E402

from bench.common import parser, write_json  # noqa: E402
from bench.corpus import generate  # noqa: E402
from notifiers.webhook import new_secret  # noqa: E402
from service.connections import redis_client  # noqa: E402
from service.embedded_redis import RedisServer, free_port  # noqa: E402
from service.keys import ALERTS_GROUP, ARTICLES_GROUP, Keys  # noqa: E402
from service.models import Alert, Article, utcnow  # noqa: E402
from tests.deliverykit import make_alert  # noqa: E402
from tests.helpers import wait_until  # noqa: E402
from tests.processes import geoalert, service_env  # noqa: E402
from tests.topologies import Cluster, start_cluster  # noqa: E402

CHUNK = 1000  # entries per pipelined round trip when loading a backlog


def receive(port: int, count: Any) -> None:
    """The webhook receiver, in a process of its own: answers 204 and counts."""

    async def hook(request: web.Request) -> web.Response:
        await request.read()
        with count.get_lock():
            count.value += 1
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


class Topology:
    def __init__(self, form: str, directory: Path) -> None:
        self.form = form
        self.cluster: Cluster | None = None
        self.server: RedisServer | None = None
        if form == "cluster":
            self.cluster = start_cluster(directory, appendfsync="everysec")
            self.url = self.cluster.url
            self.ports = [n.port for n in self.cluster.nodes]
        else:
            self.server = RedisServer(directory, port=free_port(), appendonly=True)
            self.server.start()
            self.url = self.server.url
            self.ports = [self.server.port]

    async def cpu(self) -> dict[int, float]:
        """Redis CPU seconds so far, per node (user + system)."""
        out = {}
        for port in self.ports:
            client = Redis(port=port, decode_responses=True)
            info = await client.info("cpu")
            out[port] = float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
            await client.aclose()
        return out

    def stop(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()
        if self.server is not None:
            self.server.stop()


async def load(redis: Redis, stream: str, entries: list[dict[str, str]]) -> None:
    for start in range(0, len(entries), CHUNK):
        async with redis.pipeline(transaction=False) as pipe:
            for fields in entries[start : start + CHUNK]:
                pipe.xadd(stream, fields)  # type: ignore[arg-type]
            await pipe.execute()


async def run_once(
    topology: Topology,
    tmp: Path,
    role: str,
    processes: int,
    backlog: list[dict[str, str]],
    done: Callable[[Redis, Keys], Any],
    env_extra: dict[str, str],
) -> dict[str, float]:
    prefix = f"scale-{role}-{processes}-{time.monotonic_ns()}:"
    keys = Keys(prefix)
    env = service_env(tmp, redis_url=topology.url, key_prefix=prefix, **env_extra)
    redis = redis_client(topology.url)
    async with AsyncExitStack() as stack:
        fleet = [
            await stack.enter_async_context(geoalert("run", "--role", role, env=env, cwd=tmp))
            for _ in range(processes)
        ]
        # Started, rules compiled, groups made: only the draining is timed.
        await asyncio.gather(*(s.wait_log("running roles", timeout=120) for s in fleet))
        stream = keys.articles if role == "matcher" else keys.alerts
        cpu_before = await topology.cpu()
        began = time.perf_counter()
        await load(redis, stream, backlog)
        await wait_until(lambda: done(redis, keys), timeout=3600, interval=0.1)
        wall = time.perf_counter() - began
        cpu_after = await topology.cpu()
        await asyncio.gather(*(s.terminate(60) for s in fleet))
    await redis.aclose()
    used = {port: cpu_after[port] - cpu_before[port] for port in cpu_after}
    return {
        "processes": processes,
        "wall_s": wall,
        "per_s": len(backlog) / wall,
        "redis_cpu_s": sum(used.values()),
        "busiest_node_cpu_s": max(used.values()),
    }


async def drained(redis: Redis, stream: str, group: str) -> bool:
    """Everything read and acknowledged: O(1) in Redis, so polling it costs the run nothing."""
    last = (await redis.xinfo_stream(stream))["last-generated-id"]
    for info in await redis.xinfo_groups(stream):
        if info["name"] == group:
            return bool(info["pending"] == 0 and info["last-delivered-id"] == last)
    return False


def article_backlog(count: int) -> list[dict[str, str]]:
    now = utcnow()
    return [
        {"data": Article(id=g.id, title=g.title, body=g.body, published=now).model_dump_json()}
        for g in generate(count, run="scale")
    ]


def alert_backlog(count: int) -> list[dict[str, str]]:
    alerts: list[Alert] = [make_alert(n, story=f"scale-story-{n}") for n in range(count)]
    return [{"data": a.model_dump_json(), "rule": a.rule.id} for a in alerts]


def report(form: str, role: str, rows: list[dict[str, float]]) -> None:
    base = rows[0]["per_s"] / rows[0]["processes"]
    for row in rows:
        speedup = row["per_s"] / base
        row["speedup"] = speedup
        row["speedup_per_process"] = speedup / row["processes"]
        print(
            f"  {form:<8} {role:<10} {row['processes']:>2} proc  {row['wall_s']:>7.1f} s"
            f"  {row['per_s']:>7.0f}/s  x{speedup:>4.2f} ({row['speedup_per_process']:.2f}/proc)"
            f"  Redis CPU {row['redis_cpu_s']:>5.1f} s ({100 * row['redis_cpu_s'] / row['wall_s']:>3.0f}% of a core;"
            f" busiest node {100 * row['busiest_node_cpu_s'] / row['wall_s']:>3.0f}%)"
        )


async def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--articles", type=int, default=20_000)
    p.add_argument("--alerts", type=int, default=10_000)
    p.add_argument("--processes", default="1,2,4")
    p.add_argument("--forms", default="single,cluster")
    p.add_argument("--roles", default="matcher,dispatcher")
    args = p.parse_args()
    articles = 2000 if args.quick else args.articles
    alerts = 2000 if args.quick else args.alerts
    counts = [int(n) for n in args.processes.split(",")]
    print(f"scale-out on {os.cpu_count()} cores: {articles} articles, {alerts} alerts per run")
    results: dict[str, Any] = {}
    article_entries = article_backlog(articles)
    alert_entries = alert_backlog(alerts)

    count = multiprocessing.Value("q", 0)
    port = free_port()
    receiver = multiprocessing.Process(target=receive, args=(port, count), daemon=True)
    receiver.start()

    async def matched(redis: Redis, keys: Keys) -> bool:
        return await drained(redis, keys.articles, ARTICLES_GROUP)

    for form in args.forms.split(","):
        with tempfile.TemporaryDirectory() as tmp_text:
            tmp = Path(tmp_text)
            topology = Topology(form, tmp / "redis")
            try:
                subs = tmp / "subscriptions.yaml"
                subs.write_text(
                    "subscriptions:\n  - name: bench\n    rules: ['*']\n"
                    f"    webhook: {{url: 'http://127.0.0.1:{port}/hook', secret: '{new_secret()}'}}\n"
                )
                if "matcher" in args.roles:
                    rows = [
                        await run_once(topology, tmp, "matcher", n, article_entries, matched, {})
                        for n in counts
                    ]
                    report(form, "matcher", rows)
                    results[f"{form}/matcher"] = rows
                if "dispatcher" not in args.roles:
                    continue

                drows = []
                for n in counts:
                    with count.get_lock():
                        count.value = 0

                    async def delivered(redis: Redis, keys: Keys) -> bool:
                        if count.value < alerts:
                            return False
                        return await drained(redis, keys.alerts, ALERTS_GROUP)

                    drows.append(
                        await run_once(
                            topology,
                            tmp,
                            "dispatcher",
                            n,
                            alert_entries,
                            delivered,
                            {
                                "subscriptions_file": str(subs),
                                "webhook_allow_cidrs": "127.0.0.0/8",
                                "delivery_per_endpoint": "64",
                            },
                        )
                    )
                report(form, "dispatcher", drows)
                results[f"{form}/dispatcher"] = drows
            finally:
                topology.stop()
    receiver.terminate()
    write_json(args.json, "scale", results)


if __name__ == "__main__":
    asyncio.run(main())
