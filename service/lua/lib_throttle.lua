-- throttled(key, now, period): whether something went through ``key`` less
-- than ``period`` seconds before ``now``; if not, ``now`` is remembered. The
-- caller's clock decides, so tests can move time. The key expires by itself.
local function throttled(key, now, period)
  if period <= 0 then return false end
  local last = redis.call('GET', key)
  if last and now < tonumber(last) + period then return true end
  redis.call('SET', key, tostring(now), 'PX', math.ceil(period * 1000))
  return false
end
