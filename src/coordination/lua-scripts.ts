/**
 * The one loader of the Redis Lua scripts (`*.lua` beside the modules that run them, e.g.
 * src/incidents/lua/). Scripts run atomically inside Redis, so replicas never race each other; ioredis'
 * defineCommand runs them with EVALSHA and falls back to EVAL after a Redis restart emptied its script cache.
 *
 * Paths are relative to src/. Running from src/ (tsx, Jest) the files are beside the modules; running the
 * compiled build (dist/src/...), tsc copies no .lua file, so the loader falls back to the repository's src/.
 * A line `--@include <path>` is replaced by that file (shared Lua helpers, e.g. incidents/lua/tracking.lua).
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

const cache = new Map<string, string>();

/** Where `path` (relative to src/) may be: beside this module's tree, then the repository's src/. */
function candidates(path: string): URL[] {
  return [new URL(`../${path}`, import.meta.url), new URL(`../../../src/${path}`, import.meta.url)];
}

function readScript(path: string): string {
  for (const url of candidates(path)) {
    try {
      return readFileSync(url, 'utf8');
    } catch {
      // try the next location
    }
  }
  throw new Error(
    `Lua script ${path} not found (looked at ${candidates(path)
      .map((u) => u.pathname)
      .join(', ')})`,
  );
}

/** The script's text with its includes expanded (cached). */
export function luaScript(path: string, seen: readonly string[] = []): string {
  const cached = cache.get(path);
  if (cached !== undefined) return cached;
  if (seen.includes(path)) throw new Error(`Lua include cycle: ${[...seen, path].join(' -> ')}`);
  const text = readScript(path).replace(/^--@include (\S+)[ \t]*$/gm, (_, included: string) =>
    luaScript(included, [...seen, path]),
  );
  cache.set(path, text);
  return text;
}

export interface LuaCommand {
  /** Path relative to src/, e.g. 'incidents/lua/record-signals.lua'. */
  file: string;
  /** How many of the arguments are keys. */
  keys: number;
}

/** Defines each script as a command on the connection (idempotent: the same name is defined once). */
export function defineLuaCommands(redis: Redis, commands: Record<string, LuaCommand>): void {
  for (const [name, { file, keys }] of Object.entries(commands)) {
    redis.defineCommand(name, { numberOfKeys: keys, lua: luaScript(file) });
  }
}

/** Every script shipped (for the compiled-build check and the docs). */
export const LUA_SCRIPTS = [
  'coordination/lua/gcra.lua',
  'coordination/lua/lock-acquire.lua',
  'coordination/lua/lock-extend.lua',
  'coordination/lua/lock-fence-check.lua',
  'coordination/lua/membership-heartbeat.lua',
  'coordination/lua/membership-leave.lua',
  'coordination/lua/release-if-owner.lua',
  'coordination/lua/semaphore-acquire.lua',
  'coordination/lua/semaphore-release.lua',
  'incidents/lua/audit.lua',
  'incidents/lua/record-signals.lua',
  'incidents/lua/set-extras.lua',
  'incidents/lua/transition.lua',
  'lifecycle/lua/plan-decide.lua',
  'lifecycle/lua/plan-node.lua',
  'lifecycle/lua/plan-step.lua',
  'slack/lua/outbox-commit.lua',
  'slack/lua/outbox-release.lua',
  'slack/lua/outbox-upsert.lua',
] as const;
