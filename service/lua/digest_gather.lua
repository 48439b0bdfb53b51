-- Add an alert to a subscription's digest buffer for the current period.
--
-- KEYS[1]  the digest buffer (alert id -> alert JSON)
-- KEYS[2]  the set of open buffers
-- KEYS[3]  the throttle key
-- KEYS[4]  the alert's "gathered" marker for this subscription
-- ARGV[1]  now
-- ARGV[2]  throttle period in seconds (0: none)
-- ARGV[3]  the alert id
-- ARGV[4]  the alert's JSON
-- ARGV[5]  the buffer's member in the open set (subscription|mode|period start)
-- ARGV[6]  seconds the marker is kept
-- Returns 1 gathered, 0 already gathered once (a redelivered alert), -1 throttled.
--! include lib_throttle
if redis.call('EXISTS', KEYS[4]) == 1 then return 0 end
if throttled(KEYS[3], tonumber(ARGV[1]), tonumber(ARGV[2])) then return -1 end
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
redis.call('SADD', KEYS[2], ARGV[5])
redis.call('SET', KEYS[4], '1', 'EX', ARGV[6])
return 1
