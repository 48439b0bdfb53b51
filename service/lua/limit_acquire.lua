-- Take one slot of a fleet-wide concurrency limit, if one is free. Slots are
-- leases, so a holder that dies frees its slot when the lease runs out. Time
-- is the server's, so hosts with skewed clocks still agree.
--
-- KEYS[1]  the limit's slots (sorted set: holder -> lease expiry in ms)
-- ARGV[1]  the holder (unique per attempt)
-- ARGV[2]  how many slots the limit has
-- ARGV[3]  the lease in milliseconds
-- Returns 1 when the slot was taken, 0 when all are held.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
