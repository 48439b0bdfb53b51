-- Make a finished (or waiting) delivery due now, with a fresh retry schedule.
--
-- KEYS[1]  the delivery's hash
-- KEYS[2]  the lanes
-- KEYS[3]  the endpoint's lane
-- KEYS[4]  the delivery's attempt log
-- ARGV[1]  now
-- ARGV[2]  the delivery id
-- ARGV[3]  the endpoint
-- Returns 'ok', 'missing' or 'in_flight'.
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
local lease = tonumber(redis.call('HGET', KEYS[1], 'leased_until') or '0')
if lease > tonumber(ARGV[1]) then return 'in_flight' end
local attempts = redis.call('HGET', KEYS[1], 'attempts') or '0'
redis.call('HSET', KEYS[1], 'status', 'pending', 'round_base', attempts, 'next_at', ARGV[1], 'updated_at', ARGV[1])
redis.call('PERSIST', KEYS[1])
redis.call('PERSIST', KEYS[4])
redis.call('ZADD', KEYS[3], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], 'LT', ARGV[1], ARGV[3])
return 'ok'
