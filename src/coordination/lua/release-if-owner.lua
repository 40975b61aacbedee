-- Compare-and-delete: deletes KEYS[1] only while it still holds ARGV[1], its owner's token. Returns 1 if
-- deleted. Releases the leader lock (leader-lock.ts) and the outbox's per-message send lock (outbox.ts).
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
