-- KEYS: latest pointer, all index, active index, cluster index, cluster active index.
-- ARGV: incidentBase, cluster, runbookId, candidateId, nowMs, cooldownMs, cap, firstSeenMs, lastSeenMs, clusterBase,
--       nEvents, nPods, nNodes, nNamespaces, nClasses, then nEvents uids, the events' counts and class indexes
--       packed (two strings, see below), pods, nodes, namespaces, nClasses x (errorClass, sample).
-- Packed per event to spare redis-server one argument object (and one Lua string) per value: counts as numbers
-- separated by ',' (in the uids' order); class indexes likewise, or '' when every event is of class 1.
-- Returns {change, incidentHash, signaturesHash} or {'id-collision'}.
local base = ARGV[1]
local cluster, runbook, candidate = ARGV[2], ARGV[3], ARGV[4]
local now, cooldown, cap = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local firstSeen, lastSeen, clusterBase = tonumber(ARGV[8]), tonumber(ARGV[9]), ARGV[10]
local nEvents, nPods, nNodes, nNs, nClasses =
  tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13]), tonumber(ARGV[14]), tonumber(ARGV[15])
local CHUNK = 1000
local MAX_CLASSES = 64
-- Fields per class in the signatures hash: e:, o:, m:, and eu:, ou: once events went past the cap.
local CLASS_FIELDS = 5
-- Occurrence tokens per untracked event (see below); an event counted beyond this is under-estimated.
local TOKENS = 1000
--@include incidents/lua/tracking.lua

-- Where do the signals go? Mirrors decideSignalTarget in cooldown.ts.
local target = 'open-new'
local id = redis.call('GET', KEYS[1])
if id then
  local st = redis.call('HMGET', base .. id, 'state', 'resolvedAt')
  if st[1] then
    if st[1] ~= 'resolved' and st[1] ~= 'failed' then
      target = 'update'
    else
      local resolvedAt = st[2] and tonumber(st[2])
      if resolvedAt and now - resolvedAt < cooldown then
        if st[1] == 'resolved' then target = 'reopen' else target = 'absorb' end
      end
    end
  end
end

local change = nil
if target == 'open-new' then
  id = candidate
  if redis.call('EXISTS', base .. id) == 1 then return {'id-collision'} end
  redis.call('HSET', base .. id, 'id', id, 'cluster', cluster, 'runbookId', runbook, 'state', 'open',
    'cb', clusterBase, 'events', 0, 'occurrences', 0, 'occExact', 0, 'pods', 0, 'nodes', 0, 'namespaces', 0, 'approximate', 0,
    'firstSeen', firstSeen, 'lastSeen', lastSeen, 'openedAt', now, 'updatedAt', now, 'reopenCount', 0, 'version', 0)
  redis.call('SET', KEYS[1], id)
  redis.call('ZADD', KEYS[2], now, id)
  redis.call('ZADD', KEYS[3], now, id)
  redis.call('ZADD', KEYS[4], now, id)
  redis.call('ZADD', KEYS[5], now, id)
  redis.call('XADD', base .. id .. ':audit', '*', 'at', now, 'actor', 'detector', 'action', 'opened', 'outcome', 'ok',
    'details', cjson.encode({cluster = cluster, runbookId = runbook}))
  change = 'opened'
elseif target == 'reopen' then
  local key = base .. id
  local resolvedAt = redis.call('HGET', key, 'resolvedAt')
  redis.call('HSET', key, 'state', 'open', 'updatedAt', now)
  redis.call('HDEL', key, 'resolvedAt')
  redis.call('HINCRBY', key, 'reopenCount', 1)
  local openedAt = redis.call('HGET', key, 'openedAt')
  redis.call('ZADD', KEYS[3], openedAt, id)
  redis.call('ZADD', KEYS[5], openedAt, id)
  for _, suffix in ipairs(TRACKING) do redis.call('PERSIST', key .. suffix) end
  for _, k in ipairs(classSketchKeys(key)) do redis.call('PERSIST', k) end
  redis.call('XADD', key .. ':audit', '*', 'at', now, 'actor', 'detector', 'action', 'reopened', 'outcome', 'ok',
    'details', cjson.encode({previousState = 'resolved', resolvedAt = tonumber(resolvedAt),
      reason = 'failure signals again within the cooldown after resolution'}))
  change = 'reopened'
end

local key = base .. id
local approx = redis.call('HGET', key, 'approximate') == '1'
local changed = false

-- Event counts: keep the highest count per event uid; occurrences grow by the increase only
-- (mergeEventCount in count-merge.ts). Past the cap an event's last count is not kept, so its increase
-- cannot be known: such events are estimated with HyperLogLogs per error class, one of event uids and one
-- of "occurrence tokens" uid#1..uid#count. A count of N adds N distinct tokens once, whatever the order and
-- repetition of deliveries, so PFCOUNT estimates the sum of the untracked events' counts (about 1 %).
local evKey = key .. ':events'
local evStart = 16
local packedCounts, packedClasses = ARGV[evStart + nEvents], ARGV[evStart + nEvents + 1]
local classStart = evStart + nEvents + 2 + nPods + nNodes + nNs
local classEvents, classOcc = {}, {}
local occDelta = 0
local evCount = redis.call('HLEN', evKey)
local sigKey = key .. ':sigs'

local names = {}
-- A class's name in the signatures hash; past MAX_CLASSES new classes count as 'other'.
local function className(c)
  if names[c] then return names[c] end
  local name = ARGV[classStart + (c - 1) * 2]
  if redis.call('HEXISTS', sigKey, 'e:' .. name) == 0 and redis.call('HLEN', sigKey) >= MAX_CLASSES * CLASS_FIELDS then
    name = 'other'
  end
  names[c] = name
  return name
end

local untracked = {}
local function flushUntracked(c)
  local u = untracked[c]
  if not u or #u.uids == 0 then return end
  local name = className(c)
  redis.call('PFADD', key .. ':evs:' .. name, unpack(u.uids))
  for s = 1, #u.tokens, CHUNK do
    redis.call('PFADD', key .. ':occ:' .. name, unpack(u.tokens, s, math.min(s + CHUNK - 1, #u.tokens)))
  end
  u.uids, u.tokens, u.flushed = {}, {}, true
end
-- One pass over each packed string, in step with the uids.
local nextCount = string.gmatch(packedCounts, '[^,]+')
local nextClass = packedClasses ~= '' and string.gmatch(packedClasses, '[^,]+') or nil
local i = 0
while i < nEvents do
  local n = math.min(CHUNK, nEvents - i)
  local first = evStart + i
  local prev = redis.call('HMGET', evKey, unpack(ARGV, first, first + n - 1))
  local updates = {}
  for j = 1, n do
    local uid = ARGV[first + j - 1]
    local count = tonumber(nextCount())
    local cls = nextClass and tonumber(nextClass()) or 1
    local p = prev[j] and tonumber(prev[j]) or nil
    local delta, isNew = 0, false
    if p == nil then
      if evCount < cap then
        evCount = evCount + 1
        isNew, delta = true, count
        updates[#updates + 1] = uid
        updates[#updates + 1] = count
      else
        approx = true
        redis.call('PFADD', evKey .. ':hll', uid)
        local u = untracked[cls]
        if not u then
          u = { uids = {}, tokens = {} }
          untracked[cls] = u
        end
        u.uids[#u.uids + 1] = uid
        for t = 1, math.min(count, TOKENS) do u.tokens[#u.tokens + 1] = uid .. '#' .. t end
        if #u.tokens >= 20 * CHUNK then flushUntracked(cls) end
      end
    elseif count > p then
      delta = count - p
      updates[#updates + 1] = uid
      updates[#updates + 1] = count
    end
    if isNew then classEvents[cls] = (classEvents[cls] or 0) + 1 end
    if delta > 0 then
      occDelta = occDelta + delta
      classOcc[cls] = (classOcc[cls] or 0) + delta
    end
  end
  if #updates > 0 then redis.call('HSET', evKey, unpack(updates)) end
  i = i + n
end

-- Distinct members, exact up to the cap; beyond it a HyperLogLog keeps memory bounded.
local function addMembers(setKey, offset, count)
  if count == 0 then return end
  local card = redis.call('SCARD', setKey)
  if card + count <= cap then
    for s = 0, count - 1, CHUNK do
      local e = math.min(s + CHUNK, count)
      redis.call('SADD', setKey, unpack(ARGV, offset + s, offset + e - 1))
    end
    return
  end
  for s = 0, count - 1 do
    local m = ARGV[offset + s]
    if redis.call('SISMEMBER', setKey, m) == 0 then
      if card < cap then
        redis.call('SADD', setKey, m)
        card = card + 1
      else
        approx = true
        redis.call('PFADD', setKey .. ':hll', m)
      end
    end
  end
end
local podStart = evStart + nEvents + 2
addMembers(key .. ':pods', podStart, nPods)
addMembers(key .. ':nodes', podStart + nPods, nNodes)
addMembers(key .. ':namespaces', podStart + nPods + nNodes, nNs)

local function distinct(k, isHash)
  local n = isHash and redis.call('HLEN', k) or redis.call('SCARD', k)
  if approx then n = n + redis.call('PFCOUNT', k .. ':hll') end
  return n
end

for c in pairs(untracked) do flushUntracked(c) end

local old = redis.call('HMGET', key, 'events', 'occurrences', 'pods', 'nodes', 'namespaces', 'firstSeen', 'lastSeen', 'approximate', 'occExact')
local events = distinct(evKey, true)
-- Incidents opened before occExact existed: their occurrences were all exact.
local occExact = (tonumber(old[9]) or tonumber(old[2])) + occDelta
local occEstimated = 0
local pods, nodes, nss = distinct(key .. ':pods'), distinct(key .. ':nodes'), distinct(key .. ':namespaces')
local newFirst = math.min(tonumber(old[6]), firstSeen)
local newLast = math.max(tonumber(old[7]), lastSeen)
local approxFlag = approx and '1' or '0'

for c = 1, nClasses do
  local e, o = classEvents[c] or 0, classOcc[c] or 0
  if e > 0 or o > 0 or untracked[c] then
    local name = className(c)
    redis.call('HINCRBY', sigKey, 'e:' .. name, e)
    redis.call('HINCRBY', sigKey, 'o:' .. name, o)
    redis.call('HSETNX', sigKey, 'm:' .. name, ARGV[classStart + (c - 1) * 2 + 1])
    if untracked[c] then
      local eu = redis.call('PFCOUNT', key .. ':evs:' .. name)
      local ou = redis.call('PFCOUNT', key .. ':occ:' .. name)
      local prev = redis.call('HMGET', sigKey, 'eu:' .. name, 'ou:' .. name)
      if tonumber(prev[1]) ~= eu or tonumber(prev[2]) ~= ou then
        redis.call('HSET', sigKey, 'eu:' .. name, eu, 'ou:' .. name, ou)
        changed = true
      end
    end
    if e > 0 or o > 0 then changed = true end
  end
end

if approx then
  local sigs = redis.call('HGETALL', sigKey)
  for f = 1, #sigs, 2 do
    if string.sub(sigs[f], 1, 3) == 'ou:' then occEstimated = occEstimated + tonumber(sigs[f + 1]) end
  end
end
local occurrences = occExact + occEstimated
if events ~= tonumber(old[1]) or occurrences ~= tonumber(old[2]) or pods ~= tonumber(old[3])
  or nodes ~= tonumber(old[4]) or nss ~= tonumber(old[5]) or newFirst ~= tonumber(old[6])
  or newLast ~= tonumber(old[7]) or approxFlag ~= old[8] then
  changed = true
end

if changed or change then
  redis.call('HSET', key, 'events', events, 'occurrences', occurrences, 'occExact', occExact, 'pods', pods, 'nodes', nodes,
    'namespaces', nss, 'firstSeen', newFirst, 'lastSeen', newLast, 'approximate', approxFlag, 'updatedAt', now)
  redis.call('HINCRBY', key, 'version', 1)
end
if not change then change = changed and 'updated' or 'unchanged' end
return {change, redis.call('HGETALL', key), redis.call('HGETALL', sigKey)}
