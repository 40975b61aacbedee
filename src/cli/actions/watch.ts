import { findCluster, loadClustersFile } from '../../config/clusters.js';
import { configureLoggingFromEnv, loadEnv } from '../../config/env.js';
import { createRedis } from '../../coordination/redis-connection.js';
import { IncidentStore } from '../../incidents/store.js';
import { kubeConfigForCluster } from '../../kube/kubeconfig.js';
import { loadRunbooks } from '../../runbooks/load.js';
import { log } from '../../util/log.js';
import { incidentEventJson, incidentEventLine, replicaLine, statusLine } from '../../watch/format.js';
import { terminalJson } from '../../util/sanitize.js';
import { WatchService } from '../../watch/watch-service.js';
import type { IncidentEvent } from '../../watch/cluster-watcher.js';
import { followLifecycle } from '../../lifecycle/event-stream.js';
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
  const print = (e: IncidentEvent) =>
    process.stdout.write(
      `${opts.json ? terminalJson(JSON.stringify(incidentEventJson(e))) : incidentEventLine(e)}\n`,
    );
  const service = new WatchService({
    clusters,
    runbooks,
    store,
    kubeConfigFor: kubeConfigForCluster,
    election: { redis, keyPrefix: env.keyPrefix },
    onIncident: print,
    onStatus: (s) => process.stderr.write(`${statusLine(s)}\n`),
    onReplica: (r) => process.stderr.write(`${replicaLine(r)}\n`),
    onError: (cluster, err) => log.debug('watch error', { cluster, err }),
  });
  service.start();
  // Resolutions come from the bot's lifecycle (any replica), published on a Redis stream.
  const follower = redis.duplicate();
  follower.on('error', (err) => log.debug('watch stream error', { err }));
  const stop = new AbortController();
  const following = followLifecycle(
    follower,
    env.keyPrefix,
    (incident) => {
      if (incident.state !== 'resolved') return;
      if (opts.cluster?.length && !clusters.some((c) => c.name === incident.cluster)) return;
      print({ event: 'resolved', cluster: incident.cluster, incident });
    },
    stop.signal,
  );
  await untilSignal();
  stop.abort();
  await service.stop();
  await following;
  follower.disconnect();
  await store.close();
  redis.disconnect();
}
