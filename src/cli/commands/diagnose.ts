import type { Command } from 'commander';
import type { DiagnoseFlags } from '../actions/diagnose.js';
import { addClustersOption, addRunbooksOption } from '../options.js';
import type { RegisterCommand } from './index.js';

export const registerDiagnose: RegisterCommand = (program: Command, ctx) => {
  const cmd = program
    .command('diagnose')
    .description(
      'run one diagnosis of CLUSTER through the same queue and checks as the bot and print the report (exit 0 healthy, 1 problems found, 2 could not diagnose)',
    )
    .argument('<cluster>', 'cluster name from the clusters file')
    .option('--json', 'print the diagnosis as one JSON document on stdout')
    .option(
      '--node <name>',
      'probe this node (repeat for several; default: the affected nodes)',
      (value: string, all: string[] | undefined) => [...(all ?? []), value],
    )
    .option('--timeout <seconds>', 'give up after this many seconds', '120');
  addClustersOption(cmd);
  addRunbooksOption(cmd);
  // The implementation is loaded on use, so `--help` and other commands do not pay for its imports.
  cmd.action(async (clusterName: string, flags: DiagnoseFlags) => {
    ctx.setExitCode(await (await import('../actions/diagnose.js')).runDiagnose(clusterName, flags));
  });
};
