-- Records one node's outcome in the step's state. KEYS: plan hash. ARGV: stepId, node, outcome JSON.
local raw = redis.call('HGET', KEYS[1], 's:' .. ARGV[1])
if not raw then return false end
local st = cjson.decode(raw)
if type(st.nodes) ~= 'table' then st.nodes = {} end
st.nodes[ARGV[2]] = cjson.decode(ARGV[3])
local out = cjson.encode(st)
redis.call('HSET', KEYS[1], 's:' .. ARGV[1], out)
return out
