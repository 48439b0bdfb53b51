-- Create one delivery of an alert to a subscription, unless it exists (a
-- redelivered alert) or the subscription's throttle holds it back.
--
-- KEYS[1]  the delivery's hash
-- KEYS[2]  the lanes (endpoints by earliest due time)
-- KEYS[3]  the endpoint's lane
-- KEYS[4]  the subscription's delivery index
-- KEYS[5]  the throttle key
-- ARGV[1]  now
-- ARGV[2]  the delivery id
-- ARGV[3]  the endpoint
-- ARGV[4]  throttle period in seconds (0: none)
-- ARGV[5]  index cutoff: index entries older than this are dropped
-- ARGV[6..] the record's field/value pairs
-- Returns 1 created, 0 exists already, -1 throttled.
--! include lib_throttle
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local now = tonumber(ARGV[1])
if throttled(KEYS[5], now, tonumber(ARGV[4])) then return -1 end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('ZADD', KEYS[3], now, ARGV[2])
redis.call('ZADD', KEYS[2], 'LT', now, ARGV[3])
redis.call('ZADD', KEYS[4], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[5])
return 1
