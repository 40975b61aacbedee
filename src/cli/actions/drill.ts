import { z } from 'zod';
import { drillExitCode, formatDrillTable, type DrillResult } from '../../demo/drill-report.js';
import { runDrill } from '../../demo/drill.js';
import { redisAnswers, startPrivateRedis, type RedisHandle } from '../../demo/private-redis.js';
import { BUILTIN_SCENARIOS } from '../../sim/kube/scenario/builtin-names.js';
import { UserError } from '../../util/errors.js';
import { terminalJson } from '../../util/sanitize.js';
import { resolveRunbooksDir } from '../options.js';

export interface DrillFlags {
  scenario?: string[];
  all?: boolean;
  json?: boolean;
  parallel: string;
  timeout: string;
  runbooks?: string;
}

const flagsSchema = z.object({
  parallel: z.coerce.number().int('--parallel must be a whole number').min(1).max(8),
  timeout: z.coerce.number().int('--timeout must be a whole number of seconds').min(10).max(3600),
});

/** `flannel-ops drill`: runs the chosen scenarios (a few at a time), prints a table (or JSON). */
export async function runDrills(flags: DrillFlags): Promise<number> {
  const parsed = flagsSchema.safeParse(flags);
  if (!parsed.success)
    throw new UserError(parsed.error.issues.map((i) => `--${String(i.path[0])}: ${i.message}`).join('; '));
  const names = flags.all ? [...BUILTIN_SCENARIOS] : [...new Set(flags.scenario ?? [])];
  if (flags.all && flags.scenario?.length) throw new UserError('use either --scenario or --all, not both');
  if (names.length === 0) throw new UserError('name a scenario (--scenario NAME) or use --all');
  const unknown = names.filter((n) => !(BUILTIN_SCENARIOS as readonly string[]).includes(n));
  if (unknown.length)
    throw new UserError(
      `unknown scenario ${unknown.map((n) => `"${n}"`).join(', ')}; built-in scenarios: ${BUILTIN_SCENARIOS.join(', ')}`,
    );
  const runbooksDir = resolveRunbooksDir(flags);
  const say = (line: string) => process.stderr.write(`drill: ${line}\n`);
  const redis = await drillRedis();
  say(`redis: ${redis.source}`);
  const env = { ...process.env, REDIS_URL: redis.url };
  const results: DrillResult[] = new Array(names.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < names.length; i = next++) {
      say(`${names[i]}: starting`);
      results[i] = await runDrill({
        scenario: names[i],
        runbooksDir,
        env,
        timeoutMs: parsed.data.timeout * 1000,
        log: (line) => say(line),
      });
      say(`${names[i]}: ${results[i].outcome} (verdict ${results[i].named ?? '-'})`);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(parsed.data.parallel, names.length) }, worker));
  } finally {
    await redis.stop();
  }
  process.stdout.write(
    flags.json
      ? `${terminalJson(JSON.stringify({ drills: results, passed: drillExitCode(results) === 0 }, null, 2))}\n`
      : formatDrillTable(results),
  );
  return drillExitCode(results);
}

/** REDIS_URL when set (every drill under its own key prefix, deleted after), else one private redis-server. */
async function drillRedis(): Promise<RedisHandle> {
  const configured = process.env.REDIS_URL?.trim();
  if (configured) return { url: configured, source: 'REDIS_URL', stop: async () => {} };
  try {
    return await startPrivateRedis();
  } catch (err) {
    const fallback = 'redis://127.0.0.1:6379';
    if (await redisAnswers(fallback)) return { url: fallback, source: fallback, stop: async () => {} };
    throw new UserError(
      `drills need Redis: install redis-server (apt-get install redis-server) or set REDIS_URL (${(err as Error).message})`,
    );
  }
}
