-- GCRA (generic cell rate algorithm): books the request and returns 0, or returns the ms until it would be
-- allowed (booking nothing). One request per `interval` on average, bursts of `burst`. The outbox paces each
-- channel with it (outbox.ts), the lifecycle rate-limits what people trigger (lifecycle/rate-limit.ts).
-- KEYS: the limit's key. ARGV: nowMs, interval ms, burst.
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1])) or 0
if tat < now then tat = now end
local newTat = tat + interval
local ahead = newTat - now
if ahead > interval * burst then return ahead - interval * burst end
redis.call('SET', KEYS[1], newTat, 'PX', math.ceil(interval * burst + 1000))
return 0
