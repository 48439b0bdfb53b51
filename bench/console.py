"""The console's timings in a real browser: first load of each page, the alerts timeline over
10,000 stored alerts, and a rule backtest over 100,000 stored articles.

    python bench/console.py [--alerts 10000] [--articles 100000] [--runs 5] [--json FILE]

A real service (the api role, as ``geoalert run --role api``) runs against its own
redis-server; Debian's Chromium (/usr/bin/chromium), driven by Playwright, loads the pages.

- First load: from navigation to the page's content on screen (the timeline's first rows, the
  rules table, the feeds table, the health figures), in a fresh browser context each run (no
  cache, no cookies).
- Timeline: with 10,000 alerts stored, the first page of rows, then a filter by rule, then the
  next page ("Older alerts"). Baseline: fetching every stored alert over the API in one go and
  rendering one row each, what a page without paging would do.
- Backtest: ``POST /v1/rules/backtest`` of an edited ``arms_deal`` over every stored article
  (what the rule editor's Backtest button runs): time to the first progress line and to the
  result. Baseline: the same rule matched over the same articles in one loop in this process.
Figures are medians of ``--runs`` runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from redis.asyncio import Redis  # noqa: E402

from bench.common import parser, write_json  # noqa: E402
from bench.corpus import generate  # noqa: E402
from service.embedded_redis import RedisServer, free_port  # noqa: E402
from service.keys import Keys  # noqa: E402
from service.matching import load_rules  # noqa: E402
from service.models import Alert, Article, utcnow  # noqa: E402
from tests.processes import geoalert, service_env  # noqa: E402

CHROMIUM = Path(os.environ.get("GEOALERT_CHROMIUM", "/usr/bin/chromium"))
CHUNK = 2_000
PREFIX = "bench-console:"
PAGES = {
    "/": "#timeline li",
    "/rules": "table tbody tr",
    "/feeds": "table",
    "/health": "main",
}


async def seed(url: str, alerts: int, articles: int) -> None:
    """``articles`` articles in the stream, of which enough events to raise ``alerts`` alerts."""
    keys = Keys(PREFIX)
    rules = load_rules(ROOT / "rules")
    now = utcnow()
    redis = Redis.from_url(url)
    raised = 0
    try:
        events = generate(articles, event_share=min(1.0, alerts / max(articles, 1) * 1.2), run="console")
        for start in range(0, len(events), CHUNK):
            batch = [
                Article(id=g.id, title=g.title, body=g.body, published=now, source="bench")
                for g in events[start : start + CHUNK]
            ]
            async with redis.pipeline(transaction=False) as pipe:
                for article in batch:
                    pipe.xadd(keys.articles, {"data": article.model_dump_json()})
                entry_ids = await pipe.execute()
            async with redis.pipeline(transaction=False) as pipe:
                for article, entry_id in zip(batch, entry_ids, strict=True):
                    if raised >= alerts:
                        break
                    for match in rules.match(article):
                        alert = Alert.from_match(article, match)
                        fields = {"data": alert.model_dump_json(), "rule": alert.rule.id}
                        pipe.xadd(keys.alerts, {**fields, "article_entry": entry_id})
                        raised += 1
                await pipe.execute()
    finally:
        await redis.aclose()
    print(f"seeded {articles:,} articles and {raised:,} alerts", flush=True)


def first_loads(browser: Any, base: str, runs: int) -> dict[str, float]:
    """Median ms from navigation to each page's content on screen, in fresh contexts."""
    out: dict[str, float] = {}
    for path, ready in PAGES.items():
        times = []
        for _ in range(runs):
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            page = context.new_page()
            started = time.perf_counter()
            page.goto(base + path)
            page.wait_for_selector(ready, state="attached", timeout=30_000)
            times.append((time.perf_counter() - started) * 1000)
            context.close()
        out[path] = statistics.median(times)
    return out


def timeline(browser: Any, base: str, runs: int) -> dict[str, float]:
    first, filtered, older, naive = [], [], [], []
    for _ in range(runs):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        started = time.perf_counter()
        page.goto(base + "/")
        page.wait_for_selector("#timeline li", timeout=30_000)
        first.append((time.perf_counter() - started) * 1000)
        rows = page.locator("#timeline li").count()
        page.wait_for_selector("#f-rule option[value='arms_deal']", state="attached", timeout=30_000)
        page.evaluate("() => { delete document.body.dataset.loaded; }")
        started = time.perf_counter()
        page.select_option("#f-rule", "arms_deal")
        page.wait_for_selector("body[data-loaded=true] #timeline li", timeout=30_000)
        filtered.append((time.perf_counter() - started) * 1000)
        more = page.locator("#more")
        if more.is_visible():
            before = page.locator("#timeline li").count()
            started = time.perf_counter()
            more.click()
            page.wait_for_function(
                f"() => document.querySelectorAll('#timeline li').length > {before}", timeout=30_000
            )
            older.append((time.perf_counter() - started) * 1000)
        # Baseline: every alert fetched (at the largest page the API gives) and shown, one row each.
        started = time.perf_counter()
        page.evaluate(
            """async () => {
                const list = document.createElement('ol');
                let cursor = null, n = 0;
                do {
                    const q = new URLSearchParams({limit: '200'});
                    if (cursor) q.set('cursor', cursor);
                    const r = await fetch('/v1/alerts?' + q);
                    const page = await r.json();
                    for (const a of page.items) {
                        const li = document.createElement('li');
                        li.textContent = a.rule.id + ' ' + a.article.title;
                        list.appendChild(li); n++;
                    }
                    cursor = page.next_cursor;
                } while (cursor);
                document.body.appendChild(list);
                return n;
            }"""
        )
        naive.append((time.perf_counter() - started) * 1000)
        context.close()
    return {
        "first_rows_ms": statistics.median(first),
        "rows_shown": rows,
        "filter_by_rule_ms": statistics.median(filtered),
        "older_page_ms": statistics.median(older) if older else float("nan"),
        "naive_all_alerts_ms": statistics.median(naive),
    }


def backtest(base: str, runs: int) -> dict[str, float]:
    source = (ROOT / "rules" / "arms_deal.yaml").read_text()
    edit = source.replace("severity: high", "severity: critical", 1)
    body = ('{"rule": "arms_deal", "yaml": ' + _json(edit) + "}").encode()
    firsts, totals, lines = [], [], []
    result: dict[str, Any] = {}
    for _ in range(runs):
        request = urllib.request.Request(
            base + "/v1/rules/backtest", data=body, headers={"Content-Type": "application/json"}
        )
        started = time.perf_counter()
        first = None
        count = 0
        with urllib.request.urlopen(request, timeout=600) as response:
            for line in response:
                count += 1
                if first is None:
                    first = time.perf_counter() - started
                last = line
        totals.append(time.perf_counter() - started)
        firsts.append(first or 0.0)
        lines.append(count)
        result = json.loads(last)
    return {
        "first_progress_s": statistics.median(firsts),
        "total_s": statistics.median(totals),
        "progress_lines": statistics.median(lines),
        "articles": float(result.get("scanned", 0)),
        "added": float(result.get("added_count", 0)),
    }


def naive_backtest(url: str) -> float:
    """Without the backtest: every stored article read and matched against the whole library
    twice (rules as saved, rules as edited) in one loop, and the alerts compared."""

    async def run() -> float:
        redis = Redis.from_url(url)
        started = time.perf_counter()
        library, edited = load_rules(ROOT / "rules"), load_rules(ROOT / "rules")
        low = "-"
        try:
            while batch := await redis.xrange(Keys(PREFIX).articles, min=low, count=CHUNK):
                for _, fields in batch:
                    article = Article.model_validate_json(fields[b"data"])
                    before = {m.rule for m in library.match(article)}
                    after = {m.rule for m in edited.match(article)}
                    before ^= after
                low = "(" + batch[-1][0].decode()
        finally:
            await redis.aclose()
        return time.perf_counter() - started

    return asyncio.run(run())


def _json(text: str) -> str:
    return json.dumps(text)


def main() -> None:
    p = parser(__doc__.split("\n\n")[0])
    p.add_argument("--alerts", type=int, default=10_000)
    p.add_argument("--articles", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    if args.quick:
        args.alerts, args.articles, args.runs = 1_000, 5_000, 2
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as scratch:
        server = RedisServer(Path(scratch) / "redis", port=free_port(), appendonly=False)
        server.start()
        try:
            asyncio.run(seed(server.url, args.alerts, args.articles))
            results = asyncio.run(_measure(server.url, Path(scratch), args, sync_playwright))
        finally:
            server.stop()
    print_report(results)
    write_json(args.json, "console", results)


async def _measure(url: str, scratch: Path, args: Any, sync_playwright: Any) -> dict[str, Any]:
    env = service_env(scratch, redis_url=url, key_prefix=PREFIX)
    async with geoalert("run", "--role", "api", env=env, cwd=ROOT):
        base = f"http://127.0.0.1:{env['GEOALERT_HTTP_PORT']}"
        await asyncio.to_thread(_wait_for, base + "/healthz")
        return await asyncio.to_thread(_browse, base, url, args, sync_playwright)


def _wait_for(url: str) -> None:
    for _ in range(300):
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the service did not answer at {url}")


def _browse(base: str, url: str, args: Any, sync_playwright: Any) -> dict[str, Any]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox"]
        )
        try:
            loads = first_loads(browser, base, args.runs)
            line = timeline(browser, base, args.runs)
        finally:
            browser.close()
    tested = backtest(base, max(1, args.runs // 2))
    tested["naive_s"] = naive_backtest(url)
    return {
        "alerts": args.alerts,
        "articles": args.articles,
        "first_load_ms": loads,
        "timeline": line,
        "backtest": tested,
    }


def print_report(results: dict[str, Any]) -> None:
    print(f"\nfirst load (median ms, fresh context, {results['alerts']:,} alerts stored):")
    for path, ms in results["first_load_ms"].items():
        print(f"  {path:10} {ms:8.0f}")
    t = results["timeline"]
    print(f"timeline over {results['alerts']:,} alerts:")
    print(f"  first {t['rows_shown']} rows        {t['first_rows_ms']:8.0f} ms")
    print(f"  filter by rule        {t['filter_by_rule_ms']:8.0f} ms")
    print(f"  next page             {t['older_page_ms']:8.0f} ms")
    print(
        f"  naive: all alerts     {t['naive_all_alerts_ms']:8.0f} ms "
        f"({t['naive_all_alerts_ms'] / t['first_rows_ms']:.1f}x the first rows)"
    )
    b = results["backtest"]
    print(f"backtest of one edited rule over {b['articles']:,.0f} stored articles:")
    print(f"  first progress line   {b['first_progress_s']:8.2f} s")
    print(f"  result                {b['total_s']:8.2f} s ({b['progress_lines']:.0f} progress lines)")
    print(f"  naive one-loop match  {b['naive_s']:8.2f} s ({b['naive_s'] / b['total_s']:.1f}x)")


if __name__ == "__main__":
    main()
