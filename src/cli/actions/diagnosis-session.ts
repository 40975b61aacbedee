import { userInfo } from 'node:os';
import { findCluster, loadClustersFile, type ClusterConfig } from '../../config/clusters.js';
import { configureLoggingFromEnv, loadEnv } from '../../config/env.js';
import { assertRedisReachable } from '../../coordination/queue-connection.js';
import { createRedis } from '../../coordination/redis-connection.js';
import { DEFAULT_PROBE_DEADLINE_SECONDS, DiagnosisService } from '../../diagnosis/service.js';
import { IncidentStore } from '../../incidents/store.js';
import { kubeClientsFactory, type KubeClients } from '../../kube/clients.js';
import { loadRunbooks } from '../../runbooks/load.js';
import { resolveClustersPath, resolveRunbooksDir } from '../options.js';

/** What `diagnose` and `preflight` run a diagnosis with: the cluster, its clients and a DiagnosisService. */
export interface DiagnosisSession {
  cluster: ClusterConfig;
  /** The cluster's API clients (built now, so a broken kubeconfig stops before anything starts). */
  kube: KubeClients;
  service: DiagnosisService;
  close(): Promise<void>;
}

/**
 * Loads the environment, the clusters file and the runbooks, checks Redis answers, and starts a DiagnosisService
 * for `clusterName`. Each loading step runs inside `orExit2`, which words its failure as the command's "could not
 * diagnose / could not tell" (exit code 2). Other clusters' clients are made on demand: this process's workers may
 * also pick up jobs of diagnoses other processes (the bot) started.
 */
export async function openDiagnosisSession(
  clusterName: string,
  flags: { clusters?: string; runbooks?: string },
  orExit2: <T>(load: () => T) => T,
): Promise<DiagnosisSession> {
  const env = orExit2(() => loadEnv());
  configureLoggingFromEnv({ ...env, logLevel: env.logLevel === 'info' ? 'warn' : env.logLevel });
  const config = orExit2(() => loadClustersFile(resolveClustersPath(flags)));
  const cluster = orExit2(() => findCluster(config, clusterName));
  const runbooks = orExit2(() => loadRunbooks(resolveRunbooksDir(flags)));
  const clientsFor = kubeClientsFactory(config.clusters, { shareReads: true });
  const kube = orExit2(() => clientsFor(cluster.name));
  await assertRedisReachable(env.redisUrl);

  const redis = createRedis(env.redisUrl);
  const store = new IncidentStore({ redis, prefix: env.keyPrefix });
  const service = new DiagnosisService({
    redis: env.redisUrl,
    prefix: env.keyPrefix,
    store,
    runbooks,
    clients: clientsFor,
    probe: {
      namespace: env.probeNamespace,
      image: env.probeImage,
      ...(env.probeCriSocketDir && { criSocketDir: env.probeCriSocketDir }),
      concurrency: cluster.remediation.probeConcurrency,
      deadlineSeconds: DEFAULT_PROBE_DEADLINE_SECONDS,
    },
  });
  return {
    cluster,
    kube,
    service,
    close: async () => {
      await service.close();
      await store.close();
      redis.disconnect();
    },
  };
}

/** Who ran the command, for `requestedBy` (cli:alice, preflight:alice). */
export function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
