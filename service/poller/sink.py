"""Where normalised articles go: exact de-duplication, story clustering, the articles stream.

Polled and pushed articles take the same path. For a batch, two pipelined
round trips: first each article's story (skipped for exact duplicates), then
one atomic "mark every identity seen and append" per article, so the same
article, under any of its identities, is appended once fleet-wide.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from service.keys import Keys
from service.metrics import Metrics
from service.models import Article
from service.poller.minhash import signature
from service.poller.normalise import IdentityKind, identity_keys
from service.poller.stories import StoryAssignment, StoryIndex
from service.streams import PUBLISH_UNIQUE_SCRIPT, Trim, publish_unique_args, published_from_reply


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
    ) -> None:
        self.redis, self.keys, self.trim, self.dedupe_ttl = redis, keys, trim, dedupe_ttl
        self.metrics = metrics
        self.stories = stories
        self._publish = redis.register_script(PUBLISH_UNIQUE_SCRIPT)

    def _exact_keys(self, article: Article) -> tuple[list[IdentityKind], list[str]]:
        """The kinds of the article's identities (id, url, content) and their Redis keys."""
        key_of = {"id": self.keys.seen_article, "url": self.keys.seen_url, "content": self.keys.seen_content}
        identities = identity_keys(article)
        return list(identities), [key_of[kind](value) for kind, value in identities.items()]

    async def unseen(self, articles: Sequence[Article]) -> list[bool]:
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
        if not articles:
            return []
        if signatures is None:
            signatures = [signature(a.title, a.body) for a in articles]
        exact = [self._exact_keys(a) for a in articles]
        stories = await self._assign_stories(articles, signatures, [k for _, k in exact])
        async with self.redis.pipeline(transaction=False) as pipe:
            for article, (_, keys), story in zip(articles, exact, stories, strict=True):
                if story is not None:
                    article = article.model_copy(update={"story_id": story.story_id})
                publish_keys, args = publish_unique_args(
                    self.keys.articles,
                    {"data": article.model_dump_json()},
                    self.trim,
                    dedupe_keys=keys,
                    ttl_seconds=self.dedupe_ttl,
                    marker=article.id,
                )
                await self._publish(keys=publish_keys, args=args, client=pipe)
            replies = await pipe.execute()
        out = []
        for article, (kinds, keys), story, reply in zip(articles, exact, stories, replies, strict=True):
            published = published_from_reply(reply, keys)
            origin = article.feed or "push"
            if published.entry_id is None:
                self.metrics.articles_duplicate.labels(origin).inc()
                by = kinds[keys.index(published.duplicate_key)] if published.duplicate_key in keys else None
                out.append(Ingested(article.id, None, duplicate_of=published.duplicate_of, duplicate_by=by))
                continue
            self.metrics.articles_ingested.labels(origin).inc()
            if story is not None and story.joined:
                self.metrics.story_copies.inc()
            out.append(
                Ingested(
                    article.id,
                    published.entry_id,
                    story_id=story.story_id if story else None,
                    story_sources=story.sources if story else 0,
                )
            )
        return out

    async def _assign_stories(
        self, articles: Sequence[Article], signatures: Sequence[str | None], exact: list[list[str]]
    ) -> list[StoryAssignment | None]:
        if self.stories is None or not any(signatures):
            return [None] * len(articles)
        now = time.time()
        queued: list[int] = []
        async with self.redis.pipeline(transaction=False) as pipe:
            for i, (article, sig) in enumerate(zip(articles, signatures, strict=True)):
                if sig is None:
                    continue
                when = article.published.timestamp() if article.published else now
                await self.stories.queue(
                    pipe,
                    article_id=article.id,
                    signature=sig,
                    published=min(when, now),
                    source=article.source or article.feed or "unknown",
                    exact_keys=exact[i],
                    now=now,
                )
                queued.append(i)
            replies = await pipe.execute()
        out: list[StoryAssignment | None] = [None] * len(articles)
        for i, raw in zip(queued, replies, strict=True):
            out[i] = StoryIndex.reply(articles[i].id, raw)
        return out
