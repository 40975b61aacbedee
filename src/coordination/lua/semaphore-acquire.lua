-- A counting semaphore shared by every replica (e.g. probe pods per cluster).
-- KEYS[1] sorted set: holder -> lease expiry (ms, Redis' clock)
-- ARGV[1] holder, ARGV[2] limit, ARGV[3] lease ms
-- Returns 1 when the holder has a slot (a holder asking again keeps its slot and renews the lease), else 0.
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[3])
-- A crashed holder's slot frees itself when its lease ends.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
  redis.call('PEXPIRE', KEYS[1], lease)
  return 1
end
return 0
