-- Sets extras (x:<name> fields). KEYS: incident hash. ARGV: onlyIfAbsent ('1'/'0'), nowMs, then name/JSON pairs.
-- Returns -1 when the incident does not exist, else how many fields were written.
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local written = 0
for i = 3, #ARGV, 2 do
  if ARGV[1] == '1' then
    -- "absent" includes a value cleared to JSON null (e.g. an acknowledgement reset on re-open)
    local cur = redis.call('HGET', KEYS[1], 'x:' .. ARGV[i])
    if not cur or cur == 'null' then
      redis.call('HSET', KEYS[1], 'x:' .. ARGV[i], ARGV[i + 1])
      written = written + 1
    end
  else
    redis.call('HSET', KEYS[1], 'x:' .. ARGV[i], ARGV[i + 1])
    written = written + 1
  end
end
if written > 0 then
  redis.call('HSET', KEYS[1], 'updatedAt', ARGV[2])
  redis.call('HINCRBY', KEYS[1], 'version', 1)
end
return written
