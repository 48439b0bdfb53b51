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

import json
import zlib
from dataclasses import dataclass

from redis.asyncio import Redis

from service.ingest.minhash import BINS, ROWS
from service.keys import Keys

# The story step of the sink's script (sink.py), as a Lua function it calls
# for each new article: look up the candidates that share a band, pick the
# most similar, index the article. Keys are built here from prefixes, so that
# a call carries a few short values rather than dozens of keys; this assumes
# one Redis, not a cluster. The settings are written into the script (see
# StoryIndex.lua) for the same reason.
# Arguments: article id, signature, publication time (a decimal string), source,
# now (a number), trim ('1' or '0'). Returns the story and how many sources
# carried it so far.
# Every number passed to redis.call is a string made once: Redis formats each
# Lua number it is given, and that costs more than the command itself. The
# bounds use %.17g, which gives back the very same double.
_ASSIGN = """
local BAND_PREFIXES = {}
for b = 0, BANDS - 1 do BAND_PREFIXES[b] = BAND_PREFIX .. b .. ':' end
local KEEP_S = tostring(KEEP)
local function assign(id, sig, ts, source, now, trim)
  local bands = {}
  for b = 0, #sig / WIDTH - 1 do
    local value = string.sub(sig, b * WIDTH + 1, (b + 1) * WIDTH)
    if not string.find(value, '-', 1, true) then
      bands[#bands + 1] = BAND_PREFIXES[b] .. value
    end
  end
  local at = tonumber(ts)
  local from, to = string.format('%.17g', at - WINDOW), string.format('%.17g', at + WINDOW)
  local best, best_score = nil, THRESHOLD
  -- Most articles start a story: none of their bands exists yet, which one
  -- EXISTS tells for all of them, sparing a lookup per band.
  local lookup = #bands > 0 and redis.call('EXISTS', unpack(bands)) > 0 and bands or {}
  -- Count the bands each candidate shares (newest first in each band), then
  -- compare signatures with the few that share the most: a copy of the story
  -- shares several bands, while text that only shares boilerplate with many
  -- articles shares one, and comparing with all of those would cost
  -- milliseconds of Redis time per article.
  local shared, order = {}, {}
  for _, band in ipairs(lookup) do
    local members = redis.call('ZREVRANGEBYSCORE', band, to, from, 'LIMIT', '0', PER_BAND)
    for _, member in ipairs(members) do
      local n = shared[member]
      if n then
        shared[member] = n + 1
      else
        shared[member] = 1
        order[#order + 1] = member
      end
    end
  end
  table.sort(order, function(a, b)
    local x, y = shared[a], shared[b]
    if x ~= y then return x > y end
    return a > b
  end)
  for i = 1, math.min(#order, COMPARE) do
    local member = order[i]
    local sep = string.find(member, '|', 1, true)
    local other = redis.call('GET', SIG_PREFIX .. string.sub(member, sep + 1))
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
  local story = best or id
  local member = story .. '|' .. id
  local oldest = trim == '1' and string.format('%.17g', now - KEEP)
  for _, band in ipairs(bands) do
    redis.call('ZADD', band, ts, member)
    redis.call('EXPIRE', band, KEEP_S)
    if oldest then redis.call('ZREMRANGEBYSCORE', band, '-inf', oldest) end
  end
  redis.call('SET', SIG_PREFIX .. id, sig, 'EX', KEEP_S)
  local sources = SOURCES_PREFIX .. story
  redis.call('SADD', sources, source)
  redis.call('EXPIRE', sources, KEEP_S)
  return story, redis.call('SCARD', sources)
end
"""

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

    def lua(self) -> str:
        """The Lua function ``assign`` with this index's settings, for the sink's script."""
        constants = {
            "WIDTH": str(4 * ROWS),
            "BANDS": str(BINS // ROWS),
            "WINDOW": f"{self.window:.0f}",
            "THRESHOLD": repr(float(self.threshold)),
            "KEEP": str(self.keep),
            "PER_BAND": f"'{PER_BAND}'",
            "COMPARE": str(COMPARE),
            # JSON strings are valid Lua string literals for these plain prefixes.
            "BAND_PREFIX": json.dumps(self.keys.story_band_prefix),
            "SIG_PREFIX": json.dumps(self.keys.story_signature("")),
            "SOURCES_PREFIX": json.dumps(self.keys.story_sources("")),
        }
        return "".join(f"local {name} = {value}\n" for name, value in constants.items()) + _ASSIGN

    @staticmethod
    def trim(article_id: str) -> bool:
        """Whether ingesting this article also trims old entries from its bands (see TRIM_EVERY)."""
        return zlib.crc32(article_id.encode()) % TRIM_EVERY == 0

    async def sources(self, story_id: str) -> set[str]:
        return {str(m) for m in await self.redis.smembers(self.keys.story_sources(story_id))}
