/**
 * The diagnosis engine end to end: real Redis (unique prefix), BullMQ flows and workers, the real
 * checks, and the Kubernetes simulator over HTTP with probe pods run against its simulated hosts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { CHECK_ID_LIST } from '../../src/checks/catalog.js';
import { unimplementedChecks } from '../../src/checks/registry.js';
import type { KubeClients } from '../../src/checks/types.js';
import type { DiagnosisDocument } from '../../src/diagnosis/assemble.js';
import { DiagnosisService, type DiagnosisServiceOptions } from '../../src/diagnosis/service.js';
import type { Diagnosis, DiagnosisProgress } from '../../src/diagnosis/types.js';
import { IncidentStore } from '../../src/incidents/store.js';
import { loadRunbooks, shippedRunbooksDir } from '../../src/runbooks/load.js';
import { BUILTIN_SCENARIOS } from '../../src/sim/kube/scenario/builtin-names.js';
import { startSimulator, type Simulator } from '../../src/sim/kube/simulator.js';
import { kubeClients } from '../../src/kube/clients.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';

const PREFIX = `t-diag-${randomUUID()}`;
// Every built-in scenario: a new scenario file is covered as soon as it is listed.
const SCENARIOS = BUILTIN_SCENARIOS;

let redis: Redis;
let store: IncidentStore;
const runbooks = loadRunbooks(shippedRunbooksDir());
const cleanups: Array<() => Promise<unknown>> = [];
// Like the bot: one client set per cluster name, whichever service's worker runs a job.
const clusterClients = new Map<string, KubeClients>();

beforeAll(async () => {
  redis = new Redis(TEST_REDIS_URL);
  store = new IncidentStore({ redis, prefix: PREFIX });
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}:*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await store.close();
  redis.disconnect();
});

function clientsFor(sim: Simulator): KubeClients {
  const kc = new KubeConfig();
  kc.loadFromFile(sim.kubeconfigPath);
  return kubeClients(kc);
}

/** A simulator serving cluster `cluster`. */
async function simulator(scenario: string, cluster: string): Promise<Simulator> {
  const sim = await startSimulator({ scenario, port: 0, retryIntervalMs: 200, onError: () => undefined });
  cleanups.push(() => sim.stop());
  await sim.settle();
  clusterClients.set(cluster, clientsFor(sim));
  return sim;
}

function service(extra: Partial<DiagnosisServiceOptions> = {}): DiagnosisService {
  const svc = new DiagnosisService({
    redis,
    prefix: PREFIX,
    store,
    runbooks,
    clients: (cluster) => {
      const clients = clusterClients.get(cluster);
      if (!clients) throw new Error(`no simulator for cluster ${cluster}`);
      return clients;
    },
    probe: {
      namespace: 'kube-system',
      image: 'busybox:1.36',
      concurrency: 4,
      deadlineSeconds: 30,
      // The simulated nodes run containerd: let the probes list sandboxes (opt-in in production).
      criSocketDir: '/run/containerd',
    },
    retry: { attempts: 2, backoffMs: 20 },
    ...extra,
  });
  cleanups.push(() => svc.close());
  return svc;
}

it('every catalogued check has an implementation', () => {
  expect(unimplementedChecks()).toEqual([]);
});

describe.each(SCENARIOS)('scenario %s', (scenario) => {
  let sim: Simulator;
  let svc: DiagnosisService;
  let diagnosis: DiagnosisDocument;
  const progress: DiagnosisProgress[] = [];

  beforeAll(async () => {
    sim = await simulator(scenario, scenario);
    svc = service();
    let id = '';
    svc.on('progress', (p) => {
      if (p.id === id || id === '') progress.push(p);
    });
    ({ id } = await svc.start({ cluster: scenario, requestedBy: 'UALICE' }));
    diagnosis = await svc.result(id, 60_000);
  }, 90_000);

  it('names the scenario root cause first, with evidence', () => {
    const rootCause = sim.scenario.rootCause;
    const summary = diagnosis.checks.map((c) => `${c.id}=${c.status}`).join(' ');
    if (rootCause === 'none') {
      expect({ healthy: diagnosis.healthy, causes: diagnosis.causes.map((c) => c.id), summary }).toEqual({
        healthy: true,
        causes: [],
        summary,
      });
    } else {
      expect({ healthy: diagnosis.healthy, first: diagnosis.causes[0]?.id, summary }).toEqual({
        healthy: false,
        first: rootCause,
        summary,
      });
      expect(diagnosis.causes[0].evidence.length).toBeGreaterThan(0);
      expect(diagnosis.causes[0].evidence.every((line) => line.trim().length > 0)).toBe(true);
      expect(diagnosis.plan.length).toBeGreaterThan(0);
    }
    expect(diagnosis.cluster).toBe(scenario);
    expect(diagnosis.requestedBy).toBe('UALICE');
    expect(diagnosis.checks.map((c) => c.id).sort()).toEqual([...CHECK_ID_LIST].sort());
  });

  it('reports progress: every check pending first, then finished, and the diagnosis done', () => {
    const mine = progress.filter((p) => p.id === diagnosis.id);
    expect(mine[0].checks.every((c) => c.state === 'pending')).toBe(true);
    const last = mine[mine.length - 1];
    expect(last.phase).toBe('done');
    expect(Object.fromEntries(last.checks.map((c) => [c.id, c.state]))).toEqual(
      Object.fromEntries(diagnosis.checks.map((c) => [c.id, c.status])),
    );
    expect(last.probes.total).toBe(diagnosis.nodes.length);
  });
});

describe('diagnosis of an incident', () => {
  const CLUSTER = 'incident-leak';
  let sim: Simulator;
  let svc: DiagnosisService;
  let observer: DiagnosisService;

  beforeAll(async () => {
    sim = await simulator('ipam-leak', CLUSTER);
    svc = service();
    // A second process with a service but no workers (the Slack bot next to a CLI, another replica).
    observer = service({ workers: false });
    await observer.waitUntilReady();
  }, 60_000);

  it('stores the diagnosis on the incident, lists exactly the leaked IPs, and is seen by other services', async () => {
    const recorded = await store.recordSignals(CLUSTER, 'flannel', [
      {
        eventUid: `ev-${randomUUID()}`,
        namespace: 'shop',
        podName: 'checkout-6d8f7b9c44-zzzzz',
        node: 'worker-1',
        message:
          'Failed to create pod sandbox: plugin type="flannel" failed (add): failed to allocate for range 0: no IP addresses available in range set: 10.244.1.1-10.244.1.254',
        signature: { errorClass: 'ip-exhausted' },
      },
    ]);
    const incidentId = recorded!.incident.id;
    const seenDone: Diagnosis[] = [];
    const seenProgress: DiagnosisProgress[] = [];
    observer.on('done', (d) => seenDone.push(d));
    observer.on('progress', (p) => seenProgress.push(p));

    const { id } = await svc.start({ cluster: CLUSTER, incidentId, requestKey: `${incidentId}-1` });
    const again = await svc.start({ cluster: CLUSTER, incidentId, requestKey: `${incidentId}-1` });
    expect(again.id).toBe(id);
    const diagnosis = await observer.result(id, 60_000);

    expect(diagnosis.incidentId).toBe(incidentId);
    expect(diagnosis.nodes[0]).toBe('worker-1');
    expect(diagnosis.causes[0].id).toBe('ipam-leak');
    const leakSeed = sim.scenario.nodes
      .find((n) => n.name === 'worker-1')!
      .host!.ipam!.find((i) => i.leaked)!.leaked!;
    const expected: string[] = [];
    const base = leakSeed.from.split('.').slice(0, 3).join('.');
    for (let n = Number(leakSeed.from.split('.')[3]); n <= Number(leakSeed.to.split('.')[3]); n++) {
      expected.push(`${base}.${n}`);
    }
    const leaked = (diagnosis.causes[0].data as { leakedIps?: Record<string, string[]> }).leakedIps;
    expect([...(leaked?.['worker-1'] ?? [])].sort()).toEqual(expected.sort());

    const incident = await store.get(incidentId);
    expect((incident!.extras.diagnosis as Diagnosis).id).toBe(id);
    expect((incident!.extras.diagnosis as Diagnosis).causes[0].id).toBe('ipam-leak');

    const deadline = Date.now() + 5000;
    while (!seenDone.some((d) => d.id === id) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(seenDone.find((d) => d.id === id)?.causes[0].id).toBe('ipam-leak');
    expect(seenProgress.filter((p) => p.id === id).at(-1)?.phase).toBe('done');
  }, 90_000);
});

describe('API failures', () => {
  const CLUSTER = 'faulty';
  let sim: Simulator;
  let svc: DiagnosisService;

  beforeAll(async () => {
    sim = await simulator('stale-cni0', CLUSTER);
    svc = service();
  }, 60_000);

  // Explicit nodes: start() makes no API call, so the injected failures hit the checks and probes.
  it('retries transient 503s and still finds the root cause', async () => {
    sim.api.faults.failNext(2, 503);
    try {
      const { id } = await svc.start({ cluster: CLUSTER, nodes: ['worker-1'] });
      const diagnosis = await svc.result(id, 60_000);
      expect(diagnosis.checks.filter((c) => c.status === 'error')).toEqual([]);
      expect(diagnosis.causes[0].id).toBe('stale-cni0');
    } finally {
      sim.api.faults.reset();
    }
  }, 90_000);

  it('a check the API keeps failing reports error with the reason, and the diagnosis still completes', async () => {
    const noRetries = service({ retry: { attempts: 1, backoffMs: 20 }, workers: false });
    sim.api.faults.failNext(100_000, 503);
    try {
      const { id } = await noRetries.start({ cluster: CLUSTER, nodes: ['worker-1'] });
      const diagnosis = await noRetries.result(id, 60_000);
      const errors = diagnosis.checks.filter((c) => c.status === 'error');
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.map((c) => c.summary)).toEqual(
        expect.arrayContaining([expect.stringContaining('API answered 503')]),
      );
      expect(diagnosis.checks).toHaveLength(CHECK_ID_LIST.length);
      expect(diagnosis.healthy).toBe(false);
    } finally {
      sim.api.faults.reset();
    }
  }, 90_000);
});

describe('a process stopping mid-diagnosis', () => {
  const CLUSTER = 'interrupted';
  let sim: Simulator;

  beforeAll(async () => {
    sim = await simulator('flannel-missing', CLUSTER);
  }, 60_000);

  it('leaves its jobs to another process, which finishes the diagnosis', async () => {
    // Slow API answers keep the first process's checks running when it goes away.
    sim.api.faults.setLatency(400);
    const first = service({ closeTimeoutMs: 50, retry: { attempts: 3, backoffMs: 20 } });
    let running = false;
    first.on('progress', (p) => {
      if (p.checks.some((c) => c.state === 'running')) running = true;
    });
    try {
      const { id } = await first.start({ cluster: CLUSTER, nodes: ['worker-1'] });
      const deadline = Date.now() + 20_000;
      while (!running && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(running).toBe(true);
      await first.close();
      sim.api.faults.setLatency(0);
      const second = service();
      const diagnosis = await second.result(id, 60_000);
      expect(diagnosis.causes[0].id).toBe('flannel-not-deployed');
      expect(diagnosis.checks.filter((c) => c.status === 'error')).toEqual([]);
    } finally {
      sim.api.faults.reset();
    }
  }, 90_000);
});
