"""Where normalised articles go: exact de-duplication, story clustering, the articles stream.

Polled and pushed articles take the same path. A batch (a feed's articles)
is one script call: for each article in turn, if any of its identities (id,
URL, text) was seen it is a duplicate and nothing is written; otherwise it
joins or starts a story, its identities are marked seen and it is appended,
all in one atomic step, so the same article under any of its identities is
appended once fleet-wide, and of two copies of a story the second always
sees the first.

One call rather than a command per key: Redis spends its time on commands
and round trips, not on the work in them, and so does redis-py building
them in the poller's event loop. The batch travels as one JSON argument.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from service.ingest.normalise import IdentityKind
from service.ingest.prepared import STORY_SLOT, Prepared, prepare
from service.ingest.stories import StoryIndex
from service.keys import Keys
from service.metrics import Metrics
from service.models import Article
from service.streams import Trim

# KEYS[1]: the articles stream. ARGV[1]: the batch, a JSON array of articles,
# each [id, data, url digest, content digest, signature, published, source,
# trim, own story] (see Prepared; "" for what an article lacks); ARGV[2]: now;
# ARGV[3]: how long identities stay seen; ARGV[4...]: XADD's trimming clause.
# Returns, per article, {1, entry id, story, sources} or, for a duplicate,
# {0, which identity (1-based), the article that holds it}.
# The seen keys are built from prefixes (as the story keys are, stories.py).
_BATCH = """
local batch = cjson.decode(ARGV[1])
local now, ttl = tonumber(ARGV[2]), ARGV[3]
local xadd = {KEYS[1]}
for i = 4, #ARGV do xadd[#xadd + 1] = ARGV[i] end
xadd[#xadd + 1] = '*'
xadd[#xadd + 1] = 'data'
local data_at = #xadd + 1
local out = {}
for n, a in ipairs(batch) do
  local id, data, sig = a[1], a[2], a[5]
  local seen = {SEEN_ARTICLE .. id}
  if a[3] ~= '' then seen[#seen + 1] = SEEN_URL .. a[3] end
  if a[4] ~= '' then seen[#seen + 1] = SEEN_CONTENT .. a[4] end
  local duplicate = nil
  local held = redis.call('MGET', unpack(seen))
  for i = 1, #seen do
    if held[i] then
      duplicate = {0, i, held[i]}
      break
    end
  end
  if duplicate then
    out[n] = duplicate
  else
    local story, sources = '', 0
    if STORIES and sig ~= '' then
      story, sources = assign(id, sig, a[6], a[7], now, a[8])
    end
    for _, key in ipairs(seen) do redis.call('SET', key, id, 'EX', ttl) end
    local entry_story = story ~= '' and story or a[9]
    if entry_story ~= '' then
      local at = string.find(data, SLOT, 1, true)
      data = string.sub(data, 1, at - 1) .. '"story_id":' .. cjson.encode(entry_story) .. string.sub(data, at + #SLOT)
    end
    xadd[data_at] = data
    out[n] = {1, redis.call('XADD', unpack(xadd)), story, sources}
  end
end
return out
"""

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
    ) -> None:
        self.redis, self.keys, self.trim, self.dedupe_ttl = redis, keys, trim, dedupe_ttl
        self.metrics = metrics
        self.stories = stories
        constants = {
            "STORIES": "true" if stories else "false",
            "SLOT": json.dumps(STORY_SLOT),
            # JSON strings are valid Lua string literals for these plain prefixes.
            "SEEN_ARTICLE": json.dumps(keys.seen_article("")),
            "SEEN_URL": json.dumps(keys.seen_url("")),
            "SEEN_CONTENT": json.dumps(keys.seen_content("")),
        }
        header = "".join(f"local {name} = {value}\n" for name, value in constants.items())
        self._script = redis.register_script(header + (stories.lua() if stories else "") + _BATCH)

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
        batch = [
            [
                a.id,
                a.data,
                a.url,
                a.content,
                a.signature,
                f"{now if a.published is None else min(a.published, now):.3f}",
                a.source,
                "1" if StoryIndex.trim(a.id) else "0",
                a.story,
            ]
            for a in articles
        ]
        replies = await self._script(
            keys=[self.keys.articles],
            args=[
                json.dumps(batch, ensure_ascii=False, separators=(",", ":")),
                f"{now:.3f}",
                str(self.dedupe_ttl),
                *self.trim.xadd_args(),
            ],
        )
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
