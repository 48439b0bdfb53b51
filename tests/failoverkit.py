"""Kill -9 of the primary holding the articles stream, mid-run, on Sentinel or on a Cluster.

A writer appends articles as fast as Redis acknowledges them (with WAIT when
asked, as the ingest path does); a matcher and a dispatcher process turn them
into signed webhooks. When half the articles are in, the primary holding the
articles stream is killed with SIGKILL; the replica takes over, and the
killed node is started again a few seconds later (as an orchestrator would),
rejoining as a replica. Then every acknowledged article is looked for among
the webhooks received. Used by tests/test_faults_failover.py and bench/failover.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

from redis.asyncio import Redis

from notifiers.webhook import new_secret
from service.connections import redis_client
from service.durability import Durability
from service.embedded_redis import RedisServer
from service.keys import ALERTS_GROUP, ARTICLES_GROUP, Keys
from service.streams import TRANSIENT_ERRORS, group_status
from tests.helpers import WebhookReceiver
from tests.processes import Service, geoalert, service_env, summit_and_arms_article
from tests.topologies import Cluster, SentinelSetup, start_cluster, start_sentinel

PREFIX = "failover:"
KEYS = Keys(PREFIX)
RULES = ("leader_summit", "arms_deal")  # each article raises one alert of each
RESTART_AFTER = 3.0  # seconds between the kill and the killed node's return


class CountingReceiver(WebhookReceiver):
    def articles(self) -> set[tuple[str, str]]:
        """(rule, article id) of every alert received, duplicates folded."""
        out = set()
        for r in self.received:
            data = json.loads(r.body)["data"]
            out.add((data["rule"]["id"], data["article"]["id"]))
        return out

    def by_id(self) -> Counter[str]:
        return Counter(r.headers["webhook-id"] for r in self.received)


@dataclass
class Outcome:
    form: str
    wait_replicas: int
    acknowledged: list[str] = field(default_factory=list)
    failed_writes: int = 0  # writes that raised (a failover in progress, or WAIT short of replicas)
    write_outage_s: float = 0.0  # from the kill to the next acknowledged write
    missing: list[tuple[str, str]] = field(default_factory=list)  # acknowledged, never delivered
    duplicates: int = 0
    drain_s: float = 0.0
    writes_per_s: float = 0.0  # acknowledged writes per second before the kill (the price of WAIT)

    @property
    def lost_articles(self) -> int:
        return len({article for _, article in self.missing})


async def _write(redis: Redis, n: int, durability: Durability) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        pipe.xadd(KEYS.articles, {"data": summit_and_arms_article(n)})
        durability.queue_wait(redis, pipe, KEYS.articles)
        replies = await pipe.execute()
    if durability.waits:
        durability.check(replies[-1], "article")


def _primary_of_articles(topology: Cluster | SentinelSetup) -> RedisServer:
    if isinstance(topology, Cluster):
        return topology.node_of(KEYS.articles)
    return topology.server(topology.current_primary_port())


async def _drained(redis: Redis) -> bool:
    articles = await group_status(redis, KEYS.articles, ARTICLES_GROUP)
    alerts = await group_status(redis, KEYS.alerts, ALERTS_GROUP)
    due = await redis.zcard(KEYS.deliveries_due)
    return (articles["pending"], articles["lag"], alerts["pending"], alerts["lag"], due) == (0, 0, 0, 0, 0)


async def run_failover(
    form: str,
    tmp_path: Path,
    receiver: CountingReceiver,
    *,
    wait_replicas: int,
    articles: int = 2000,
    settle_s: float = 120.0,
) -> Outcome:
    """Run the scenario; returns what was acknowledged and what of it never arrived."""
    start = start_cluster if form == "cluster" else start_sentinel
    topology = await asyncio.to_thread(start, tmp_path / "redis")
    outcome = Outcome(form, wait_replicas)
    durability = Durability(wait_replicas, 2000)
    subscriptions = tmp_path / "subscriptions.yaml"
    subscriptions.write_text(
        "subscriptions:\n  - name: ops\n    rules: ['*']\n"
        f"    webhook: {{url: '{receiver.url}', secret: '{new_secret()}'}}\n"
    )
    env = service_env(
        tmp_path,
        redis_url=topology.url,
        key_prefix=PREFIX,
        subscriptions_file=str(subscriptions),
        webhook_allow_cidrs="127.0.0.0/8",
        claim_idle_ms="3000",
        delivery_lease_seconds="5",
        retry_schedule="0.5,1,2,5",
        redis_wait_replicas=str(wait_replicas),
        redis_wait_timeout_ms="2000",
    )
    redis = redis_client(topology.url)
    try:
        async with AsyncExitStack() as stack:
            fleet: list[Service] = []
            for role in ("matcher", "dispatcher"):
                service = await stack.enter_async_context(
                    geoalert("run", "--role", role, env=env, cwd=tmp_path)
                )
                await service.wait_log(f"running roles: {role}", timeout=60)
                fleet.append(service)

            killed: RedisServer | None = None
            killed_at = 0.0
            restart: asyncio.Task[None] | None = None
            writing_since = time.monotonic()
            for n in range(articles):
                if n == articles // 2:
                    outcome.writes_per_s = n / (time.monotonic() - writing_since)
                    killed = _primary_of_articles(topology)
                    killed.kill()
                    killed_at = time.monotonic()

                    async def come_back(server: RedisServer = killed) -> None:
                        await asyncio.sleep(RESTART_AFTER)
                        await asyncio.to_thread(server.start)

                    restart = asyncio.create_task(come_back())
                while True:
                    try:
                        await _write(redis, n, durability)
                        break
                    except TRANSIENT_ERRORS:
                        outcome.failed_writes += 1
                        await asyncio.sleep(0.05)
                if killed_at and not outcome.write_outage_s:
                    outcome.write_outage_s = time.monotonic() - killed_at
                outcome.acknowledged.append(f"fault-{n}")
            if restart is not None:
                await restart

            expected = {(rule, a) for a in outcome.acknowledged for rule in RULES}
            began = time.monotonic()
            quiet_since = time.monotonic()
            seen = 0
            while time.monotonic() - began < settle_s:
                got = len(receiver.articles() & expected)
                if got == len(expected):
                    break
                if got != seen:
                    seen, quiet_since = got, time.monotonic()
                try:
                    # Nothing left anywhere and nothing new for a while: what is missing is lost.
                    if time.monotonic() - quiet_since > 10 and await _drained(redis):
                        break
                except TRANSIENT_ERRORS:
                    pass
                await asyncio.sleep(0.25)
            outcome.drain_s = time.monotonic() - began
            outcome.missing = sorted(expected - receiver.articles())
            counts = receiver.by_id()
            outcome.duplicates = sum(counts.values()) - len(counts)
            for service in fleet:
                assert service.process.returncode is None, "".join(service.log[-30:])
            codes = await asyncio.gather(*(s.terminate() for s in fleet))
            assert set(codes) == {0}
    finally:
        await redis.aclose()
        await asyncio.to_thread(topology.stop)
    return outcome
