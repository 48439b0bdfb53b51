-- End a feed's run: record its outcome, and hold the lease until the feed is due again.
--
-- KEYS[1]  the feed's state hash
-- KEYS[2]  the feed's lease
-- ARGV[1]  this poller's name
-- ARGV[2]  milliseconds to hold the lease for ('' leaves it as it is)
-- ARGV[3]  items read this run
-- ARGV[4]  of which new articles
-- ARGV[5]  how many field/value pairs to set (s)
-- ARGV[6..5+2s]   the field/value pairs to set
-- ARGV[6+2s..]    the fields to delete
local nset = tonumber(ARGV[5])
if nset > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, 6, 5 + 2 * nset)) end
if #ARGV > 5 + 2 * nset then redis.call('HDEL', KEYS[1], unpack(ARGV, 6 + 2 * nset, #ARGV)) end
if ARGV[3] ~= '0' then redis.call('HINCRBY', KEYS[1], 'items_seen', ARGV[3]) end
if ARGV[4] ~= '0' then redis.call('HINCRBY', KEYS[1], 'new_articles', ARGV[4]) end
if ARGV[2] ~= '' and redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
