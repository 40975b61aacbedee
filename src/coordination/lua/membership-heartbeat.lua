-- A replica's heartbeat into the hub membership, and the live membership back.
-- KEYS[1] sorted set: replica id -> expiry (ms, Redis' clock, so replicas' clocks never matter)
-- KEYS[2] hash: replica id -> JSON list of the clusters it is configured with
-- ARGV[1] replica id ('' = only read), ARGV[2] ttl ms, ARGV[3] clusters JSON
-- Returns {id1, clusters1, id2, clusters2, ...} of the live replicas, expired ones removed.
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
  redis.call('HDEL', KEYS[2], id)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if ARGV[1] ~= '' then
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
end
-- The keys outlive the last replica only briefly.
redis.call('PEXPIRE', KEYS[1], ttl * 10)
redis.call('PEXPIRE', KEYS[2], ttl * 10)
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGET', KEYS[2], id) or '[]'
end
return out
