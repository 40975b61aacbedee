import type { Command } from 'commander';
import type { BenchFlags } from '../actions/bench.js';
import type { RegisterCommand } from './index.js';

export const registerBench: RegisterCommand = (program: Command) => {
  program
    .command('bench')
    .description(
      'run the benchmark suite: an event storm against the simulator, the bot vs a kubectl baseline (prints figures and ratios)',
    )
    .option('--quick', 'a reduced suite (2,000 events over 100 nodes) that runs in about a minute')
    .option('--out <file>', 'also write the JSON report to this file')
    .option('--json', 'print only the JSON report on stdout')
    .option(
      '--hub',
      'only the hub benchmark: 100 clusters (30 with --quick) on 3 watch replicas, one SIGKILLed mid-run',
    )
    // The implementation (and config/env.js, which loads zod) is loaded on use.
    .action(async (flags: BenchFlags) => (await import('../actions/bench.js')).runBench(flags));
};
