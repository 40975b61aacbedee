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
  /** Nodes the diagnosis probed (affected nodes, capped: see diagnosis/affected-nodes.ts). */
  nodes_probed: number;
  checks: number;
  /** From DiagnosisService.start to the verdict, with the simulated cluster already settled. */
  wall_ms: number;
  /** How long a probe pod takes to start in the simulated cluster (kubelet start delay). */
  pod_start_ms: number;
  /** Probe pods: from the diagnosis' start to each pod's creation (waiting for a concurrency slot), mean. */
  probe_queued_ms: number;
  /** Probe pods: from creation to running (the pod start), mean. */
  probe_starting_ms: number;
  /** Probe pods: from running to finished, mean. */
  probe_running_ms: number;
  probe_concurrency: number;
  root_cause: string | null;
}

/**
 * One full diagnosis (every check, probe pods on the affected nodes, verdict and plan) of a large simulated
 * cluster where Flannel is missing, so every node is affected.
 */
export async function runDiagnosisBench(
  opts: BenchOptions & { nodes: number; podStartMs: number },
): Promise<DiagnosisFigures> {
  opts.log(
    `diagnosis: a ${opts.nodes}-node simulated cluster (flannel-missing), pods start in ${opts.podStartMs} ms`,
  );
  const sim = await startSimulator({
    scenario: 'flannel-missing',
    nodes: opts.nodes,
    port: 0,
    retryIntervalMs: 3_600_000,
    // Every pod, the probe pods included, starts this long after it is bound (a real image pull and sandbox).
    startDelayMs: opts.podStartMs,
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
    clients: kubeClientsFactory(clusters, { shareReads: true }),
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
    // Probe pods' life, timed in the simulator (the stand-in), not in the diagnosing code.
    const pods = new Map<string, { created: number; running?: number; done?: number }>();
    const unsubscribe = sim.store.subscribe((change) => {
      const o = change.object as {
        kind?: string;
        metadata?: { namespace?: string; name?: string };
        status?: { phase?: string };
      };
      if (o.kind !== 'Pod' || o.metadata?.namespace !== DEFAULT_PROBE_NAMESPACE) return;
      const name = o.metadata.name ?? '';
      const now = Date.now();
      let pod = pods.get(name);
      if (!pod) pods.set(name, (pod = { created: now }));
      const phase = o.status?.phase;
      if (phase === 'Running' && pod.running === undefined) pod.running = now;
      if (
        (phase === 'Succeeded' || phase === 'Failed' || change.type === 'DELETED') &&
        pod.done === undefined
      )
        pod.done = now;
    });
    const started = Date.now();
    const { id } = await service.start({ cluster: 'bench', requestedBy: 'bench' });
    const diagnosis = await service.result(id, 120_000);
    const wall = Date.now() - started;
    unsubscribe();
    const mean = (values: number[]) =>
      values.length ? Math.round(values.reduce((a, b) => a + b, 0) / values.length) : 0;
    const all = [...pods.values()];
    return {
      nodes: opts.nodes,
      nodes_probed: diagnosis.nodes.length,
      checks: diagnosis.checks.length,
      wall_ms: wall,
      pod_start_ms: opts.podStartMs,
      probe_queued_ms: mean(all.map((p) => p.created - started)),
      probe_starting_ms: mean(all.flatMap((p) => (p.running ? [p.running - p.created] : []))),
      probe_running_ms: mean(all.flatMap((p) => (p.running && p.done ? [p.done - p.running] : []))),
      probe_concurrency: clusters[0].remediation.probeConcurrency,
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
