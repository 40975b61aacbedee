/**
 * The incident store's Lua scripts (src/incidents/lua/*.lua; KEYS and ARGV are described at the top of each
 * file). They run atomically inside Redis, so two bot replicas (or a replay racing a live watch) can never
 * open two incidents or count one event twice.
 *
 * Timestamps are epoch milliseconds from the calling replica's clock (injectable in tests).
 */
import type { Redis } from 'ioredis';
import { defineLuaCommands } from '../coordination/lua-scripts.js';

export function defineIncidentScripts(redis: Redis): void {
  defineLuaCommands(redis, {
    flannelOpsRecordSignals: { file: 'incidents/lua/record-signals.lua', keys: 5 },
    flannelOpsTransition: { file: 'incidents/lua/transition.lua', keys: 3 },
    flannelOpsAudit: { file: 'incidents/lua/audit.lua', keys: 2 },
    flannelOpsSetExtras: { file: 'incidents/lua/set-extras.lua', keys: 1 },
  });
}
