"""Story clustering: the same story from several outlets gets one ``story_id``.

An article joins the story of the most similar earlier article published
within ``window`` seconds of it, when their MinHash similarity reaches
``threshold``; otherwise it starts a story named after itself. The lookup,
the choice and the indexing of the new article are one Lua step (within the
sink's script, sink.py), so of two pollers ingesting two copies at once, the
second always sees the first.

Each story keeps the set of sources that carried it: a later copy from
another outlet counts as one more source (the alert was raised once already).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from redis.asyncio import Redis

from service.ingest.minhash import BINS, ROWS
from service.keys import Keys
from service.lua import Script

# The story step is part of the sink's script (service/lua/ingest_batch.lua),
# which takes this index's settings (``StoryIndex.settings``) as an argument.

# Old entries of a band expire with the band; in a band that stays busy they
# are trimmed by one article in TRIM_EVERY (chosen by its id), which is enough
# to keep it bounded without paying for a trim on every article.
TRIM_EVERY = 16

# Candidates read from each band, newest first, and how many of those sharing
# the most bands are compared in full: bounds an article's cost in Redis however
# much boilerplate it shares with earlier articles.
PER_BAND = 32
COMPARE = 8


@dataclass(frozen=True)
class StoryAssignment:
    story_id: str
    sources: int  # distinct sources that carried the story so far, this one included
    joined: bool  # True when the article joined an earlier story


@dataclass(frozen=True)
class StoryIndex:
    redis: Redis
    keys: Keys
    window: float = 48 * 3600
    threshold: float = 0.3

    @property
    def keep(self) -> int:
        # An entry matters while a later article can fall within the window of it;
        # an hour more covers late arrivals and clock skew.
        return int(self.window) + 3600

    def settings(self) -> dict[str, object]:
        """This index's settings, as the sink's script takes them (see ingest_batch.lua)."""
        return {
            "width": 4 * ROWS,
            "bands": BINS // ROWS,
            "window": round(self.window),
            "threshold": float(self.threshold),
            "keep": self.keep,
            "per_band": PER_BAND,
            "compare": COMPARE,
            "band_prefix": self.keys.story_band_prefix,
            "sig_prefix": self.keys.story_signature(""),
            "sources_prefix": self.keys.story_sources(""),
        }

    async def declared_keys(self, articles: list[tuple[str, str, float]], seen_keys: list[str]) -> list[str]:
        """Every story-index key the ingest script may touch for ``articles`` (id, signature, time).

        Read before the script so that it can declare them, as Redis Cluster wants: the
        articles' own bands, signature and sources keys; the candidates their bands hold now,
        with their stories' sources; the articles that hold one of ``seen_keys``. A candidate
        that appears after this read (another ingester's) is not compared: at worst a story
        copy starts a story of its own.
        """
        width, bands = 4 * ROWS, BINS // ROWS
        declared: dict[str, None] = {}
        windows: list[tuple[str, float]] = []
        for article_id, sig, ts in articles:
            declared[self.keys.story_signature(article_id)] = None
            declared[self.keys.story_sources(article_id)] = None
            if not sig:
                continue
            for b in range(bands):
                value = sig[b * width : (b + 1) * width]
                if "-" not in value:
                    band = self.keys.story_band(b, value)
                    declared[band] = None
                    windows.append((band, ts))
        # one read-only script: thousands of pipelined commands would cost more in the client
        band_keys = [band for band, _ in windows]
        lows = [f"{ts - self.window - 1:.3f}" for _, ts in windows]
        highs = [f"{ts + self.window + 1:.3f}" for _, ts in windows]
        members, held = await Script("story_candidates", self.redis)(
            [*band_keys, *seen_keys], [str(len(band_keys)), str(PER_BAND), *lows, *highs]
        )
        for member in members:
            story, _, article_id = str(member).partition("|")
            declared[self.keys.story_signature(article_id)] = None
            declared[self.keys.story_sources(story)] = None
        for holder in held:
            if holder:
                declared[self.keys.story_signature(str(holder))] = None
                declared[self.keys.story_signature(str(holder).partition("|")[0])] = None
        return list(declared)

    @staticmethod
    def trim(article_id: str) -> bool:
        """Whether ingesting this article also trims old entries from its bands (see TRIM_EVERY)."""
        return zlib.crc32(article_id.encode()) % TRIM_EVERY == 0

    async def sources(self, story_id: str) -> set[str]:
        return {str(m) for m in await self.redis.smembers(self.keys.story_sources(story_id))}
