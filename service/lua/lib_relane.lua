-- relane(lanes, lane, endpoint): re-point an endpoint at the earliest due time
-- left in its lane, or drop it from the lanes when its lane is empty.
local function relane(lanes, lane, endpoint)
  local first = redis.call('ZRANGE', lane, 0, 0, 'WITHSCORES')
  if #first == 0 then redis.call('ZREM', lanes, endpoint) else redis.call('ZADD', lanes, first[2], endpoint) end
end
