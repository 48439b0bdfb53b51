-- Lease due deliveries, endpoint by endpoint, at most the free slots of each
-- endpoint, fleet-wide: an endpoint's attempts in flight, by every worker, are
-- counted in its flight set (id -> lease expiry; expired leases no longer
-- count). The caller has read which endpoints are due and which of their
-- deliveries (``DeliveryQueue.take``), so every key is declared here; each
-- candidate is checked again, since another worker may have taken it since.
-- The subscriptions version and the next due time come along, so the
-- worker's next sleep needs no other round trip.
--
-- KEYS[1]   the lanes (endpoints by earliest due time)
-- KEYS[2]   the subscriptions version
-- KEYS[3..] per endpoint, its lane then its flight set; then the candidates'
--           delivery records, endpoint by endpoint, in the order of ARGV
-- ARGV[1]   now
-- ARGV[2]   lease until (the taken deliveries' new due time, and the lease token)
-- ARGV[3]   limit
-- ARGV[4]   attempts allowed in flight to one endpoint, over the whole fleet
-- ARGV[5]   the number of endpoints, e
-- ARGV[6..] per endpoint: its name, this worker's free slots there (-1: no
--           attempt of this worker in flight), and its number of candidates c,
--           then the c candidate ids
-- Returns {subscriptions version, earliest due time left (or false),
--          {{id, endpoint, record}, ...}}.
--! include lib_relane
local now, limit, per = tonumber(ARGV[1]), tonumber(ARGV[3]), tonumber(ARGV[4])
local flight_ttl = tostring(math.ceil(tonumber(ARGV[2]) - now) + 60)
local endpoints = tonumber(ARGV[5])
local out, taken = {}, 0
local at, record_key = 6, 3 + 2 * endpoints
for e = 1, endpoints do
  local ep, quota, count = ARGV[at], tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2])
  local lane, flight = KEYS[1 + 2 * e], KEYS[2 + 2 * e]
  local first_id = at + 3
  at = first_id + count
  local records = record_key
  record_key = record_key + count
  if taken < limit then
    redis.call('ZREMRANGEBYSCORE', flight, '-inf', ARGV[1])
    local free = per - redis.call('ZCARD', flight)
    if quota >= 0 then free = math.min(quota, free) end
    local took = 0
    for i = 0, count - 1 do
      if took >= free or taken >= limit then break end
      local id = ARGV[first_id + i]
      local due = redis.call('ZSCORE', lane, id)
      if due and tonumber(due) <= now then
        redis.call('ZADD', lane, ARGV[2], id)
        redis.call('ZADD', flight, ARGV[2], id)
        local key = KEYS[records + i]
        local record = {}
        if redis.call('EXISTS', key) == 1 then
          redis.call('HSET', key, 'leased_until', ARGV[2])
          record = redis.call('HGETALL', key)
        end
        out[#out + 1] = {id, ep, record}
        took = took + 1
        taken = taken + 1
      end
    end
    if took > 0 then redis.call('EXPIRE', flight, flight_ttl) end
    relane(KEYS[1], lane, ep)
  end
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {redis.call('GET', KEYS[2]) or '0', first[2] or false, out}
