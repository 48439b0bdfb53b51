-- Turn a closed period's buffer into one delivery, or nothing if the buffer
-- changed since it was read. A crash leaves either the buffer or the delivery.
--
-- KEYS[1]  the digest buffer
-- KEYS[2]  the set of open buffers
-- KEYS[3]  the delivery's hash
-- KEYS[4]  the lanes
-- KEYS[5]  the endpoint's lane
-- KEYS[6]  the subscription's delivery index
-- ARGV[1]  the buffer's member in the open set
-- ARGV[2]  how many alerts the buffer held when read
-- ARGV[3]  now
-- ARGV[4]  the delivery id
-- ARGV[5]  the endpoint
-- ARGV[6]  index cutoff
-- ARGV[7..] the record's field/value pairs
-- Returns 'ok' or 'changed'.
if redis.call('HLEN', KEYS[1]) ~= tonumber(ARGV[2]) then return 'changed' end
if redis.call('EXISTS', KEYS[3]) == 0 then
  local now = tonumber(ARGV[3])
  redis.call('HSET', KEYS[3], unpack(ARGV, 7))
  redis.call('ZADD', KEYS[5], now, ARGV[4])
  redis.call('ZADD', KEYS[4], 'LT', now, ARGV[5])
  redis.call('ZADD', KEYS[6], now, ARGV[4])
  redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', ARGV[6])
end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
return 'ok'
