-- Moves a step between states (compare-and-set) and merges fields. KEYS: plan hash.
-- ARGV: stepId, allowed current states (comma separated), new state, patch JSON (fields to set).
-- Returns {'ok', json} | {'state', json}.
local raw = redis.call('HGET', KEYS[1], 's:' .. ARGV[1])
if not raw then return {'state', ''} end
local st = cjson.decode(raw)
if not string.find(',' .. ARGV[2] .. ',', ',' .. st.state .. ',', 1, true) then return {'state', raw} end
st.state = ARGV[3]
for k, v in pairs(cjson.decode(ARGV[4])) do st[k] = v end
local out = cjson.encode(st)
redis.call('HSET', KEYS[1], 's:' .. ARGV[1], out)
return {'ok', out}
