-- Ingest a batch of articles (service/ingest/sink.py): for each article in
-- turn, if any of its identities (id, URL, text) was seen it is a duplicate
-- and nothing is written; otherwise it joins or starts a story, its
-- identities are marked seen and it is appended, all in one atomic step.
--
-- KEYS[1]   the articles stream
-- KEYS[2..] the "seen" keys of the batch's identities, article by article
--           (each article says how many of them are its own); then, with stories,
--           every story-index key the script may touch (StoryIndex.declared_keys):
--           the articles' bands, signature and sources keys, the candidates their
--           bands held when read, with their stories' sources, and the signatures
--           of the articles that hold the batch's identities
-- ARGV[1]   settings, a JSON object: stories (bool), slot (the placeholder of the
--           story id in an article's JSON), and for stories: width (characters of
--           a signature band), bands, window (seconds), threshold, keep (seconds
--           the index keeps an entry), per_band, compare, and the key prefixes
--           band_prefix, sig_prefix, sources_prefix
-- ARGV[2]   the batch, a JSON array of articles, each [id, data, identities,
--           signature, published, source, trim ('1'/'0'), own story, which
--           identity is the URL (0: none), title key] ("" for what an article lacks)
-- ARGV[3]   now
-- ARGV[4]   seconds the identities stay seen
-- ARGV[5..] XADD's trimming clause
-- Returns, per article, {1, entry id, story, sources} or, for a duplicate,
-- {0, which identity (1-based), the article that holds it}.
--
-- A URL identity is not proof: anyone can push or list an outlet's link
-- with other text. Its key holds "id|title key"; a later article with that
-- URL is a duplicate only when its headline is the same or its text is
-- similar (signatures, as stories compare them). Otherwise it is a new
-- article, and the URL key passes to it. A key written without a title key
-- (before this check) is taken as it is.
--
-- The story index's keys are named from the prefixes in ARGV[1] (the hash tag of
-- KEYS[1]), and used only when declared: a candidate that appeared since the
-- caller read the bands (another ingester's) is not compared.
local S = cjson.decode(ARGV[1])
local declared = {}
for _, key in ipairs(KEYS) do declared[key] = true end
local batch = cjson.decode(ARGV[2])
local now, ttl = tonumber(ARGV[3]), ARGV[4]

-- Every number passed to redis.call is a string made once: Redis formats each
-- Lua number it is given, and that costs more than the command itself. The
-- bounds use %.17g, which gives back the very same double.
local assign, similar
if S.stories then
  local WIDTH, WINDOW, THRESHOLD = S.width, S.window, S.threshold
  local KEEP, KEEP_S, PER_BAND, COMPARE = S.keep, tostring(S.keep), tostring(S.per_band), S.compare
  local SIG_PREFIX, SOURCES_PREFIX = S.sig_prefix, S.sources_prefix
  local BAND_PREFIXES = {}
  for b = 0, S.bands - 1 do BAND_PREFIXES[b] = S.band_prefix .. b .. ':' end

  -- Estimated similarity of two signatures, over all the bins both have: a
  -- signature stored before the verification bins existed is judged on the
  -- bins it has. Bins empty in both are left out.
  local function similarity(sig, other)
    local length = math.min(#other, #sig)
    local same, both = 0, 0
    for b = 1, length, 4 do
      local x, y = string.sub(sig, b, b + 3), string.sub(other, b, b + 3)
      if x ~= '----' or y ~= '----' then
        both = both + 1
        if x == y then same = same + 1 end
      end
    end
    return both > 0 and same / both or 0
  end

  -- Whether the article stored as ``id`` has text like ``sig``.
  similar = function(sig, id)
    if sig == '' or not declared[SIG_PREFIX .. id] then return false end
    local other = redis.call('GET', SIG_PREFIX .. id)
    return other ~= false and similarity(sig, other) >= THRESHOLD
  end

  -- Look up the candidates that share a band, pick the most similar, index
  -- the article. Returns the story and how many sources carried it so far.
  assign = function(id, sig, ts, source, trim)
    local bands = {}
    for b = 0, S.bands - 1 do  -- over the first bins only (the rest are for judging, minhash.py)
      local value = string.sub(sig, b * WIDTH + 1, (b + 1) * WIDTH)
      local band = BAND_PREFIXES[b] .. value
      if not string.find(value, '-', 1, true) and declared[band] then
        bands[#bands + 1] = band
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
      local sig_key = SIG_PREFIX .. string.sub(member, sep + 1)
      local usable = declared[sig_key] and declared[SOURCES_PREFIX .. string.sub(member, 1, sep - 1)]
      local other = usable and redis.call('GET', sig_key)
      if other then
        local score = similarity(sig, other)
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
end

local SLOT = S.slot
local xadd = {KEYS[1]}
for i = 5, #ARGV do xadd[#xadd + 1] = ARGV[i] end
xadd[#xadd + 1] = '*'
xadd[#xadd + 1] = 'data'
local data_at = #xadd + 1
local out = {}
local next_key = 2
for n, a in ipairs(batch) do
  local id, data, sig = a[1], a[2], a[4]
  local seen = {}
  for i = 1, a[3] do seen[i] = KEYS[next_key + i - 1] end
  next_key = next_key + a[3]
  local url_at, title = a[9], a[10]
  local duplicate = nil
  local held = redis.call('MGET', unpack(seen))
  for i = 1, #seen do
    if held[i] then
      local holder, checked = held[i], nil
      if i == url_at then
        local bar = string.find(holder, '|', 1, true)
        if bar then holder, checked = string.sub(holder, 1, bar - 1), string.sub(holder, bar + 1) end
      end
      if checked == nil or (title ~= '' and checked == title) or (similar and similar(sig, holder)) then
        duplicate = {0, i, holder}
        break
      end
    end
  end
  if duplicate then
    out[n] = duplicate
  else
    local story, sources = '', 0
    if assign and sig ~= '' then
      story, sources = assign(id, sig, a[5], a[6], a[7])
    end
    for i, key in ipairs(seen) do
      redis.call('SET', key, i == url_at and (id .. '|' .. title) or id, 'EX', ttl)
    end
    local entry_story = story ~= '' and story or a[8]
    if entry_story ~= '' then
      local at = string.find(data, SLOT, 1, true)
      data = string.sub(data, 1, at - 1) .. '"story_id":' .. cjson.encode(entry_story) .. string.sub(data, at + #SLOT)
    end
    xadd[data_at] = data
    out[n] = {1, redis.call('XADD', unpack(xadd)), story, sources}
  end
end
return out
