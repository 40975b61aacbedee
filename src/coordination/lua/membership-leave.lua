-- A replica leaving the hub membership on a clean stop, so the others take its clusters at once.
-- KEYS[1] sorted set of replicas, KEYS[2] hash of their clusters; ARGV[1] replica id.
redis.call('HDEL', KEYS[2], ARGV[1])
return redis.call('ZREM', KEYS[1], ARGV[1])
