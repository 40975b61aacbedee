-- KEYS: incident hash, audit stream. ARGV: nowMs, actor, action, outcome, details JSON. Returns the entry id or nil.
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
return redis.call('XADD', KEYS[2], '*', 'at', ARGV[1], 'actor', ARGV[2], 'action', ARGV[3], 'outcome', ARGV[4],
  'details', ARGV[5])
