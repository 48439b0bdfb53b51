-- Lease up to ``limit`` due deliveries, endpoint by endpoint, at most the free
-- slots of each endpoint. Records, alerts, the subscriptions version and the
-- next due time come along, so neither the attempts nor the worker's next
-- sleep need another round trip.
--
-- KEYS[1]  the lanes (endpoints by earliest due time)
-- KEYS[2]  the subscriptions version
-- ARGV[1]  now
-- ARGV[2]  lease until (the taken deliveries' new due time, and the lease token)
-- ARGV[3]  limit
-- ARGV[4]  free slots of an endpoint not listed below
-- ARGV[5]  lane key prefix      }  Which lanes and deliveries are taken is found here,
-- ARGV[6]  delivery key prefix  }  so their keys cannot be declared in advance: they are
-- ARGV[7]  alert key prefix     }  built from these prefixes, in the hash slot of KEYS[1].
-- ARGV[8..] endpoint/free-slot pairs for endpoints with attempts in flight
-- Returns {subscriptions version, earliest due time left (or false),
--          {{id, endpoint, record, alert JSON or false}, ...}}.
--! include lib_relane
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
