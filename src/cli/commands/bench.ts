import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadEnv } from '../../config/env.js';
import type { RegisterCommand } from './index.js';

interface BenchFlags {
  quick?: boolean;
  out?: string;
  json?: boolean;
}

export const registerBench: RegisterCommand = (program: Command) => {
  program
    .command('bench')
    .description(
      'run the benchmark suite: an event storm against the simulator, the bot vs a kubectl baseline (prints figures and ratios)',
    )
    .option('--quick', 'a reduced suite (2,000 events over 100 nodes) that runs in about a minute')
    .option('--out <file>', 'also write the JSON report to this file')
    .option('--json', 'print only the JSON report on stdout')
    .action(async (flags: BenchFlags) => {
      const { runBench, formatReport } = await import('../../bench/report.js');
      const env = loadEnv();
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const report = await runBench({
        quick: Boolean(flags.quick),
        redisUrl: env.redisUrl,
        keyPrefix: env.keyPrefix,
        log,
      });
      const json = JSON.stringify(report, null, 2);
      if (flags.out) writeFileSync(flags.out, `${json}\n`);
      process.stdout.write(flags.json ? `${json}\n` : `${formatReport(report)}\n`);
    });
};
