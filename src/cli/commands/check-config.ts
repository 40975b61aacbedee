import type { Command } from 'commander';
import type { CheckConfigOptions } from '../actions/check-config.js';
import { addClustersOption, addRunbooksOption } from '../options.js';
import type { CliContext, RegisterCommand } from './index.js';

export const registerCheckConfig: RegisterCommand = (program: Command, ctx: CliContext) => {
  const cmd = program
    .command('check-config')
    .description('validate the environment, the clusters file (and each kubeconfig) and the runbooks');
  addClustersOption(cmd);
  addRunbooksOption(cmd);
  cmd
    .option('--no-slack', 'do not require the Slack tokens (their format is still checked)')
    .option('--offline', "do not contact the clusters' API servers (Redis is still tried)")
    .addHelpText(
      'after',
      '\nTries Redis (REDIS_URL) and, unless --offline, GET /version on each cluster. Prints every error as\n"FILE: FIELD: REASON" and exits 1, or a summary and exits 0.',
    )
    // The implementation is loaded on use, so `--help` and other commands do not pay for its imports.
    .action(async (opts: CheckConfigOptions) => {
      ctx.setExitCode(await (await import('../actions/check-config.js')).runCheckConfig(opts));
    });
};
