/**
 * A hub of replicas as operators run it: real `flannel-ops watch --json` processes sharing Redis and a key
 * prefix, 12 clusters (all served by one simulator, under different names). The replicas share the clusters
 * out (each at most ⌈clusters/replicas⌉ + 1, every cluster watched by exactly one), a replica joining takes
 * its share, a SIGKILLed replica's clusters are taken over, and a failure that starts while they are orphaned
 * opens exactly one incident per cluster.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IncidentStore } from '../../src/incidents/store.js';
import { startSimulator, type Simulator } from '../../src/sim/kube/simulator.js';
import { startCli, type CliProcess } from '../helpers/bot-process.js';
import { deleteKeys, TEST_REDIS_URL, testRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const prefix = `t-hub-${process.pid}`;
const CLUSTERS = Array.from({ length: 12 }, (_, i) => `hub-${String(i).padStart(2, '0')}`);
const redis = testRedis();
const store = new IncidentStore({ redis, prefix });
let sim: Simulator;
let dir: string;
let clustersFile: string;
const replicas: CliProcess[] = [];

/** The clusters a replica leads now, from the last `cluster X: ROLE` line it printed for each. */
function leading(r: CliProcess): Set<string> {
  const role = new Map<string, string>();
  for (const m of r.stderr().matchAll(/^cluster (\S+): (\w+)/gm)) role.set(m[1], m[2]);
  return new Set([...role].filter(([, v]) => v === 'leader').map(([c]) => c));
}

function startReplica(): CliProcess {
  const r = startCli(['watch', '--json', '--clusters', clustersFile], {
    REDIS_URL: TEST_REDIS_URL,
    FLANNEL_OPS_KEY_PREFIX: prefix,
    LOG_LEVEL: 'warn',
  });
  replicas.push(r);
  return r;
}

/** Every cluster led by exactly one of `live`, none above `max`; returns the per-replica counts. */
function converged(live: CliProcess[], max: number): number[] | undefined {
  const sets = live.map(leading);
  const counts = sets.map((s) => s.size);
  if (counts.some((n) => n === 0 || n > max)) return undefined;
  for (const c of CLUSTERS) if (sets.filter((s) => s.has(c)).length !== 1) return undefined;
  return counts;
}

/** The `opened` JSON lines every replica printed (a killed one's included), per cluster. */
function openedPerCluster(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of replicas)
    for (const line of r.stdout().split('\n').filter(Boolean)) {
      const e = JSON.parse(line) as { event: string; cluster: string; id: string };
      if (e.event === 'opened') out.set(e.cluster, [...(out.get(e.cluster) ?? []), e.id]);
    }
  return out;
}

beforeAll(async () => {
  // Healthy at first: the failure starts during the failover below.
  sim = await startSimulator({ scenario: 'healthy', port: 0, retryIntervalMs: 3_600_000, startDelayMs: 10 });
  await sim.settle();
  dir = mkdtempSync(join(tmpdir(), 'hub-replicas-'));
  clustersFile = join(dir, 'clusters.yaml');
  writeFileSync(
    clustersFile,
    `clusters:\n${CLUSTERS.map((c) => `  - name: ${c}\n    kubeconfig: ${sim.kubeconfigPath}\n    channel: C0HUB\n`).join('')}`,
  );
});

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop('SIGKILL')));
  await sim?.stop();
  rmSync(dir, { recursive: true, force: true });
  await deleteKeys(redis, prefix);
  await redis.quit();
});

describe('a hub of watch replicas', () => {
  it('balances, rebalances on join, takes over a killed replica, and opens one incident per cluster', async () => {
    const [a, b, c] = [startReplica(), startReplica(), startReplica()];
    // ⌈12/3⌉ + 1 = 5; the rendezvous placement alone gives at most 4.
    const three = await waitFor('3 replicas to share the 12 clusters', () => converged([a, b, c], 5), {
      timeoutMs: 90_000,
      intervalMs: 250,
    });
    expect(three.reduce((x, y) => x + y, 0)).toBe(12);
    await a.waitForOutput(/^replica \S+: live=3 share=4/m);

    const d = startReplica();
    // ⌈12/4⌉ + 1 = 4, and the newcomer leads a share of its own.
    const four = await waitFor('the 4th replica to take its share', () => converged([a, b, c, d], 4), {
      timeoutMs: 90_000,
      intervalMs: 250,
    });
    expect(four[3]).toBeGreaterThan(0);

    // SIGKILL: no clean hand-over; its locks and membership must expire. The failure starts right after.
    const victim = [a, b, c][three.indexOf(Math.max(...three))];
    const orphans = leading(victim);
    expect(orphans.size).toBeGreaterThan(0);
    victim.child.kill('SIGKILL');
    await victim.exited;
    await sim.storm(5);
    const survivors = [a, b, c, d].filter((r) => r !== victim);
    await waitFor("the killed replica's clusters to be taken over", () => converged(survivors, 5), {
      timeoutMs: 90_000,
      intervalMs: 250,
    });

    // Exactly one incident per cluster, across replicas and the failover.
    await waitFor(
      'an opened incident for every cluster',
      () => CLUSTERS.every((cl) => openedPerCluster().has(cl)),
      { timeoutMs: 60_000 },
    );
    const opened = openedPerCluster();
    for (const cl of CLUSTERS) expect(opened.get(cl)).toHaveLength(1);
    for (const cl of CLUSTERS) expect(await store.list({ cluster: cl })).toHaveLength(1);
    // The orphans' incidents were opened by their new leaders, not by the dead replica.
    expect(victim.stdout()).toBe('');
  }, 300_000);
});
