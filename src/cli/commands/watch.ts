import type { Command } from 'commander';
import { loadClustersFile } from '../../config/clusters.js';
import { configureLoggingFromEnv, loadEnv } from '../../config/env.js';
import { createRedis } from '../../coordination/redis-connection.js';
import { IncidentStore } from '../../incidents/store.js';
import { kubeConfigForCluster } from '../../kube/kubeconfig.js';
import { loadRunbooks } from '../../runbooks/load.js';
import { log } from '../../util/log.js';
import { incidentEventJson, incidentEventLine, statusLine } from '../../watch/format.js';
import { WatchService } from '../../watch/watch-service.js';
import { addClustersOption, addRunbooksOption, resolveClustersPath, resolveRunbooksDir } from '../options.js';
import { untilSignal } from '../signals.js';
import type { RegisterCommand } from './index.js';

interface WatchOptions {
  json?: boolean;
  clusters?: string;
  runbooks?: string;
  cluster?: string[];
}

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
  cmd.action(async (opts: WatchOptions) => {
    const env = loadEnv();
    configureLoggingFromEnv(env);
    const config = loadClustersFile(resolveClustersPath(opts));
    const runbooks = loadRunbooks(resolveRunbooksDir(opts));
    const clusters = opts.cluster?.length
      ? config.clusters.filter((c) => opts.cluster!.includes(c.name))
      : config.clusters;

    const redis = createRedis(env.redisUrl);
    const store = new IncidentStore({ redis, prefix: env.keyPrefix });
    const service = new WatchService({
      clusters,
      runbooks,
      store,
      kubeConfigFor: kubeConfigForCluster,
      election: { redis, keyPrefix: env.keyPrefix },
      onIncident: (e) => {
        process.stdout.write(`${opts.json ? JSON.stringify(incidentEventJson(e)) : incidentEventLine(e)}\n`);
      },
      onStatus: (s) => process.stderr.write(`${statusLine(s)}\n`),
      onError: (cluster, err) => log.debug('watch error', { cluster, err }),
    });
    service.start();
    await untilSignal();
    await service.stop();
    await store.close();
    redis.disconnect();
  });
};
