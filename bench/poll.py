"""Polling benchmark: 1,000 feeds of 20 items on a local server.

Prints, as medians over --runs runs (each on a fresh key prefix):
- a full cycle: every feed new (200, 20 new articles each): seconds, articles/s into the stream,
  and the CPU seconds each process spent on it;
- the sink alone (the push API's path: articles already parsed): articles/s into the stream;
- an unchanged cycle: every feed answers 304: seconds, stream writes (must be 0);
- a naive baseline for the full cycle: one feed at a time, parsed in-process, one Redis call per article.

The feed server runs in its own process. Between cycles the feeds' leases are
dropped, as if their interval had passed. Redis is GEOALERT_REDIS_URL, or a
private redis-server started for the run.

    .venv/bin/python bench/poll.py [--feeds 1000] [--items 20] [--runs 3] [--processes N] [--json PATH] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web
from redis.asyncio import Redis

from bench.common import parser, summary, write_json
from service.embedded_redis import RedisServer, free_port
from service.ingest.feeds import FeedConfig
from service.ingest.fetch import Fetcher, FetchLimits
from service.ingest.parse import ParsedFeed, parse_feed
from service.ingest.poller import Poller, RunResult
from service.ingest.sink import ArticleSink
from service.ingest.state import FeedStore
from service.ingest.stories import StoryIndex
from service.ingest.workers import WorkerPool
from service.keys import Keys
from service.metrics import Metrics
from service.streams import Trim
from service.watched import WatchedFile

# A vocabulary the size of a real news lexicon's common core, so that different
# stories share few three-word shingles, as real ones do.
_SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "re",
    "sun",
    "tor",
    "va",
    "bel",
    "dan",
    "gri",
    "hol",
    "jus",
    "ken",
    "lim",
    "mor",
    "nep",
    "os",
    "pra",
    "qui",
    "rus",
]
WORDS = [a + b + c for a in _SYLLABLES for b in _SYLLABLES for c in ("", "n", "s", "ter", "al")][:4000]


def feed_document(feed: int, items: int) -> bytes:
    base = datetime(2024, 5, 1, tzinfo=UTC)
    parts = []
    for i in range(items):
        rng = random.Random(f"{feed}/{i}")
        words = rng.choices(WORDS, k=80)
        body = f"Report {feed}-{i}: " + " ".join(words)
        parts.append(
            f"<item><title>Feed {feed} story {i}: {' '.join(words[:6])}</title>"
            f"<link>https://news{feed % 50}.example/{feed}/{i}?utm_source=rss</link>"
            f"<guid>https://news{feed % 50}.example/{feed}/{i}</guid>"
            f"<pubDate>{format_datetime(base + timedelta(minutes=feed + i))}</pubDate>"
            f"<description>&lt;p&gt;{body}&lt;/p&gt;</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Outlet {feed}</title><link>https://news.example/</link><language>en</language>"
        + "".join(parts)
        + "</channel></rss>"
    ).encode()


def serve(port: int, feeds: int, items: int) -> None:
    """The feed server process: each feed with an ETag, 304 when it is sent back."""
    docs = {f"/feed/{n}.xml": feed_document(n, items) for n in range(feeds)}
    etags = {path: f'"{hashlib.sha1(body).hexdigest()[:16]}"' for path, body in docs.items()}

    async def handle(request: web.Request) -> web.Response:
        body = docs.get(request.path)
        if body is None:
            return web.Response(status=404)
        etag = etags[request.path]
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=body, headers={"ETag": etag, "Content-Type": "application/rss+xml"})

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


class Feeds(WatchedFile[list[FeedConfig]]):
    """A fixed list of feeds (no file to watch)."""

    def __init__(self, feeds: list[FeedConfig]) -> None:
        self.path = Path("-")
        self.current = feeds
        self.problems = []

    def source_of(self, name: str) -> str:
        return "file"  # as the feeds file's are: trusted with their own URLs


async def poll_all(poller: Poller) -> list[RunResult]:
    """Every enabled feed once, now, as the scheduler runs them (leases, the limit of runs at once)."""
    feeds = [f for f in poller.feeds.current if f.enabled]
    return list(await asyncio.gather(*(poller.job(f.name) for f in feeds)))


async def drop_leases(redis: Redis, prefix: str) -> None:
    leases = [k async for k in redis.scan_iter(match=f"{prefix}{{{prefix}feed:*}}:lease", count=1000)]
    if leases:
        await redis.unlink(*leases)


async def one_run(
    redis: Redis, base: str, feeds: int, workers: WorkerPool, per_host: int
) -> dict[str, float]:
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    keys = Keys(prefix)
    configs = [FeedConfig(name=f"f{n}", url=f"{base}/feed/{n}.xml", interval=300) for n in range(feeds)]
    limits = FetchLimits(per_host=per_host, concurrency=per_host, total_timeout=60)
    stories = None if os.environ.get("BENCH_NO_STORIES") else StoryIndex(redis, keys)
    sink = ArticleSink(redis, keys, Trim("none"), 3600, Metrics(), stories)
    out: dict[str, float] = {}
    async with Fetcher.open(limits) as fetcher:
        poller = Poller(
            Feeds(configs), sink, fetcher, FeedStore(redis, keys, "bench"), Metrics(),
            workers=workers,
        )  # fmt: skip
        cpu = await _cpu(redis, workers)
        started = time.perf_counter()
        results = await poll_all(poller)
        out["full_s"] = time.perf_counter() - started
        for name, used in (await _cpu(redis, workers)).items():
            out[f"cpu_{name}"] = used - cpu[name]
        new = sum(r.new for r in results)
        out["articles"] = await redis.xlen(keys.articles)
        out["articles_per_s"] = new / out["full_s"]
        out["errors"] = sum(1 for r in results if r.outcome != "ok")

        await drop_leases(redis, prefix)
        before = await redis.xlen(keys.articles)
        started = time.perf_counter()
        results = await poll_all(poller)
        out["unchanged_s"] = time.perf_counter() - started
        out["not_modified"] = sum(1 for r in results if r.outcome == "not modified")
        out["unchanged_writes"] = await redis.xlen(keys.articles) - before
    await _cleanup(redis, prefix)
    return out


async def sink_run(redis: Redis, feeds: int, items: int) -> dict[str, float]:
    """The sink alone (the push API's path): parsed articles, batches of a feed's size, into the stream."""
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    keys = Keys(prefix)
    sink = ArticleSink(redis, keys, Trim("none"), 3600, Metrics(), StoryIndex(redis, keys))
    batches = [parse_feed(feed_document(n, items), feed_name=f"f{n}", sign=True) for n in range(feeds)]
    slots = asyncio.Semaphore(32)  # as many batches in flight as the poller has runs

    async def add(batch: ParsedFeed) -> None:
        async with slots:
            await sink.add_many(batch.articles, batch.signatures)

    started = time.perf_counter()
    await asyncio.gather(*(add(b) for b in batches))
    elapsed = time.perf_counter() - started
    written = await redis.xlen(keys.articles)
    await _cleanup(redis, prefix)
    return {"s": elapsed, "articles_per_s": written / elapsed}


async def naive_run(redis: Redis, base: str, feeds: int) -> dict[str, float]:
    """One feed at a time: fetch, parse here, then one Redis call per article (the core's first poller)."""
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    keys = Keys(prefix)
    limits = FetchLimits(total_timeout=60)
    sink = ArticleSink(redis, keys, Trim("none"), 3600, Metrics(), StoryIndex(redis, keys))
    started = time.perf_counter()
    new = 0
    async with Fetcher.open(limits) as fetcher:
        for n in range(feeds):
            fetched = await fetcher.fetch_feed(f"{base}/feed/{n}.xml")
            parsed = parse_feed(fetched.body, feed_name=f"f{n}", sign=True)
            for article, sig in zip(parsed.articles, parsed.signatures, strict=True):
                new += not (await sink.add(article, sig)).duplicate
    elapsed = time.perf_counter() - started
    await _cleanup(redis, prefix)
    return {"full_s": elapsed, "articles_per_s": new / elapsed}


async def _cleanup(redis: Redis, prefix: str) -> None:
    batch = []
    async for key in redis.scan_iter(match=f"{prefix}*", count=5000):
        batch.append(key)
        if len(batch) >= 5000:
            await redis.unlink(*batch)
            batch = []
    if batch:
        await redis.unlink(*batch)


def _feedparser_floor(feeds: int, items: int, sample: int = 100) -> float:
    """CPU seconds feedparser alone takes for ``feeds`` documents, from a sample of them."""
    import io

    import feedparser

    docs = [feed_document(n, items) for n in range(min(sample, feeds))]
    started = time.process_time()
    for doc in docs:
        feedparser.parse(io.BytesIO(doc), sanitize_html=False, resolve_relative_uris=False)
    return (time.process_time() - started) / len(docs) * feeds


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


SERVER_PID = 0


async def _cpu(redis: Redis, pool: WorkerPool) -> dict[str, float]:
    """CPU seconds used so far by this process, the parse workers, Redis and the feed server (/proc)."""
    info = await redis.info("cpu")
    workers = getattr(pool.executor, "_processes", {}) or {}
    return {
        "main": time.process_time(),
        "workers": sum(_proc_cpu(pid) for pid in workers),
        "redis": float(info["used_cpu_user"]) + float(info["used_cpu_sys"]),
        "server": _proc_cpu(SERVER_PID) if SERVER_PID else 0.0,
    }


def _warm(_: int) -> int:
    """Import and run the parser once in a worker, and stay busy long enough for the others to get one."""
    from service.ingest.poller import _parse

    _parse(feed_document(0, 2), "warm-up", None)
    time.sleep(0.2)
    return os.getpid()


async def main(args: argparse.Namespace) -> None:
    port = free_port()
    server = multiprocessing.get_context("spawn").Process(
        target=serve, args=(port, args.feeds, args.items), daemon=True
    )
    server.start()
    global SERVER_PID
    SERVER_PID = server.pid or 0
    redis_server = None
    url = os.environ.get("GEOALERT_REDIS_URL")
    tmp = tempfile.TemporaryDirectory()
    if not url:
        redis_server = RedisServer(Path(tmp.name), port=free_port(), appendonly=False)
        redis_server.start()
        url = redis_server.url
    redis = Redis.from_url(url, decode_responses=True)
    base = f"http://127.0.0.1:{port}"
    workers = WorkerPool(args.processes)
    executor = workers.executor
    assert executor is not None
    try:
        await _wait_for(base)
        list(executor.map(_warm, range(args.processes * 3)))  # start the workers before the clock
        floor = _feedparser_floor(args.feeds, args.items)
        runs = [await one_run(redis, base, args.feeds, workers, args.per_host) for _ in range(args.runs)]
        sink_only = [await sink_run(redis, args.feeds, args.items) for _ in range(args.runs)]
        naive = [await naive_run(redis, base, args.feeds) for _ in range(args.naive_runs)]
    finally:
        workers.close()
        await redis.aclose()
        server.terminate()
        if redis_server is not None:
            redis_server.stop()
        tmp.cleanup()

    def median(key: str, rows: list[dict[str, float]]) -> float:
        return statistics.median(r[key] for r in rows)

    print(f"feeds={args.feeds} items/feed={args.items} runs={args.runs} parse processes={args.processes} "
          f"per-host limit={args.per_host} cores={os.cpu_count()}")  # fmt: skip
    print(f"full cycle:      median {median('full_s', runs):6.2f} s   "
          f"{median('articles_per_s', runs):7.0f} articles/s   "
          f"articles in stream {median('articles', runs):.0f}   errors {median('errors', runs):.0f}")  # fmt: skip
    print(f"  CPU seconds in the full cycle: poller process {median('cpu_main', runs):.2f}, "
          f"parse workers {median('cpu_workers', runs):.2f}, Redis {median('cpu_redis', runs):.2f}, "
          f"feed server {median('cpu_server', runs):.2f}")  # fmt: skip
    print(
        f"  for scale: feedparser alone needs {floor:.2f} CPU seconds for these feeds (its own parse, nothing else)"
    )
    print(f"sink alone:      median {median('s', sink_only):6.2f} s   "
          f"{median('articles_per_s', sink_only):7.0f} articles/s   (already parsed: de-dup, stories, append)")  # fmt: skip
    print(f"unchanged cycle: median {median('unchanged_s', runs):6.2f} s   "
          f"304s {median('not_modified', runs):.0f}   stream writes {median('unchanged_writes', runs):.0f}")  # fmt: skip
    if naive:
        print(f"naive baseline:  median {median('full_s', naive):6.2f} s   "
              f"{median('articles_per_s', naive):7.0f} articles/s   (sequential, in-process parse, "
              "one Redis call per article)")  # fmt: skip
    results: dict[str, object] = {
        "feeds": args.feeds,
        "items": args.items,
        "processes": args.processes,
        "full_cycle_s": summary([r["full_s"] for r in runs]),
        "articles_per_s": summary([r["articles_per_s"] for r in runs]),
        "unchanged_cycle_s": summary([r["unchanged_s"] for r in runs]),
        "sink_articles_per_s": summary([r["articles_per_s"] for r in sink_only]),
        "unchanged_stream_writes": max(r["unchanged_writes"] for r in runs),
        "cpu_s": {k: median(f"cpu_{k}", runs) for k in ("main", "workers", "redis", "server")},
        "feedparser_alone_cpu_s": floor,
    }
    if naive:
        results["naive_full_cycle_s"] = summary([r["full_s"] for r in naive])
        results["naive_articles_per_s"] = summary([r["articles_per_s"] for r in naive])
    write_json(args.json, "poll", results)


async def _wait_for(base: str) -> None:
    import aiohttp

    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as client:
        while True:
            try:
                async with client.get(f"{base}/feed/0.xml") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the feed server did not start")
            await asyncio.sleep(0.1)


if __name__ == "__main__":
    p = parser(__doc__ or "")
    p.add_argument("--feeds", type=int, default=1000)
    p.add_argument("--items", type=int, default=20)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--naive-runs", type=int, default=1)
    p.add_argument(
        "--processes",
        type=int,
        default=os.cpu_count() or 2,
        help="parse workers: one per core; more only add switching between them",
    )
    p.add_argument("--per-host", type=int, default=32, help="the one local host stands in for many")
    arguments = p.parse_args()
    if arguments.quick:
        arguments.feeds, arguments.runs, arguments.naive_runs = min(arguments.feeds, 100), 1, 1
    asyncio.run(main(arguments))
