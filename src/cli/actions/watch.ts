import { findCluster, loadClustersFile } from '../../config/clusters.js';
import { configureLoggingFromEnv, loadEnv } from '../../config/env.js';
import { createRedis } from '../../coordination/redis-connection.js';
import { IncidentStore } from '../../incidents/store.js';
import { kubeConfigForCluster } from '../../kube/kubeconfig.js';
import { loadRunbooks } from '../../runbooks/load.js';
import { log } from '../../util/log.js';
import { incidentEventJson, incidentEventLine, statusLine } from '../../watch/format.js';
import { terminalJson } from '../../util/sanitize.js';
import { WatchService } from '../../watch/watch-service.js';
import { resolveClustersPath, resolveRunbooksDir } from '../options.js';
import { untilSignal } from '../signals.js';

export interface WatchOptions {
  json?: boolean;
  clusters?: string;
  runbooks?: string;
  cluster?: string[];
}

/** `flannel-ops watch`: runs detection for the configured clusters until SIGINT/SIGTERM. */
export async function runWatch(opts: WatchOptions): Promise<void> {
  const env = loadEnv();
  configureLoggingFromEnv(env);
  const config = loadClustersFile(resolveClustersPath(opts));
  const runbooks = loadRunbooks(resolveRunbooksDir(opts));
  // An unknown --cluster is a typo to report, not a cluster to skip silently.
  const clusters = opts.cluster?.length
    ? opts.cluster.map((name) => findCluster(config, name))
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
      process.stdout.write(
        `${opts.json ? terminalJson(JSON.stringify(incidentEventJson(e))) : incidentEventLine(e)}\n`,
      );
    },
    onStatus: (s) => process.stderr.write(`${statusLine(s)}\n`),
    onError: (cluster, err) => log.debug('watch error', { cluster, err }),
  });
  service.start();
  await untilSignal();
  await service.stop();
  await store.close();
  redis.disconnect();
}
