local cur = redis.call('HMGET', KEYS[1], 'seq', 'final', 'queuedAt', 'lastAt')
if cur[2] == '1' and ARGV[6] ~= '1' then return -1 end
if ARGV[5] ~= '' and cur[1] and tonumber(ARGV[5]) < tonumber(cur[1]) then return -1 end
redis.call('HSET', KEYS[1], 'channel', ARGV[1], 'payload', ARGV[4])
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'threadKey', ARGV[2]) end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'threadTs', ARGV[3]) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'seq', ARGV[5]) end
if ARGV[6] == '1' then redis.call('HSET', KEYS[1], 'final', '1') end
if ARGV[9] ~= '' then redis.call('HSET', KEYS[1], 'afterKey', ARGV[9]) end
redis.call('HINCRBY', KEYS[1], 'version', 1)
local now = tonumber(ARGV[7])
local queuedAt = tonumber(cur[3]) or 0
if queuedAt > 0 and now - queuedAt < tonumber(ARGV[8]) then return -2 end
redis.call('HSET', KEYS[1], 'queuedAt', ARGV[7])
return tonumber(cur[4]) or 0
