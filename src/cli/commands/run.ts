import type { Command } from 'commander';
import type { RunOptions } from '../actions/run.js';
import { addClustersOption, addRunbooksOption } from '../options.js';
import type { RegisterCommand } from './index.js';

export const registerRun: RegisterCommand = (program: Command) => {
  const cmd = program
    .command('run')
    .description(
      'the bot for real: watch every configured cluster, diagnose incidents and talk to Slack (Socket Mode by default, SLACK_MODE=http for the HTTP receiver on HTTP_PORT) until SIGTERM',
    );
  addClustersOption(cmd);
  addRunbooksOption(cmd);
  // The implementation is loaded on use, so `--help` and other commands do not pay for its imports.
  cmd.action(async (opts: RunOptions) => (await import('../actions/run.js')).runBot(opts));
};
