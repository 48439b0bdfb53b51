-- Start a feed's run: take its lease and read its state in one call (a
-- thousand feeds polled at once make every round trip count).
--
-- KEYS[1]  the feed's lease
-- KEYS[2]  the feed's state hash
-- ARGV[1]  this poller's name
-- ARGV[2]  milliseconds to hold the lease for
-- Returns the state as HGETALL gives it, or false when another poller holds the lease.
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('HGETALL', KEYS[2])
end
return false
