-- Read, for the ingest script to declare them, the story candidates that
-- articles' bands hold now, and what the batch's identities hold (read-only).
--
-- KEYS[1..b]      the bands to look in
-- KEYS[b+1..]     the "seen" keys of the batch's identities
-- ARGV[1]         b, the number of bands
-- ARGV[2]         candidates read per band, newest first
-- ARGV[3..2+b]    per band, the lowest publication time of its window
-- ARGV[3+b..2+2b] per band, the highest
-- Returns {members of every band (story|id), the values of the seen keys}.
local bands, per = tonumber(ARGV[1]), ARGV[2]
local members = {}
for i = 1, bands do
  for _, member in ipairs(redis.call('ZREVRANGEBYSCORE', KEYS[i], ARGV[2 + bands + i], ARGV[2 + i], 'LIMIT', '0', per)) do
    members[#members + 1] = member
  end
end
local held = {}
if #KEYS > bands then
  held = redis.call('MGET', unpack(KEYS, bands + 1, #KEYS))
  for i = 1, #held do if not held[i] then held[i] = '' end end
end
return {members, held}
