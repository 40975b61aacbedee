-- Gives a semaphore slot back. KEYS[1] sorted set of holders; ARGV[1] holder.
return redis.call('ZREM', KEYS[1], ARGV[1])
