-- Shared by record-signals.lua and transition.lua (expanded by the loader, src/coordination/lua-scripts.ts).
-- Keys whose only purpose is counting; they may expire some time after the incident ended.
local TRACKING = {':events', ':events:hll', ':pods', ':pods:hll', ':nodes', ':nodes:hll', ':namespaces', ':namespaces:hll'}

-- The per-class estimate keys (past the cap), named after the classes in the signatures hash.
local function classSketchKeys(key)
  local keys = {}
  for _, field in ipairs(redis.call('HKEYS', key .. ':sigs')) do
    if string.sub(field, 1, 3) == 'ou:' then
      local name = string.sub(field, 4)
      keys[#keys + 1] = key .. ':occ:' .. name
      keys[#keys + 1] = key .. ':evs:' .. name
    end
  end
  return keys
end
