-- Compare-and-set state change plus its audit entry, in one step.
-- KEYS: incident hash, audit stream, all-clusters active index.
-- ARGV: to, expected states (comma separated, '' = any), allowed predecessors (comma separated), nowMs, actor,
--       details JSON, terminal ('1'/'0'), tracking retention ms, then extras as name/JSON pairs (x:<name> fields).
-- Returns {'ok', incidentHash, signaturesHash} | {'not-found'} | {'conflict', state} | {'illegal', state}.
local key, auditKey = KEYS[1], KEYS[2]
local to, expect, allowed, now, actor = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local details = cjson.decode(ARGV[6])
local terminal, retention = ARGV[7] == '1', tonumber(ARGV[8])
--@include incidents/lua/tracking.lua

local state = redis.call('HGET', key, 'state')
if not state then return {'not-found'} end
details.from = state
details.to = to

local function audit(outcome)
  redis.call('XADD', auditKey, '*', 'at', now, 'actor', actor, 'action', 'transition', 'outcome', outcome,
    'details', cjson.encode(details))
end

if expect ~= '' and not string.find(',' .. expect .. ',', ',' .. state .. ',', 1, true) then
  details.error = 'expected state ' .. expect
  audit('rejected')
  return {'conflict', state}
end
if not string.find(',' .. allowed .. ',', ',' .. state .. ',', 1, true) then
  details.error = 'transition not allowed'
  audit('rejected')
  return {'illegal', state}
end

redis.call('HSET', key, 'state', to, 'updatedAt', now)
for i = 9, #ARGV, 2 do redis.call('HSET', key, 'x:' .. ARGV[i], ARGV[i + 1]) end
redis.call('HINCRBY', key, 'version', 1)
if terminal then
  redis.call('HSET', key, 'resolvedAt', now)
  local id = redis.call('HGET', key, 'id')
  local clusterBase = redis.call('HGET', key, 'cb')
  redis.call('ZREM', KEYS[3], id)
  redis.call('ZREM', clusterBase .. ':active', id)
  for _, suffix in ipairs(TRACKING) do redis.call('PEXPIRE', key .. suffix, retention) end
  for _, k in ipairs(classSketchKeys(key)) do redis.call('PEXPIRE', k, retention) end
end
audit('ok')
return {'ok', redis.call('HGETALL', key), redis.call('HGETALL', key .. ':sigs')}
