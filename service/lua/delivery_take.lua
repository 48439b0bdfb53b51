-- Lease up to ``limit`` due deliveries, endpoint by endpoint, at most the free
-- slots of each endpoint, fleet-wide: an endpoint's attempts in flight, by
-- every worker, are counted in its flight set (id -> lease expiry; expired
-- leases no longer count). Records, alerts, the subscriptions version and the
-- next due time come along, so neither the attempts nor the worker's next
-- sleep need another round trip.
--
-- KEYS[1]  the lanes (endpoints by earliest due time)
-- KEYS[2]  the subscriptions version
-- ARGV[1]  now
-- ARGV[2]  lease until (the taken deliveries' new due time, and the lease token)
-- ARGV[3]  limit
-- ARGV[4]  attempts allowed in flight to one endpoint, over the whole fleet
-- ARGV[5]  lane key prefix      }  Which lanes and deliveries are taken is found here,
-- ARGV[6]  delivery key prefix  }  so their keys cannot be declared in advance: they are
-- ARGV[7]  alert key prefix     }  built from these prefixes, in the hash slot of KEYS[1].
-- ARGV[8]  flight key prefix    }
-- ARGV[9..] endpoint/free-slot pairs for endpoints with this worker's attempts in flight
-- Returns {subscriptions version, earliest due time left (or false),
--          {{id, endpoint, record, alert JSON or false}, ...}}.
--! include lib_relane
local limit, per = tonumber(ARGV[3]), tonumber(ARGV[4])
local quota, listed = {}, 0
for i = 9, #ARGV, 2 do quota[ARGV[i]] = tonumber(ARGV[i + 1]); listed = listed + 1 end
-- Endpoints saturated by other workers are skipped too: look a little further
-- than this worker's own, a bounded cost however many endpoints are busy.
local lanes = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, limit + listed + 32)
local flight_ttl = tostring(math.ceil(tonumber(ARGV[2]) - tonumber(ARGV[1])) + 60)
local out, taken = {}, 0
for _, ep in ipairs(lanes) do
  if taken >= limit then break end
  local flight = ARGV[8] .. ep
  redis.call('ZREMRANGEBYSCORE', flight, '-inf', ARGV[1])
  local free = math.min(quota[ep] or per, per - redis.call('ZCARD', flight))
  if free > 0 then
    local lane = ARGV[5] .. ep
    local ids = redis.call('ZRANGEBYSCORE', lane, '-inf', ARGV[1], 'LIMIT', 0, math.min(free, limit - taken))
    for _, id in ipairs(ids) do
      redis.call('ZADD', lane, ARGV[2], id)
      redis.call('ZADD', flight, ARGV[2], id)
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
    if #ids > 0 then redis.call('EXPIRE', flight, flight_ttl) end
    relane(KEYS[1], lane, ep)
  end
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {redis.call('GET', KEYS[2]) or '0', first[2] or false, out}
