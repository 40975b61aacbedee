import { loadClustersFile } from '../../config/clusters.js';
import { configureLoggingFromEnv, loadEnv } from '../../config/env.js';
import { startBot } from '../../bot/start-bot.js';
import { loadRunbooks } from '../../runbooks/load.js';
import { log } from '../../util/log.js';
import { resolveClustersPath, resolveRunbooksDir } from '../options.js';
import { untilSignal } from '../signals.js';

export interface RunOptions {
  clusters?: string;
  runbooks?: string;
}

/** `flannel-ops run`: the bot for every configured cluster until SIGINT/SIGTERM. */
export async function runBot(opts: RunOptions): Promise<void> {
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
}
