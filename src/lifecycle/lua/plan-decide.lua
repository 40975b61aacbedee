-- Approve or reject one step, atomically: only on the incident's current plan version, only while the step
-- awaits approval, one decision per person. KEYS: plan hash, incident hash.
-- ARGV: version, stepId, user, nowMs, 'approve'|'reject', required approvals.
-- Returns {outcome, stepJSON}: approved | recorded | rejected | duplicate | state | superseded | unknown-step.
local cur = redis.call('HGET', KEYS[2], 'x:planVersion')
if cur ~= ARGV[1] then return {'superseded', cur or ''} end
local raw = redis.call('HGET', KEYS[1], 's:' .. ARGV[2])
if not raw then return {'unknown-step', ''} end
local st = cjson.decode(raw)
if st.state ~= 'awaiting' then return {'state', raw} end
local approvals = st.approvals
if type(approvals) ~= 'table' then approvals = {} end
for _, a in ipairs(approvals) do
  if a.user == ARGV[3] then return {'duplicate', raw} end
end
local outcome
if ARGV[5] == 'reject' then
  st.state = 'rejected'
  st.rejectedBy = { user = ARGV[3], at = tonumber(ARGV[4]) }
  outcome = 'rejected'
else
  approvals[#approvals + 1] = { user = ARGV[3], at = tonumber(ARGV[4]) }
  st.approvals = approvals
  if #approvals >= tonumber(ARGV[6]) then st.state = 'approved'; outcome = 'approved' else outcome = 'recorded' end
end
local out = cjson.encode(st)
redis.call('HSET', KEYS[1], 's:' .. ARGV[2], out)
return {outcome, out}
