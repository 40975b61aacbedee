import type { Command } from 'commander';
import type { PreflightFlags } from '../actions/preflight.js';
import { addClustersOption, addRunbooksOption } from '../options.js';
import type { RegisterCommand } from './index.js';

export const registerPreflight: RegisterCommand = (program: Command, ctx) => {
  const cmd = program
    .command('preflight')
    .description(
      'the post-install check for init scripts and CI: is Flannel fully deployed and ready on every node that needs it, with its CNI config and plugins in place on a sample of nodes? (exit 0 ready, 1 not ready, 2 could not tell)',
    )
    .argument('<cluster>', 'cluster name from the clusters file')
    .option('--json', 'print the result as one JSON document on stdout')
    .option('--sample <n>', 'working nodes to probe besides the affected ones', '3')
    .option(
      '--wait <seconds>',
      'not ready or could not tell: check again every 10 s until ready or this long has passed',
      '0',
    )
    .option('--timeout <seconds>', 'give up on one check run after this many seconds', '120');
  addClustersOption(cmd);
  addRunbooksOption(cmd);
  cmd.action(async (clusterName: string, flags: PreflightFlags) => {
    ctx.setExitCode(await (await import('../actions/preflight.js')).runPreflightCommand(clusterName, flags));
  });
};
