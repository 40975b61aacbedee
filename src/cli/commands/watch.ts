import type { Command } from 'commander';
import { addClustersOption, addRunbooksOption } from '../options.js';
import type { WatchOptions } from '../actions/watch.js';
import type { RegisterCommand } from './index.js';

export const registerWatch: RegisterCommand = (program: Command) => {
  const cmd = program
    .command('watch')
    .description(
      'detection only: watch every configured cluster and print each incident opened, updated or resolved (one line each)',
    )
    .option('--json', 'print one JSON object per line (event, id, cluster, runbook, counts, ...)')
    .option('--cluster <name...>', 'watch only these clusters');
  addClustersOption(cmd);
  addRunbooksOption(cmd);
  // The implementation is loaded on use, so `--help` and other commands do not pay for its imports.
  cmd.action(async (opts: WatchOptions) => (await import('../actions/watch.js')).runWatch(opts));
};
