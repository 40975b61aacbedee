/**
 * The node checks end to end: a simulator scenario, real probe pods run by runProbes on its nodes,
 * then gather (API + probes) and evaluate. Each scenario's root cause must show on the right node.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import type { CauseId } from '../../src/checks/causes.js';
import { NODE_CHECKS } from '../../src/checks/node/index.js';
import { runProbes } from '../../src/checks/probe/runner.js';
import type { CheckContext, CheckResult, KubeClients } from '../../src/checks/types.js';
import { startSimulator, type Simulator } from '../../src/sim/kube/simulator.js';
import { kubeClients } from '../../src/kube/clients.js';

let sim: Simulator | undefined;

afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

const PARAMS: Record<string, Record<string, unknown>> = {
  'node-cni-plugins': { plugins: ['flannel', 'bridge', 'host-local', 'portmap', 'loopback'] },
};

async function diagnoseNodes(scenario: string, nodes?: string[]) {
  // Not 3_600_000: the kubelet's "flannel is up, retry stuck pods" timer is tracked work, so settle()
  // would wait a whole retry interval. Retries change nothing these checks read (they fail again).
  sim = await startSimulator({ scenario, port: 0, retryIntervalMs: 1_000, startDelayMs: 10 });
  await sim.settle();
  const kc = new KubeConfig();
  kc.loadFromFile(sim.kubeconfigPath);
  const kube: KubeClients = kubeClients(kc);
  const targets = nodes ?? sim.scenario.nodes.map((n) => n.name);
  const probes = await runProbes({ core: kube.core }, targets, {
    namespace: 'kube-system',
    image: 'docker.io/library/busybox:1.36',
    concurrency: 3,
    deadlineSeconds: 30,
  });
  for (const [node, probe] of probes)
    if (!probe.ok) throw new Error(`probe of ${node} failed: ${probe.error}`);
  const results = new Map<string, CheckResult>();
  for (const check of NODE_CHECKS) {
    const ctx: CheckContext = {
      cluster: 'sim',
      kube,
      nodes: targets,
      probes,
      params: PARAMS[check.id] ?? {},
    };
    const result = check.evaluate(await check.gather(ctx), ctx.params);
    results.set(check.id, { id: check.id, ...result });
  }
  return { kube, results };
}

/** Confident findings (>= 0.5) as "cause@node". */
function strongFindings(results: Map<string, CheckResult>): string[] {
  const out = new Set<string>();
  for (const r of results.values()) {
    for (const f of r.findings) if (f.confidence >= 0.5) for (const n of f.nodes) out.add(`${f.cause}@${n}`);
  }
  return [...out].sort();
}

function ipRange(from: string, to: string): string[] {
  const [a, b] = [from, to].map((ip) => ip.split('.').map(Number));
  const out: string[] = [];
  for (let i = a[3]; i <= b[3]; i++) out.push(`${a[0]}.${a[1]}.${a[2]}.${i}`);
  return out;
}

describe('node checks against simulator scenarios', () => {
  it('ipam-leak: lists exactly the leaked reservations of worker-1 and no running pod IP', async () => {
    const { kube, results } = await diagnoseNodes('ipam-leak', ['worker-1', 'worker-2']);
    const ipam = results.get('node-ipam')!;
    expect(ipam.status).toBe('fail');
    const leak = ipam.findings.find((f) => f.cause === 'ipam-leak')!;
    expect(leak.nodes).toEqual(['worker-1']);
    expect(leak.confidence).toBeGreaterThanOrEqual(0.9);

    const scenarioIpam = sim!.scenario.nodes.find((n) => n.name === 'worker-1')!.host.ipam![0];
    const expected = ipRange(scenarioIpam.leaked!.from, scenarioIpam.leaked!.to);
    const leaked = (leak.data!.leakedIps as Record<string, string[]>)['worker-1'];
    expect(leaked).toEqual(expected);

    const pods = await kube.core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=worker-1' });
    const running = pods.items
      .filter((p) => !p.spec?.hostNetwork && p.status?.podIP)
      .map((p) => p.status!.podIP!);
    expect(running.length).toBeGreaterThanOrEqual(3);
    for (const ip of running) expect(leaked).not.toContain(ip);

    expect(strongFindings(results)).toEqual(['ipam-leak@worker-1']);
    // The leftover namespaces back the leak up, without deciding it.
    expect(results.get('node-netns')!.findings.map((f) => `${f.cause}@${f.nodes.join()}`)).toEqual([
      'ipam-leak@worker-1',
    ]);
  });

  it('stale-cni0: worker-1 cni0 holds the old gateway', async () => {
    const { results } = await diagnoseNodes('stale-cni0', ['worker-1', 'worker-2']);
    const stale = results.get('node-devices')!.findings.find((f) => f.cause === 'stale-cni0')!;
    expect(stale.nodes).toEqual(['worker-1']);
    expect(stale.data).toEqual({
      staleCni0: { 'worker-1': { addresses: ['10.244.9.1/24'], expected: '10.244.1.1/24' } },
    });
    expect(strongFindings(results)).toEqual(['stale-cni0@worker-1']);
  });

  it('cni-conflict: 10-calico.conflist sorts before Flannel on worker-2', async () => {
    const { results } = await diagnoseNodes('cni-conflict');
    const conflict = results.get('node-cni-config')!.findings.find((f) => f.cause === 'cni-config-conflict')!;
    expect(conflict.nodes).toEqual(['worker-2']);
    expect((conflict.data!.conflicts as Record<string, { files: string[] }>)['worker-2'].files).toEqual([
      '10-calico.conflist',
      '10-flannel.conflist',
    ]);
    expect(strongFindings(results)).toEqual(['cni-config-conflict@worker-2']);
  });

  it('healthy: every node check is ok and finds nothing', async () => {
    const { results } = await diagnoseNodes('healthy');
    for (const r of results.values()) {
      expect({ id: r.id, status: r.status, findings: r.findings }).toEqual({
        id: r.id,
        status: 'ok',
        findings: [],
      });
    }
  });

  it('flannel-missing: no conflist, no flannel binary, no subnet.env, no flannel.1 or cni0, all pointing at the missing deployment', async () => {
    const { results } = await diagnoseNodes('flannel-missing');
    const nodes = sim!.scenario.nodes.map((n) => n.name).sort();
    const byCause = (cause: CauseId) =>
      [...results.values()].flatMap((r) =>
        r.findings.filter((f) => f.cause === cause).flatMap((f) => f.nodes),
      );
    expect([...new Set(byCause('flannel-not-deployed'))].sort()).toEqual(nodes);
    expect(results.get('node-cni-config')!.status).toBe('fail');
    expect(results.get('node-devices')!.findings.every((f) => f.cause === 'flannel-not-deployed')).toBe(true);
    // Consequences of the missing deployment stay below the action threshold.
    for (const cause of ['subnet-env-missing', 'cni-plugin-missing'] as const) {
      const findings = [...results.values()].flatMap((r) => r.findings.filter((f) => f.cause === cause));
      expect(findings.length).toBeGreaterThan(0);
      for (const f of findings) expect(f.confidence).toBeLessThan(0.5);
    }
    // Evidence names the node's own paths, which a person can check there, not the probe's mount points.
    const evidence = [...results.values()].flatMap((r) => [r.summary, ...r.evidence]).join('\n');
    expect(evidence).toContain('/run/flannel/subnet.env');
    expect(evidence).not.toContain(sim!.workDir);
    expect(evidence).not.toMatch(/\/host\/(etc|run|opt|var)\//);
  });
});
