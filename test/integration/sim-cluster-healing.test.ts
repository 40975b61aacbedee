/**
 * The simulated cluster reacts like a real one to what kubectl does: applying the Flannel manifest heals
 * flannel-missing, deleting a Deployment's pod gets it replaced, and a probe pod runs its command
 * against the node's host files.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Simulator } from '../../src/sim/kube/simulator.js';
import { freshCacheDir, kubectl, startFast, waitFor } from './sim-cluster-helpers.js';

const MANIFEST = fileURLToPath(new URL('../fixtures/sim/kube-flannel.yml', import.meta.url));
const PROBE_POD = fileURLToPath(new URL('../fixtures/sim/probe-pod.yml', import.meta.url));

interface PodJson {
  metadata: { name: string; namespace: string; uid: string; labels?: Record<string, string> };
  spec: { nodeName?: string };
  status: {
    phase?: string;
    podIP?: string;
    containerStatuses?: Array<{ state?: { waiting?: { reason?: string } } }>;
  };
}

let sim: Simulator;
let cacheDir: string;
const k = (...args: string[]) => kubectl(sim.kubeconfigPath, cacheDir, args);

async function pods(namespace: string): Promise<PodJson[]> {
  const r = await k('get', 'pods', '-n', namespace, '-o', 'json');
  if (r.code !== 0) throw new Error(r.stderr);
  return (JSON.parse(r.stdout) as { items: PodJson[] }).items;
}

beforeAll(async () => {
  sim = await startFast({ scenario: 'flannel-missing' });
  cacheDir = freshCacheDir();
  await sim.settle();
});

afterAll(async () => {
  await sim?.stop();
  rmSync(cacheDir, { recursive: true, force: true });
});

describe('healing flannel-missing with kubectl', () => {
  it('applying the kube-flannel manifest (server-side) starts Flannel and the stuck pods', async () => {
    const before = await pods('shop');
    expect(
      before.every((p) => p.status.containerStatuses?.[0]?.state?.waiting?.reason === 'ContainerCreating'),
    ).toBe(true);

    const applied = await k('apply', '--server-side', '-f', MANIFEST);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain('daemonset.apps/kube-flannel-ds serverside-applied');

    await waitFor('every shop pod Running', async () =>
      (await pods('shop')).every((p) => p.status.phase === 'Running'),
    );
    const after = await pods('shop');
    expect(after.map((p) => p.metadata.uid).sort()).toEqual(before.map((p) => p.metadata.uid).sort());
    for (const p of after) expect(p.status.podIP).toMatch(/^10\.244\.\d+\.\d+$/);

    const ds = await k('get', 'ds', '-n', 'kube-flannel', 'kube-flannel-ds', '-o', 'json');
    const status = (JSON.parse(ds.stdout) as { status: Record<string, number> }).status;
    expect(status.numberReady).toBe(sim.scenario.nodes.length);
    const nodes = await k('get', 'nodes', '-o', 'json');
    for (const node of (
      JSON.parse(nodes.stdout) as {
        items: Array<{ status: { conditions: Array<{ type: string; status: string }> } }>;
      }
    ).items)
      expect(node.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('deleting a pod of a Deployment makes the ReplicaSet create a replacement', async () => {
    const before = (await pods('shop')).filter((p) => p.metadata.name.startsWith('web-'));
    const victim = before[0];
    const deleted = await k('delete', 'pod', '-n', 'shop', victim.metadata.name);
    expect(deleted.code).toBe(0);
    const after = await waitFor('a Running replacement', async () => {
      const web = (await pods('shop')).filter((p) => p.metadata.name.startsWith('web-'));
      return web.length === before.length && web.every((p) => p.status.phase === 'Running') && web;
    });
    const names = after.map((p) => p.metadata.name);
    expect(names).not.toContain(victim.metadata.name);
    const replacement = after.find((p) => !before.some((b) => b.metadata.name === p.metadata.name));
    expect(replacement?.metadata.name).toMatch(/^web-[a-z0-9]{10}-[a-z0-9]{5}$/);
  });

  it('runs a probe pod against the node host: its log is readable with kubectl logs and it Succeeds', async () => {
    const created = await k('create', '-f', PROBE_POD);
    expect(created.code).toBe(0);
    await waitFor('probe pod Succeeded', async () => {
      const r = await k('get', 'pod', 'subnet-probe', '-n', 'default', '-o', 'jsonpath={.status.phase}');
      return r.stdout === 'Succeeded';
    });
    const logs = await k('logs', 'subnet-probe', '-n', 'default');
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain('FLANNEL_NETWORK=10.244.0.0/16');
    expect(logs.stdout).toContain('FLANNEL_SUBNET=10.244.1.1/24');
    expect(logs.stdout).toMatch(/^\d+: flannel\.1 +inet 10\.244\.1\.0\/32 /m);
    const exit = await k(
      'get',
      'pod',
      'subnet-probe',
      '-n',
      'default',
      '-o',
      'jsonpath={.status.containerStatuses[0].state.terminated.exitCode}',
    );
    expect(exit.stdout).toBe('0');
  });
});
