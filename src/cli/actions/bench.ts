import { writeFileSync } from 'node:fs';
import { formatReport, runBench as runBenchSuite } from '../../bench/report.js';
import { loadEnv } from '../../config/env.js';

export interface BenchFlags {
  quick?: boolean;
  out?: string;
  json?: boolean;
}

/** `flannel-ops bench`: runs the suite (progress on stderr) and prints the report on stdout. */
export async function runBench(flags: BenchFlags): Promise<void> {
  const env = loadEnv();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const report = await runBenchSuite({
    quick: Boolean(flags.quick),
    redisUrl: env.redisUrl,
    keyPrefix: env.keyPrefix,
    log,
  });
  const json = JSON.stringify(report, null, 2);
  if (flags.out) writeFileSync(flags.out, `${json}\n`);
  process.stdout.write(flags.json ? `${json}\n` : `${formatReport(report)}\n`);
}
