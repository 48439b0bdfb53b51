"""The delivery queue's Lua scripts: each state change is one atomic step in Redis.

Data model (key names in ``service.keys``):

- ``delivery:{id}``            hash: status, attempts, last outcome, the alert(s)
- ``delivery:{id}:attempts``   list: the delivery log, one JSON entry per attempt
- ``deliveries:lane:{ep}``     zset: one endpoint's delivery ids by due time
- ``deliveries:due``           zset: endpoints by the earliest due time in their lane

Taking work endpoint by endpoint lets a worker skip endpoints whose share of
attempts is already in flight, at a cost bounded by the number it skips,
however long their backlog. Lane and delivery keys are derived inside the
scripts from a prefix, which suits one Redis (not Redis Cluster).
"""

from __future__ import annotations

# Re-point an endpoint at the earliest due time left in its lane (or drop it).
_RELANE = """
local function relane(lanes, lane, endpoint)
  local first = redis.call('ZRANGE', lane, 0, 0, 'WITHSCORES')
  if #first == 0 then redis.call('ZREM', lanes, endpoint) else redis.call('ZADD', lanes, first[2], endpoint) end
end
"""

# The throttle remembers when something last went through; the caller's
# clock decides, so tests can move time. The key expires by itself.
_THROTTLE = """
local function throttled(key, now, period)
  if period <= 0 then return false end
  local last = redis.call('GET', key)
  if last and now < tonumber(last) + period then return true end
  redis.call('SET', key, tostring(now), 'PX', math.ceil(period * 1000))
  return false
end
"""

# KEYS: delivery, lanes, lane, subscription index, throttle
# ARGV: now, id, endpoint, throttle period (0: none), index cutoff, field/value pairs...
# Returns 1 created, 0 exists already (a redelivered alert), -1 throttled.
ENQUEUE = (
    _THROTTLE
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local now = tonumber(ARGV[1])
if throttled(KEYS[5], now, tonumber(ARGV[4])) then return -1 end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('ZADD', KEYS[3], now, ARGV[2])
redis.call('ZADD', KEYS[2], 'LT', now, ARGV[3])
redis.call('ZADD', KEYS[4], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[5])
return 1
"""
)

# KEYS: lanes, subscriptions version
# ARGV: now, lease until, limit, per-endpoint limit, lane prefix, delivery prefix, alert prefix,
#       then endpoint/free-slot pairs for endpoints with attempts in flight.
# Returns {subscriptions version, earliest due time left (or false), {{id, endpoint, record,
# alert JSON or false}, ...}}; each taken id is leased until ARGV[2]. Records, alerts, the version
# and the next due time come along so that neither the attempts nor the worker's next sleep need
# another round trip.
TAKE = (
    _RELANE
    + """
local limit, per = tonumber(ARGV[3]), tonumber(ARGV[4])
local quota, listed = {}, 0
for i = 8, #ARGV, 2 do quota[ARGV[i]] = tonumber(ARGV[i + 1]); listed = listed + 1 end
local lanes = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, limit + listed)
local out, taken = {}, 0
for _, ep in ipairs(lanes) do
  if taken >= limit then break end
  local free = quota[ep] or per
  if free > 0 then
    local lane = ARGV[5] .. ep
    local ids = redis.call('ZRANGEBYSCORE', lane, '-inf', ARGV[1], 'LIMIT', 0, math.min(free, limit - taken))
    for _, id in ipairs(ids) do
      redis.call('ZADD', lane, ARGV[2], id)
      local key = ARGV[6] .. id
      local record, alert = {}, false
      if redis.call('EXISTS', key) == 1 then
        redis.call('HSET', key, 'leased_until', ARGV[2])
        record = redis.call('HGETALL', key)
        local alert_id = redis.call('HGET', key, 'alert_id')
        if alert_id and alert_id ~= '' then alert = redis.call('GET', ARGV[7] .. alert_id) end
      end
      out[#out + 1] = {id, ep, record, alert}
      taken = taken + 1
    end
    relane(KEYS[1], lane, ep)
  end
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {redis.call('GET', KEYS[2]) or '0', first[2] or false, out}
"""
)

# KEYS: delivery, lanes, lane, attempts log, dead-letter stream, current dead letters
# ARGV: id, endpoint, lease token ('' skips the check), next_at ('' when final), status,
#       log entry JSON, retention seconds, dead-letter maxlen, dead-letter reason, now, field/value pairs...
# A late outcome from a worker whose lease ran out ('stale') changes nothing but the log,
# and a success is never undone by a failure reported after it ('kept').
SETTLE = (
    _RELANE
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[3], ARGV[1]); relane(KEYS[2], KEYS[3], ARGV[2]); return 'gone'
end
if ARGV[5] == 'gone' then  -- finished already: only take it out of its lane
  redis.call('ZREM', KEYS[3], ARGV[1]); relane(KEYS[2], KEYS[3], ARGV[2]); return 'gone'
end
if ARGV[6] ~= '' then redis.call('RPUSH', KEYS[4], ARGV[6]); redis.call('LTRIM', KEYS[4], -50, -1) end
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'delivered' and ARGV[5] ~= 'delivered' then return 'kept' end
if ARGV[3] ~= '' and ARGV[5] ~= 'delivered' and redis.call('HGET', KEYS[1], 'leased_until') ~= ARGV[3] then
  return 'stale'
end
redis.call('HSET', KEYS[1], unpack(ARGV, 11))
redis.call('HDEL', KEYS[1], 'leased_until')
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
"""
)

# KEYS: delivery, lanes, lane, attempts log
# ARGV: now, id, endpoint
# Makes a finished (or waiting) delivery due now, with a fresh retry schedule.
REDELIVER = """
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
"""

# KEYS: digest buffer, open buffers set, throttle, seen marker
# ARGV: now, throttle period, alert id, alert JSON, open-set member, seen ttl seconds
# Returns 1 gathered, 0 already gathered once (a redelivered alert), -1 throttled.
GATHER = (
    _THROTTLE
    + """
if redis.call('EXISTS', KEYS[4]) == 1 then return 0 end
if throttled(KEYS[3], tonumber(ARGV[1]), tonumber(ARGV[2])) then return -1 end
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
redis.call('SADD', KEYS[2], ARGV[5])
redis.call('SET', KEYS[4], '1', 'EX', ARGV[6])
return 1
"""
)

# KEYS: digest buffer, open buffers set, delivery, lanes, lane, subscription index
# ARGV: open-set member, expected alert count, now, id, endpoint, index cutoff, field/value pairs...
# Turns a closed period's buffer into one delivery, or nothing if it changed since it was read.
FLUSH = """
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
"""

# KEYS: lanes; ARGV: lane prefix. How many deliveries are due or in flight, over all lanes.
COUNT = """
local total = 0
for _, ep in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do total = total + redis.call('ZCARD', ARGV[1] .. ep) end
return total
"""
