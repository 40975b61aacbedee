import type { Command } from 'commander';
import { loadClustersFile } from '../../config/clusters.js';
import { configureLoggingFromEnv, loadEnv } from '../../config/env.js';
import { startBot } from '../../bot/start-bot.js';
import { loadRunbooks } from '../../runbooks/load.js';
import { log } from '../../util/log.js';
import { addClustersOption, addRunbooksOption, resolveClustersPath, resolveRunbooksDir } from '../options.js';
import { untilSignal } from '../signals.js';
import type { RegisterCommand } from './index.js';

export const registerRun: RegisterCommand = (program: Command) => {
  const cmd = program
    .command('run')
    .description(
      'the bot for real: watch every configured cluster, diagnose incidents and talk to Slack (Socket Mode by default, SLACK_MODE=http for the HTTP receiver on HTTP_PORT) until SIGTERM',
    );
  addClustersOption(cmd);
  addRunbooksOption(cmd);
  cmd.action(async (opts: { clusters?: string; runbooks?: string }) => {
    const env = loadEnv(process.env, { require: ['slack'] });
    configureLoggingFromEnv(env);
    const config = loadClustersFile(resolveClustersPath(opts));
    const runbooks = loadRunbooks(resolveRunbooksDir(opts));
    const bot = await startBot({ env, clusters: config.clusters, runbooks });
    log.info('flannel-ops is running', {
      clusters: config.clusters.map((c) => c.name),
      mode: env.slackMode,
      ...(bot.requestUrl && { requestUrl: bot.requestUrl }),
    });
    const signal = await untilSignal();
    log.info('shutting down', { signal });
    await bot.stop();
  });
};
