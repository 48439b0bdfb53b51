-- Record an attempt's outcome. A late outcome from a worker whose lease ran
-- out ('stale') changes nothing but the log, and a success is never undone by
-- a failure reported after it ('kept').
--
-- KEYS[1]  the delivery's hash
-- KEYS[2]  the lanes
-- KEYS[3]  the endpoint's lane
-- KEYS[4]  the delivery's attempt log
-- KEYS[5]  the dead deliveries stream (the history)
-- KEYS[6]  the deliveries that are dead letters now (id -> when)
-- KEYS[7]  the endpoint's attempts in flight (see delivery_take.lua)
-- ARGV[1]  the delivery id
-- ARGV[2]  the endpoint
-- ARGV[3]  lease token ('' skips the check)
-- ARGV[4]  next attempt's time ('' when this outcome is final)
-- ARGV[5]  status ('gone': finished already, only take it out of its lane)
-- ARGV[6]  the log entry's JSON ('' for none)
-- ARGV[7]  retention in seconds of a finished delivery
-- ARGV[8]  most entries kept on the dead deliveries stream
-- ARGV[9]  the reason recorded there
-- ARGV[10] now
-- ARGV[11..] field/value pairs to set
-- Returns 'ok', 'gone', 'kept' or 'stale'.
--! include lib_relane
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[3], ARGV[1]); redis.call('ZREM', KEYS[7], ARGV[1])
  relane(KEYS[2], KEYS[3], ARGV[2]); return 'gone'
end
if ARGV[5] == 'gone' then
  redis.call('ZREM', KEYS[3], ARGV[1]); redis.call('ZREM', KEYS[7], ARGV[1])
  relane(KEYS[2], KEYS[3], ARGV[2]); return 'gone'
end
if ARGV[6] ~= '' then redis.call('RPUSH', KEYS[4], ARGV[6]); redis.call('LTRIM', KEYS[4], -50, -1) end
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'delivered' and ARGV[5] ~= 'delivered' then return 'kept' end
if ARGV[3] ~= '' and ARGV[5] ~= 'delivered' and redis.call('HGET', KEYS[1], 'leased_until') ~= ARGV[3] then
  return 'stale'
end
redis.call('HSET', KEYS[1], unpack(ARGV, 11))
redis.call('HDEL', KEYS[1], 'leased_until')
redis.call('ZREM', KEYS[7], ARGV[1])  -- no longer in flight (a stale outcome's slot is its successor's)
if ARGV[5] == 'dead' then
  -- a dead letter now; those past retention have expired with their delivery
  redis.call('ZADD', KEYS[6], ARGV[10], ARGV[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', tonumber(ARGV[10]) - tonumber(ARGV[7]))
else
  redis.call('ZREM', KEYS[6], ARGV[1])
end
if ARGV[4] == '' then
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('HDEL', KEYS[1], 'next_at')
  redis.call('EXPIRE', KEYS[1], ARGV[7])
  redis.call('EXPIRE', KEYS[4], ARGV[7])
  if ARGV[5] == 'dead' then
    redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[8], '*', 'delivery', ARGV[1], 'error', ARGV[9])
  end
else
  redis.call('HSET', KEYS[1], 'next_at', ARGV[4])
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
end
relane(KEYS[2], KEYS[3], ARGV[2])
return 'ok'
