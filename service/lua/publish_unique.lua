-- Append to a stream unless one of the entry's identities was seen: marking
-- "seen" and appending are one step, so a crash between the two can neither
-- lose the entry (marked, never appended) nor duplicate it.
--
-- KEYS[1..n-1]  the identities' "seen" keys (same hash tag as the stream)
-- KEYS[n]       the stream
-- ARGV[1]       seconds the identities stay seen
-- ARGV[2]       the marker stored under each identity (who holds it)
-- ARGV[3]       how many arguments of XADD's trimming clause follow (t)
-- ARGV[4..3+t]  the trimming clause (MAXLEN ~ n, MINID ~ id, or nothing)
-- ARGV[4+t..]   the entry's field/value pairs
-- Returns {1, entry id}, or {0, which identity (1-based), its marker}.
local nkeys = #KEYS - 1
for i = 1, nkeys do
  local held = redis.call('GET', KEYS[i])
  if held then return {0, i, held} end
end
for i = 1, nkeys do redis.call('SET', KEYS[i], ARGV[2], 'EX', ARGV[1]) end
local n = tonumber(ARGV[3])
local args = {}
for i = 4, 3 + n do args[#args + 1] = ARGV[i] end
args[#args + 1] = '*'
for i = 4 + n, #ARGV do args[#args + 1] = ARGV[i] end
return {1, redis.call('XADD', KEYS[#KEYS], unpack(args))}
