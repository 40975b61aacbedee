-- Sets the latest content of one logical message (see outbox.ts).
-- KEYS[1]: the message hash; KEYS[2]: the thread's tail (the newest message of its thread, by first upsert).
-- ARGV: channel, threadKey, threadTs, payload, seq, final, now, staleQueuedMs, after, ownKey, tailTtlSeconds.
-- Returns -1 (stale), -2 (a pending job will pick it up), or the time of the last write (0: never written).
local cur = redis.call('HMGET', KEYS[1], 'seq', 'final', 'queuedAt', 'lastAt', 'channel')
if cur[2] == '1' and ARGV[6] ~= '1' then return -1 end
if ARGV[5] ~= '' and cur[1] and tonumber(ARGV[5]) < tonumber(cur[1]) then return -1 end
local new = not cur[5]
redis.call('HSET', KEYS[1], 'channel', ARGV[1], 'payload', ARGV[4])
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'threadKey', ARGV[2]) end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'threadTs', ARGV[3]) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'seq', ARGV[5]) end
if ARGV[6] == '1' then redis.call('HSET', KEYS[1], 'final', '1') end
if ARGV[9] ~= '' then
  redis.call('HSET', KEYS[1], 'afterKey', ARGV[9])
elseif new and ARGV[2] ~= '' then
  -- A new reply follows the thread's previous new reply: the thread reads in the order things happened.
  local tail = redis.call('GET', KEYS[2])
  if tail and tail ~= ARGV[10] then redis.call('HSET', KEYS[1], 'afterKey', tail) end
end
if new and ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[10], 'EX', tonumber(ARGV[11])) end
redis.call('HINCRBY', KEYS[1], 'version', 1)
local now = tonumber(ARGV[7])
local queuedAt = tonumber(cur[3]) or 0
if queuedAt > 0 and now - queuedAt < tonumber(ARGV[8]) then return -2 end
redis.call('HSET', KEYS[1], 'queuedAt', ARGV[7])
return tonumber(cur[4]) or 0
