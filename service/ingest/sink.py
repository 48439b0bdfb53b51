"""Where normalised articles go: exact de-duplication, story clustering, the articles stream.

Polled and pushed articles take the same path. A batch (a feed's articles)
is one script call: for each article in turn, if any of its identities (id,
URL, text) was seen it is a duplicate and nothing is written; otherwise it
joins or starts a story, its identities are marked seen and it is appended,
all in one atomic step, so the same article under any of its identities is
appended once fleet-wide, and of two copies of a story the second always
sees the first.

One call (service/lua/ingest_batch.lua) rather than a command per key:
Redis spends its time on commands and round trips, not on the work in them,
and so does redis-py building them in the poller's event loop. The batch
travels as one JSON argument.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from service.durability import NO_WAIT, Durability
from service.ingest.normalise import IdentityKind
from service.ingest.prepared import STORY_SLOT, Prepared, prepare
from service.ingest.stories import StoryIndex
from service.keys import Keys
from service.lua import Script, run_pipeline
from service.metrics import Metrics
from service.models import Article
from service.streams import Trim

# Articles per script call: a feed's worth at once, while a script that runs
# for long would hold up every other client of Redis.
BATCH = 100


@dataclass(frozen=True)
class Ingested:
    """What became of one article."""

    article_id: str
    entry_id: str | None  # the articles stream entry; None for a duplicate
    duplicate_of: str | None = None  # the article already ingested under the same identity
    duplicate_by: IdentityKind | None = None  # which identity matched
    story_id: str | None = None
    story_sources: int = 0

    @property
    def duplicate(self) -> bool:
        return self.entry_id is None


class ArticleSink:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        trim: Trim,
        dedupe_ttl: int,
        metrics: Metrics,
        stories: StoryIndex | None = None,
        durability: Durability = NO_WAIT,
    ) -> None:
        self.redis, self.keys, self.trim, self.dedupe_ttl = redis, keys, trim, dedupe_ttl
        self.metrics = metrics
        self.stories = stories
        settings: dict[str, object] = {"stories": stories is not None, "slot": STORY_SLOT}
        if stories is not None:
            settings.update(stories.settings())
        self._settings = json.dumps(settings, separators=(",", ":"))
        self._script = Script("ingest_batch", redis)
        self.durability = durability

    async def unseen(self, articles: Sequence[Article | Prepared]) -> list[bool]:
        """For each article, whether its id is not yet ingested (a cheap look before costly work)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for article in articles:
                pipe.exists(self.keys.seen_article(article.id))
            found = await pipe.execute()
        return [not f for f in found]

    async def add(self, article: Article, signature_: str | None = None) -> Ingested:
        return (await self.add_many([article], None if signature_ is None else [signature_]))[0]

    async def add_many(
        self, articles: Sequence[Article], signatures: Sequence[str | None] | None = None
    ) -> list[Ingested]:
        """Ingest a batch; ``signatures`` (MinHash, see minhash.py) are computed here when not given."""
        return await self.add_prepared(prepare(articles, signatures))

    async def add_prepared(self, articles: Sequence[Prepared]) -> list[Ingested]:
        """Ingest a batch of articles prepared where they were parsed (prepared.py)."""
        out: list[Ingested] = []
        for start in range(0, len(articles), BATCH):
            out += await self._add(articles[start : start + BATCH])
        return out

    async def _add(self, articles: Sequence[Prepared]) -> list[Ingested]:
        if not articles:
            return []
        now = time.time()
        batch = []
        seen_keys = []
        for a in articles:
            identities = [self.keys.seen_article(a.id)]
            if a.url:
                identities.append(self.keys.seen_url(a.url))
            if a.content:
                identities.append(self.keys.seen_content(a.content))
            seen_keys += identities
            batch.append(
                [
                    a.id,
                    a.data,
                    len(identities),
                    a.signature,
                    f"{now if a.published is None else min(a.published, now):.3f}",
                    a.source,
                    "1" if StoryIndex.trim(a.id) else "0",
                    a.story,
                    2 if a.url else 0,  # which of its identities is the URL: checked, not trusted
                    a.title,
                ]
            )
        keys = [self.keys.articles, *seen_keys]
        if self.stories is not None:
            times = [(a.id, a.signature, float(str(row[4]))) for a, row in zip(articles, batch, strict=True)]
            keys += await self.stories.declared_keys(times, seen_keys)
        args = [
            self._settings,
            json.dumps(batch, ensure_ascii=False, separators=(",", ":")),
            f"{now:.3f}",
            str(self.dedupe_ttl),
            *self.trim.xadd_args(),
        ]
        if self.durability.waits:
            # Acknowledged (a feed marked read, a push answered) only once replicas have it.
            (replies,) = await run_pipeline(
                self.redis,
                lambda pipe: self._script.queue(pipe, keys, args),
                [self._script],
                durable=(self.durability, self.keys.articles),
            )
        else:
            replies = await self._script(keys, args)
        out = []
        ingested: Counter[str] = Counter()
        duplicates: Counter[str] = Counter()
        copies = 0
        for article, reply in zip(articles, replies, strict=True):
            if int(reply[0]) == 0:
                duplicates[article.origin] += 1
                kind = article.identities[int(reply[1]) - 1]
                out.append(Ingested(article.id, None, duplicate_of=str(reply[2]), duplicate_by=kind))
                continue
            ingested[article.origin] += 1
            story = str(reply[2]) or None
            copies += story is not None and story != article.id
            out.append(Ingested(article.id, str(reply[1]), story_id=story, story_sources=int(reply[3])))
        # Counted per batch: a labelled counter costs a lookup and a lock per call.
        for origin, n in ingested.items():
            self.metrics.articles_ingested.labels(origin).inc(n)
        for origin, n in duplicates.items():
            self.metrics.articles_duplicate.labels(origin).inc(n)
        if copies:
            self.metrics.story_copies.inc(copies)
        return out
