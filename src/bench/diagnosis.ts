import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { kubeClientsFactory } from '../kube/clients.js';
import { parseClustersConfig } from '../config/clusters.js';
import {
  DEFAULT_PROBE_DEADLINE_SECONDS,
  DEFAULT_PROBE_NAMESPACE,
  DiagnosisService,
} from '../diagnosis/service.js';
import { IncidentStore } from '../incidents/store.js';
import { loadRunbooks, shippedRunbooksDir } from '../runbooks/load.js';
import { startSimulator } from '../sim/kube/simulator.js';
import type { BenchOptions } from './run.js';

export interface DiagnosisFigures {
  nodes: number;
  /** Nodes the diagnosis probed (affected nodes, capped). */
  probed: number;
  checks: number;
  /** From DiagnosisService.start to the verdict, with the simulated cluster already settled. */
  wall_ms: number;
  root_cause: string | null;
}

/**
 * One full diagnosis (every check, probe pods on the affected nodes, verdict and plan) of a large simulated
 * cluster where Flannel is missing, so every node is affected.
 */
export async function runDiagnosisBench(opts: BenchOptions & { nodes: number }): Promise<DiagnosisFigures> {
  opts.log(`diagnosis: a ${opts.nodes}-node simulated cluster (flannel-missing)`);
  const sim = await startSimulator({
    scenario: 'flannel-missing',
    nodes: opts.nodes,
    port: 0,
    retryIntervalMs: 3_600_000,
    startDelayMs: 10,
  });
  const prefix = `${opts.keyPrefix}-bench-${randomBytes(4).toString('hex')}`;
  const redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: null });
  const store = new IncidentStore({ redis, prefix });
  const clusters = parseClustersConfig({
    clusters: [{ name: 'bench', kubeconfig: sim.kubeconfigPath, channel: 'C0BENCH' }],
  }).clusters;
  const service = new DiagnosisService({
    redis,
    prefix,
    store,
    runbooks: loadRunbooks(shippedRunbooksDir()),
    clients: kubeClientsFactory(clusters),
    probe: {
      namespace: DEFAULT_PROBE_NAMESPACE,
      image: 'busybox:1.36',
      concurrency: clusters[0].remediation.probeConcurrency,
      deadlineSeconds: DEFAULT_PROBE_DEADLINE_SECONDS,
    },
  });
  try {
    await sim.settle();
    await service.waitUntilReady();
    const started = Date.now();
    const { id } = await service.start({ cluster: 'bench', requestedBy: 'bench' });
    const diagnosis = await service.result(id, 120_000);
    return {
      nodes: opts.nodes,
      probed: diagnosis.nodes.length,
      checks: diagnosis.checks.length,
      wall_ms: Date.now() - started,
      root_cause: diagnosis.causes[0]?.id ?? null,
    };
  } finally {
    await service.close();
    await sim.stop();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  }
}
