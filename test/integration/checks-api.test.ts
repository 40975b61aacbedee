/**
 * The 10 API checks (gather + evaluate) against every built-in simulator scenario: each scenario's
 * rootCause must show up as the findings the API can see, and stuck-pods must name the affected nodes.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { API_CHECKS } from '../../src/checks/api/index.js';
import { CHECK_IDS, type CheckId } from '../../src/checks/catalog.js';
import type { CheckResult, KubeClients } from '../../src/checks/types.js';
import { startSimulator, type Simulator } from '../../src/sim/kube/simulator.js';
import { kubeClients } from '../../src/kube/clients.js';

/**
 * In scenarios where Flannel comes up, the simulated kubelet re-queues the node's pending pods one
 * retry interval later and settle() waits for that, so an hour-long interval would never settle
 * there; those scenarios use a short one (their broken pods keep failing the same way).
 */
const FLANNEL_COMES_UP = new Set(['healthy', 'ipam-leak', 'stale-cni0', 'cni-conflict']);

const running: Simulator[] = [];
afterAll(async () => {
  await Promise.all(running.map((s) => s.stop()));
});

async function runApiChecks(scenario: string): Promise<Map<CheckId, CheckResult>> {
  const sim = await startSimulator({
    scenario,
    port: 0,
    retryIntervalMs: FLANNEL_COMES_UP.has(scenario) ? 250 : 3_600_000,
    startDelayMs: 10,
  });
  running.push(sim);
  await sim.settle();
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(sim.kubeconfigPath);
  const kube: KubeClients = kubeClients(kc);
  const results = new Map<CheckId, CheckResult>();
  for (const check of API_CHECKS) {
    const facts = await check.gather({ cluster: scenario, kube, params: {} });
    results.set(check.id, { id: check.id, ...check.evaluate(facts, {}) });
  }
  await sim.stop();
  return results;
}

function findings(results: Map<CheckId, CheckResult>, cause: string) {
  return [...results.values()].flatMap((r) =>
    r.findings.filter((f) => f.cause === cause).map((f) => ({ check: r.id, ...f })),
  );
}

function highConfidenceCauses(results: Map<CheckId, CheckResult>): string[] {
  return [
    ...new Set(
      [...results.values()].flatMap((r) => r.findings.filter((f) => f.confidence >= 0.5).map((f) => f.cause)),
    ),
  ].sort();
}

function affectedNodes(results: Map<CheckId, CheckResult>): unknown {
  return results.get('stuck-pods')?.facts?.affectedNodes;
}

const ALL = ['cp-1', 'worker-1', 'worker-2'];

describe('API checks against the simulator scenarios', () => {
  it('covers exactly the API check ids of the catalog', () => {
    const apiIds = Object.entries(CHECK_IDS)
      .filter(([, v]) => v.scope === 'api')
      .map(([id]) => id);
    expect(API_CHECKS.map((c) => c.id)).toEqual(apiIds);
    expect(API_CHECKS.every((c) => c.scope === 'api')).toBe(true);
  });

  it('healthy: every check ok or warn, no failure', async () => {
    const results = await runApiChecks('healthy');
    for (const r of results.values())
      expect([r.id, r.status]).toEqual([r.id, expect.stringMatching(/^(ok|warn)$/)]);
    expect(highConfidenceCauses(results)).toEqual([]);
    expect(results.get('flannel-daemonset')?.facts).toMatchObject({
      namespace: 'kube-flannel',
      daemonSet: 'kube-flannel-ds',
      version: 'v0.28.9',
    });
    expect(results.get('flannel-configmap')?.facts).toMatchObject({
      network: '10.244.0.0/16',
      backendType: 'vxlan',
    });
    expect(results.get('node-annotations')?.facts).toMatchObject({ backendType: 'vxlan' });
    expect(affectedNodes(results)).toEqual([]);
  });

  it('flannel-missing: flannel-daemonset finds flannel-not-deployed with high confidence', async () => {
    const results = await runApiChecks('flannel-missing');
    const ds = results.get('flannel-daemonset')!;
    expect(ds.status).toBe('fail');
    expect(ds.findings.map((f) => f.cause)).toEqual(['flannel-not-deployed']);
    expect(ds.findings[0].confidence).toBeGreaterThanOrEqual(0.9);
    expect(ds.evidence[0]).toContain('kubectl get ds -A -l app=flannel returned nothing');
    expect(highConfidenceCauses(results)).toEqual(['flannel-not-deployed']);
    expect(results.get('node-conditions')?.status).toBe('fail');
    expect(affectedNodes(results)).toEqual(ALL);
    // The seed's legacy exhaustion wording is classified, but not blamed on a full range.
    expect(JSON.stringify(results.get('stuck-pods')?.facts?.errorClasses)).toContain('ip-exhausted');
    expect(findings(results, 'ipam-exhausted')).toEqual([]);
    expect(results.get('version-compat')?.facts).toMatchObject({
      kubernetesVersion: 'v1.23.17',
      suitableFlannelVersion: 'v0.28.9',
    });
  });

  it('flannel-config-corrupt: the ConfigMap check and the flanneld log both find it', async () => {
    const results = await runApiChecks('flannel-config-corrupt');
    expect(results.get('flannel-configmap')?.status).toBe('fail');
    expect(
      findings(results, 'flannel-config-corrupt')
        .map((f) => f.check)
        .sort(),
    ).toEqual(['flannel-configmap', 'flannel-pods']);
    expect(highConfidenceCauses(results)).toEqual(['flannel-config-corrupt', 'flannel-pod-failing']);
    expect(affectedNodes(results)).toEqual(ALL);
  });

  it('flannel-crashloop: podcidr-outside-network (with flannel-pod-failing) from pods and podCIDRs', async () => {
    const results = await runApiChecks('flannel-crashloop');
    const outside = findings(results, 'podcidr-outside-network');
    expect(outside.map((f) => f.check).sort()).toEqual(['flannel-pods', 'node-podcidrs']);
    for (const f of outside) expect(f.nodes).toEqual(ALL);
    expect(outside.find((f) => f.check === 'node-podcidrs')?.data).toMatchObject({
      network: '10.244.0.0/16',
      podCIDRs: { 'cp-1': '10.42.0.0/24', 'worker-1': '10.42.1.0/24', 'worker-2': '10.42.2.0/24' },
    });
    expect(findings(results, 'flannel-pod-failing').length).toBeGreaterThan(0);
    expect(highConfidenceCauses(results)).toEqual(['flannel-pod-failing', 'podcidr-outside-network']);
    const pods = results.get('flannel-pods')!;
    expect(pods.evidence.join('\n')).toMatch(
      /logs kube-flannel-ds-\w+ -c kube-flannel --previous .*doesn't contain/,
    );
    expect(affectedNodes(results)).toEqual(ALL);
  });

  it('podcidr-missing: node-podcidrs and the flanneld log find podcidr-missing', async () => {
    const results = await runApiChecks('podcidr-missing');
    expect(
      findings(results, 'podcidr-missing')
        .map((f) => f.check)
        .sort(),
    ).toEqual(['flannel-pods', 'node-podcidrs']);
    expect(findings(results, 'podcidr-missing').find((f) => f.check === 'node-podcidrs')?.nodes).toEqual(ALL);
    expect(highConfidenceCauses(results)).toEqual(['flannel-pod-failing', 'podcidr-missing']);
    expect(affectedNodes(results)).toEqual(ALL);
  });

  // Causes visible only on the node: the API side must point at the node and blame nothing else firmly.
  it.each([
    ['ipam-leak', ['worker-1']],
    ['stale-cni0', ['worker-1']],
    ['cni-conflict', ['worker-2']],
  ])(
    '%s: stuck-pods reports the affected node and no wrong cause is blamed with high confidence',
    async (scenario, nodes) => {
      const results = await runApiChecks(scenario);
      expect(affectedNodes(results)).toEqual(nodes);
      expect(results.get('stuck-pods')?.status).toBe('warn');
      expect(highConfidenceCauses(results)).toEqual([]);
      expect(results.get('flannel-daemonset')?.status).toBe('ok');
      expect(results.get('stuck-pods')?.evidence.join('\n')).toContain('kubectl get events -n');
    },
  );
});
