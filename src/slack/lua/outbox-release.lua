-- A send found nothing new to send: release the message's job flag, unless a newer version arrived since the
-- sender read it (an upsert that saw the flag set left that version to the pending job). Returns 1 then: the
-- caller sends it. Atomic, so no version can land between the check and the release.
-- KEYS[1]: the message hash.
local m = redis.call('HMGET', KEYS[1], 'channel', 'payload', 'version', 'sent')
local version = tonumber(m[3]) or 0
if m[1] and m[2] and version > (tonumber(m[4]) or 0) then return 1 end
redis.call('HSET', KEYS[1], 'queuedAt', '0')
return 0
