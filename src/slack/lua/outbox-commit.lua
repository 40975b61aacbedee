-- After a send: record what was sent; keep the job flag if a newer version arrived meanwhile (returns 1).
redis.call('HSET', KEYS[1], 'sent', ARGV[1], 'lastAt', ARGV[3])
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[1], 'ts', ARGV[2])
  redis.call('HDEL', KEYS[1], 'posting')
end
local version = tonumber(redis.call('HGET', KEYS[1], 'version')) or 0
if version > tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'queuedAt', ARGV[3])
  return 1
end
redis.call('HSET', KEYS[1], 'queuedAt', '0')
return 0
