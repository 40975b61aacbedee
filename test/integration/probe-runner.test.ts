/**
 * runProbes against the project's Kubernetes simulator: it runs probe pods by executing their
 * command locally with the hostPath mounts mapped into each simulated node's host tree.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { runProbes, type ProbeProgress, type ProbeResult } from '../../src/checks/probe/runner.js';
import { startSimulator, type Simulator } from '../../src/sim/kube/simulator.js';

const NAMESPACE = 'kube-system';
const PROBE_SELECTOR = 'app.kubernetes.io/name=flannel-ops-probe';

let sim: Simulator;
let core: CoreV1Api;
let nodes: string[];

beforeAll(async () => {
  sim = await startSimulator({ scenario: 'healthy', port: 0 });
  await sim.settle();
  const kc = new KubeConfig();
  kc.loadFromFile(sim.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
  nodes = (await core.listNode()).items.map((n) => n.metadata!.name!);
});

afterAll(async () => {
  await sim?.stop();
});

const baseOptions = { namespace: NAMESPACE, image: 'docker.io/library/busybox:1.36', deadlineSeconds: 30 };

async function probePodsLeft(): Promise<string[]> {
  const list = await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: PROBE_SELECTOR });
  return list.items.map((p) => p.metadata!.name!);
}

function expectOk(result: ProbeResult | undefined): Extract<ProbeResult, { ok: true }> {
  if (!result?.ok) throw new Error(`probe failed: ${result?.error}`);
  return result;
}

describe('runProbes against the simulator', () => {
  it('probes every node, reports its host files and deletes the pods', async () => {
    const progress: ProbeProgress[] = [];
    const results = await runProbes({ core }, nodes, {
      ...baseOptions,
      concurrency: 2,
      onProgress: (p) => progress.push(p),
    });
    expect([...results.keys()]).toEqual(nodes);
    for (const scenarioNode of sim.scenario.nodes) {
      const { report } = expectOk(results.get(scenarioNode.name));
      expect(report.node).toBe(scenarioNode.name);
      expect(report.effectiveConfig).toMatchObject({
        file: '10-flannel.conflist',
        name: 'cbr0',
        plugins: [{ type: 'flannel' }, { type: 'portmap' }],
      });
      expect(report.cniBin.missing).toEqual([]);
      const gateway = scenarioNode.podCIDR!.replace(/\.0\/24$/, '.1/24');
      expect(report.subnetEnv).toMatchObject({
        present: true,
        network: '10.244.0.0/16',
        subnet: gateway,
        mtu: 1450,
      });
      const byName = new Map(report.devices.map((d) => [d.name, d]));
      expect(byName.get('cni0')).toMatchObject({ type: 'bridge', ipv4: [{ cidr: gateway }] });
      expect(byName.get('flannel.1')).toMatchObject({ type: 'vxlan', vxlan: { id: 1, dstport: 8472 } });
      // Every reservation on the node belongs to a pod the simulator's kubelet started there.
      const podIps = (
        await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${scenarioNode.name}` })
      ).items
        .filter((p) => !p.spec?.hostNetwork && p.status?.podIP)
        .map((p) => p.status!.podIP!);
      expect(report.reservations.map((r) => r.ip).sort()).toEqual([...podIps].sort());
      expect(report.errors).toEqual([]);
    }
    expect(progress.filter((p) => p.state === 'done').map((p) => p.completed)).toEqual(
      nodes.map((_, i) => i + 1),
    );
    expect(await probePodsLeft()).toEqual([]);
  });

  it('turns an API server error on create into ok:false with the reason', async () => {
    sim.api.faults.failNext(1, 500);
    try {
      const results = await runProbes({ core }, [nodes[0]], { ...baseOptions, concurrency: 1 });
      const result = results.get(nodes[0]);
      expect(result?.ok).toBe(false);
      expect(!result?.ok && result?.error).toMatch(/^probe pod rejected: HTTP 500/);
    } finally {
      sim.api.faults.reset();
    }
    expect(await probePodsLeft()).toEqual([]);
  });

  it('reports a failing probe with its exit code and log tail, and deletes the pod', async () => {
    const results = await runProbes({ core }, [nodes[0]], {
      ...baseOptions,
      concurrency: 1,
      script: 'echo "cannot read /host/etc/cni/net.d" >&2; exit 3',
    });
    const result = results.get(nodes[0]);
    expect(result?.ok).toBe(false);
    expect(!result?.ok && result?.error).toMatch(
      /^probe pod Failed \(.*exit code 3.*\); log tail: cannot read /,
    );
    expect(await probePodsLeft()).toEqual([]);
  });

  it('rejects output that is not a probe report', async () => {
    const results = await runProbes({ core }, [nodes[0]], {
      ...baseOptions,
      concurrency: 1,
      script: 'echo \'{"probeVersion":1,"node":"x"}\'',
    });
    const result = results.get(nodes[0]);
    expect(!result?.ok && result?.error).toMatch(/^invalid probe output: probe output field "time"/);
    expect(await probePodsLeft()).toEqual([]);
  });
  it('reports a probe killed by activeDeadlineSeconds as timed out', async () => {
    const results = await runProbes({ core }, [nodes[0]], {
      ...baseOptions,
      deadlineSeconds: 1,
      concurrency: 1,
      script: 'sleep 30',
    });
    const result = results.get(nodes[0]);
    expect(!result?.ok && result?.error).toMatch(
      /^timed out: the probe pod ran longer than activeDeadlineSeconds=1 \(DeadlineExceeded/,
    );
    expect(await probePodsLeft()).toEqual([]);
  });

  it('stops waiting when cancelled and still deletes the pod', async () => {
    const controller = new AbortController();
    const results = await runProbes({ core }, [nodes[0]], {
      ...baseOptions,
      concurrency: 1,
      script: 'sleep 30',
      signal: controller.signal,
      onProgress: (p) => {
        if (p.state === 'started') setTimeout(() => controller.abort(), 300);
      },
    });
    const result = results.get(nodes[0]);
    expect(!result?.ok && result?.error).toBe('cancelled while waiting for the probe pod');
    expect(!result?.ok && result?.pod).toMatch(/^flannel-ops-probe-/);
    expect(await probePodsLeft()).toEqual([]);
  });
});
