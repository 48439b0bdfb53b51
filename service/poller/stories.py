"""Story clustering: the same story from several outlets gets one ``story_id``.

An article joins the story of the most similar earlier article published
within ``window`` seconds of it, when their MinHash similarity reaches
``threshold``; otherwise it starts a story named after itself. The lookup,
the choice and the indexing of the new article are one Lua step, so of two
pollers ingesting two copies at once, the second always sees the first.

Each story keeps the set of sources that carried it: a later copy from
another outlet counts as one more source (the alert was raised once already).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.commands.core import AsyncScript

from service.keys import Keys
from service.poller.minhash import bands

# KEYS: exact-duplicate keys (n of them), then the article's band keys.
# ARGV: n, article id, signature, time, window, threshold, source, signature key prefix,
#       sources key prefix, keep seconds, now.
_ASSIGN = """
local n = tonumber(ARGV[1])
for i = 1, n do
  if redis.call('EXISTS', KEYS[i]) == 1 then return {'', 0} end
end
local id, sig, ts = ARGV[2], ARGV[3], tonumber(ARGV[4])
local window, threshold = tonumber(ARGV[5]), tonumber(ARGV[6])
local sig_prefix, sources_prefix = ARGV[8], ARGV[9]
local keep, now = tonumber(ARGV[10]), tonumber(ARGV[11])
local best, best_score = nil, threshold
local seen = {}
for i = n + 1, #KEYS do
  local members = redis.call('ZRANGEBYSCORE', KEYS[i], ts - window, ts + window, 'LIMIT', 0, 64)
  for _, member in ipairs(members) do
    if not seen[member] then
      seen[member] = true
      local sep = string.find(member, '|', 1, true)
      local other = redis.call('GET', sig_prefix .. string.sub(member, sep + 1))
      if other and #other == #sig then
        local same, both = 0, 0
        for b = 1, #sig, 4 do
          local x, y = string.sub(sig, b, b + 3), string.sub(other, b, b + 3)
          if x ~= '----' or y ~= '----' then
            both = both + 1
            if x == y then same = same + 1 end
          end
        end
        local score = both > 0 and same / both or 0
        if score >= best_score and (best == nil or score > best_score) then
          best, best_score = string.sub(member, 1, sep - 1), score
        end
      end
    end
  end
end
local story = best or id
local member = story .. '|' .. id
for i = n + 1, #KEYS do
  redis.call('ZADD', KEYS[i], ts, member)
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - keep)
  redis.call('EXPIRE', KEYS[i], keep)
end
redis.call('SET', sig_prefix .. id, sig, 'EX', keep)
local sources = sources_prefix .. story
redis.call('SADD', sources, ARGV[7])
redis.call('EXPIRE', sources, keep)
return {story, redis.call('SCARD', sources)}
"""


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
        # Entries must outlive the window on both sides of the newest article.
        return int(self.window * 2) + 3600

    def __post_init__(self) -> None:
        object.__setattr__(self, "_script", self.redis.register_script(_ASSIGN))

    async def queue(
        self,
        pipe: Pipeline,
        *,
        article_id: str,
        signature: str,
        published: float,
        source: str,
        exact_keys: list[str],
        now: float,
    ) -> None:
        """Add the assignment of one article to ``pipe``; read its reply with ``reply``."""
        band_keys = [self.keys.story_band(b, v) for b, v in bands(signature)]
        args: list[Any] = [
            len(exact_keys),
            article_id,
            signature,
            f"{published:.3f}",
            f"{self.window:.0f}",
            f"{self.threshold}",
            source,
            self.keys.story_signature(""),
            self.keys.story_sources(""),
            str(self.keep),
            f"{now:.3f}",
        ]
        script: AsyncScript = self._script  # type: ignore[attr-defined]
        await script(keys=[*exact_keys, *band_keys], args=args, client=pipe)

    @staticmethod
    def reply(article_id: str, raw: Any) -> StoryAssignment | None:
        """The assignment, or None when the article was already ingested (nothing was indexed)."""
        story = str(raw[0])
        if not story:
            return None
        return StoryAssignment(story_id=story, sources=int(raw[1]), joined=story != article_id)

    async def sources(self, story_id: str) -> set[str]:
        return {str(m) for m in await self.redis.smembers(self.keys.story_sources(story_id))}
