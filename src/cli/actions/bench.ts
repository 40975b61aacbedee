import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatReport, runBench as runBenchSuite, withLatestRun } from '../../bench/report.js';
import { projectRoot } from '../../bench/run.js';
import { loadEnv } from '../../config/env.js';

export interface BenchFlags {
  quick?: boolean;
  out?: string;
  json?: boolean;
  hub?: boolean;
}

/** `flannel-ops bench`: runs the suite (progress on stderr) and prints the report on stdout. */
export async function runBench(flags: BenchFlags): Promise<void> {
  const env = loadEnv();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  if (flags.hub) return runHub(flags, env, log);
  const report = await runBenchSuite({
    quick: Boolean(flags.quick),
    redisUrl: env.redisUrl,
    keyPrefix: env.keyPrefix,
    log,
  });
  const json = JSON.stringify(report, null, 2);
  if (flags.out) writeFileSync(flags.out, `${json}\n`);
  // A full run is the one docs/benchmarks.md reports: its table there is replaced (a --quick run never is).
  if (!report.quick) {
    const doc = join(projectRoot(), 'docs', 'benchmarks.md');
    writeFileSync(
      doc,
      withLatestRun(existsSync(doc) ? readFileSync(doc, 'utf8') : '# Benchmarks\n', report, new Date()),
    );
    log(`bench: wrote the run's table to ${doc}`);
  }
  process.stdout.write(flags.json ? `${json}\n` : `${formatReport(report)}\n`);
}

/** `bench --hub`: the replicas benchmark alone (src/bench/hub.ts), reported as `{ hub: {...} }`. */
async function runHub(
  flags: BenchFlags,
  env: { redisUrl: string; keyPrefix: string },
  log: (line: string) => void,
): Promise<void> {
  const { runHubBench } = await import('../../bench/hub.js');
  const hub = await runHubBench({
    quick: Boolean(flags.quick),
    redisUrl: env.redisUrl,
    keyPrefix: env.keyPrefix,
    log,
  });
  const json = JSON.stringify({ hub }, null, 2);
  if (flags.out) writeFileSync(flags.out, `${json}\n`);
  const text = [
    `hub: ${hub.clusters} clusters on ${hub.replicas} replicas`,
    `  per replica: ${hub.per_replica.join(' / ')} (max ${hub.max_per_replica}, target <= ${Math.ceil(hub.clusters / hub.replicas) + 1})`,
    `  after one was SIGKILLed: ${hub.per_replica_after.join(' / ')}; taken over in ${hub.failover_s} s (target <= 15 s)`,
    `  duplicate incidents: ${hub.duplicate_incidents} (target 0)`,
    `  memory per watched cluster: ${hub.rss_per_cluster_mb} MiB`,
  ].join('\n');
  process.stdout.write(flags.json ? `${json}\n` : `${text}\n`);
}
