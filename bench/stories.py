"""Story clustering measured on the dev set: its related articles and synthetic rewrites of each article.

Every article goes through the real sink and story index (Redis, Lua), as
polled articles do. Printed:
- the dev set alone: stories formed, and which related articles were merged;
  "related" pairs are the dev set's articles on one event from several
  outlets (some in other languages), or on neighbouring events of one story line;
- rewrites: for each article, --rewrites copies as other outlets would run them
  (tests/storygen.py); recall = copies that joined their original's story,
  wrong joins = copies that joined another story;
- estimated similarity of rewrites to their originals vs. between unrelated articles;
- wire copy: --wire distinct summit reports written on one agency template
  (tests/storygen.py), then a rewrite of each: wrong joins = distinct reports
  put in another report's story (an alert lost), missed = rewrites that did
  not join their report (a second alert); beside the true Jaccard similarity
  of the reports and what the signatures estimate.

    .venv/bin/python bench/stories.py [--dev eval/dev/articles.yaml] [--rewrites 5] [--wire 150]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from redis.asyncio import Redis  # noqa: E402

from bench.common import parser, write_json  # noqa: E402
from service.embedded_redis import RedisServer, free_port  # noqa: E402
from service.ingest.minhash import _words, signature, similarity  # noqa: E402
from service.ingest.sink import ArticleSink  # noqa: E402
from service.ingest.stories import StoryIndex  # noqa: E402
from service.keys import Keys  # noqa: E402
from service.metrics import Metrics  # noqa: E402
from service.models import Article, stable_id  # noqa: E402
from service.streams import Trim  # noqa: E402
from tests.storygen import rewrite, wire_template_reports  # noqa: E402

# Our reading of the dev set: one event told by outlets in two languages...
SAME_EVENT = [("d007", "d051"), ("d011", "d052"), ("d004", "d056")]
# ...and neighbouring events of one story line (announcement, then the event), which are different stories.
NEIGHBOURS = [("d001", "d002"), ("d003", "d004"), ("d006", "d007"), ("d017", "d053"), ("d018", "d055")]


def as_article(doc: dict[str, Any], *, outlet: str | None = None, seed: int | None = None) -> Article:
    title, body = doc["title"], doc["body"]
    if seed is not None:
        title, body = rewrite(title, body, seed)
    published = doc["published"]
    if isinstance(published, str):
        published = datetime.fromisoformat(published)
    if seed is not None:
        published = published + timedelta(hours=1 + seed)
    return Article(
        id=stable_id("bench", doc["id"], str(seed)),
        title=title,
        body=body,
        source=outlet or doc["source"],
        published=published,
        language=doc.get("language"),
    )


async def run(docs: list[dict[str, Any]], redis: Redis, rewrites: int) -> dict[str, Any]:
    keys = Keys(f"bench:{uuid.uuid4().hex[:8]}:")
    # The dev set spans years: a window of a century puts every pair within reach, so only similarity decides.
    sink = ArticleSink(
        redis, keys, Trim("none"), 3600, Metrics(), StoryIndex(redis, keys, window=100 * 365 * 86400)
    )
    originals = {d["id"]: as_article(d) for d in docs}
    started = time.perf_counter()
    results = {d["id"]: await sink.add(originals[d["id"]]) for d in docs}
    story_of = {k: r.story_id for k, r in results.items()}
    stories = len(set(story_of.values()))
    print(f"dev set: {len(docs)} articles -> {stories} stories")
    for a, b in SAME_EVENT + NEIGHBOURS:
        if a in story_of and b in story_of:
            kind = "same event" if (a, b) in SAME_EVENT else "neighbours"
            sim = similarity(signature(originals[a].title, originals[a].body) or "",
                             signature(originals[b].title, originals[b].body) or "")  # fmt: skip
            merged = "merged" if story_of[a] == story_of[b] else "apart"
            print(f"  {a} / {b} ({kind}): {merged}, estimated similarity {sim:.2f}")

    joined = wrong = total = duplicates = 0
    copy_sims: list[float] = []
    for doc in docs:
        for seed in range(rewrites):
            copy = as_article(doc, outlet=f"outlet{seed}", seed=seed)
            result = await sink.add(copy)
            if result.duplicate:  # a rewrite that came out word for word like an earlier one
                duplicates += 1
                continue
            total += 1
            joined += result.story_id == story_of[doc["id"]]
            wrong += result.story_id not in (story_of[doc["id"]], copy.id)
            a, b = (
                signature(copy.title, copy.body),
                signature(originals[doc["id"]].title, originals[doc["id"]].body),
            )
            copy_sims.append(similarity(a or "", b or ""))
    elapsed = time.perf_counter() - started
    sigs = [signature(a.title, a.body) or "" for a in originals.values()]
    unrelated = [similarity(x, y) for x, y in itertools.combinations(sigs, 2)]
    print(f"rewrites: {total} copies (and {duplicates} exact duplicates, dropped as such); "
          f"recall {joined / total:.3f} ({joined}/{total}); wrong joins {wrong}")  # fmt: skip
    print(
        f"similarity of a rewrite to its original: min {min(copy_sims):.2f}, median {statistics.median(copy_sims):.2f}"
    )
    print(f"similarity between different dev articles: median {statistics.median(unrelated):.2f}, "
          f"max {max(unrelated):.2f}")  # fmt: skip
    per_article_ms = elapsed / (len(docs) + total) * 1000
    print(f"time: {per_article_ms:.2f} ms per article through the sink (one at a time)")
    return {
        "articles": len(docs),
        "stories": stories,
        "related_merged": {f"{a}/{b}": story_of[a] == story_of[b] for a, b in SAME_EVENT + NEIGHBOURS},
        "rewrites": total,
        "rewrite_duplicates": duplicates,
        "recall": joined / total,
        "wrong_joins": wrong,
        "rewrite_similarity_min": min(copy_sims),
        "rewrite_similarity_median": statistics.median(copy_sims),
        "unrelated_similarity_max": max(unrelated),
        "ms_per_article": per_article_ms,
    }


def _shingles(title: str, body: str) -> set[tuple[bytes, ...]]:
    words = _words(title, body)
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


async def wire(redis: Redis, reports: int, seeds: int = 3) -> dict[str, Any]:
    """Distinct events on one template must stay apart; rewrites of them must join."""
    wrong = missed = total = 0
    true_max = estimated_max = 0.0
    for seed in range(seeds):
        keys = Keys(f"bench:{uuid.uuid4().hex[:8]}:")
        sink = ArticleSink(redis, keys, Trim("none"), 3600, Metrics(), StoryIndex(redis, keys))
        texts = wire_template_reports(reports, seed=seed)
        shingles = [_shingles(t, b) for t, b in texts]
        sigs = [signature(t, b) or "" for t, b in texts]
        pairs = list(itertools.combinations(range(reports), 2))
        true_max = max(
            true_max, *(len(shingles[i] & shingles[j]) / len(shingles[i] | shingles[j]) for i, j in pairs)
        )
        estimated_max = max(estimated_max, *(similarity(sigs[i], sigs[j]) for i, j in pairs))
        ids = []
        for n, (title, body) in enumerate(texts):
            article = Article(
                id=stable_id("wire", str(seed), str(n)), title=title, body=body, source=f"wire{n}"
            )
            result = await sink.add(article)
            wrong += result.story_id != article.id
            ids.append(article.id)
        for n, (title, body) in enumerate(texts):
            title, body = rewrite(title, body, seed * 1000 + n)
            copy = Article(
                id=stable_id("wire-copy", str(seed), str(n)), title=title, body=body, source="outlet"
            )
            result = await sink.add(copy)
            missed += result.story_id != ids[n]
        total += reports
        await _cleanup(redis, keys)
    print(
        f"wire copy: {total} distinct reports on one template ({seeds} sets of {reports}): "
        f"wrong joins {wrong} ({wrong / total:.1%}); their rewrites: missed {missed} ({missed / total:.1%})"
    )
    print(
        f"  pairs of distinct reports: true similarity max {true_max:.2f}, estimated max {estimated_max:.2f}"
    )
    return {
        "wire_reports": total,
        "wire_wrong_joins": wrong,
        "wire_rewrites_missed": missed,
        "wire_true_similarity_max": true_max,
        "wire_estimated_similarity_max": estimated_max,
    }


async def _cleanup(redis: Redis, keys: Keys) -> None:
    found = [k async for k in redis.scan_iter(match=f"{keys.prefix}*", count=1000)]
    for start in range(0, len(found), 1000):
        await redis.unlink(*found[start : start + 1000])


async def main(args: argparse.Namespace, docs: list[dict[str, Any]]) -> None:
    url = os.environ.get("GEOALERT_REDIS_URL")
    with tempfile.TemporaryDirectory() as tmp:
        server = None
        if not url:
            server = RedisServer(Path(tmp), port=free_port(), appendonly=False)
            server.start()
            url = server.url
        redis = Redis.from_url(url, decode_responses=True)
        try:
            results = await run(docs, redis, args.rewrites)
            results |= await wire(redis, args.wire, seeds=1 if args.quick else 3)
            write_json(args.json, "stories", results)
        finally:
            await redis.aclose()
            if server is not None:
                server.stop()


if __name__ == "__main__":
    p = parser(__doc__ or "")
    p.add_argument("--dev", default=str(ROOT / "eval/dev/articles.yaml"))
    p.add_argument("--rewrites", type=int, default=5)
    p.add_argument("--wire", type=int, default=150, help="distinct reports on one wire template, per set")
    arguments = p.parse_args()
    if arguments.quick:
        arguments.rewrites = 1
    asyncio.run(main(arguments, yaml.safe_load(Path(arguments.dev).read_text(encoding="utf-8"))))
