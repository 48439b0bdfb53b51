-- Extend or shorten a feed's lease only if we still hold it: it may have
-- expired during a slow fetch and been taken by another poller.
--
-- KEYS[1]  the feed's lease
-- ARGV[1]  this poller's name (the lease's value while it holds it)
-- ARGV[2]  milliseconds the lease is to last from now
-- Returns 1 when the lease was ours and was reset, 0 otherwise.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
