-- How many deliveries are due or in flight, over all lanes.
--
-- KEYS[1]  the lanes
-- ARGV[1]  lane key prefix (lanes are found in KEYS[1]; their keys share its hash slot)
local total = 0
for _, ep in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do total = total + redis.call('ZCARD', ARGV[1] .. ep) end
return total
