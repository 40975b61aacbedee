import { describe, expect, it } from '@jest/globals';
import type { CheckId } from '../../src/checks/catalog.js';
import type { CheckResult, Finding } from '../../src/checks/types.js';
import { findTie, isHealthy, MAX_EVIDENCE_PER_CAUSE, rankCauses } from '../../src/diagnosis/verdict.js';

function result(
  id: CheckId,
  findings: Array<Partial<Finding> & Pick<Finding, 'cause' | 'confidence'>>,
  status: CheckResult['status'] = 'fail',
): CheckResult {
  return {
    id,
    status,
    summary: id,
    evidence: [],
    findings: findings.map((f) => ({ summary: `${f.cause} from ${id}`, nodes: [], evidence: [], ...f })),
  };
}

describe('rankCauses', () => {
  it('ranks flannel-not-deployed above the consequences it explains', () => {
    const causes = rankCauses([
      result('node-subnet-env', [{ cause: 'subnet-env-missing', confidence: 0.8, nodes: ['w1'] }]),
      result('node-cni-plugins', [
        {
          cause: 'cni-plugin-missing',
          confidence: 0.75,
          nodes: ['w1'],
          data: { missingPlugins: { w1: ['flannel'] } },
        },
      ]),
      result('flannel-daemonset', [{ cause: 'flannel-not-deployed', confidence: 0.7 }]),
      result('node-cni-config', [{ cause: 'flannel-not-deployed', confidence: 0.6, nodes: ['w1'] }]),
    ]);
    expect(causes.map((c) => c.id)).toEqual([
      'flannel-not-deployed',
      'subnet-env-missing',
      'cni-plugin-missing',
    ]);
    expect(causes[0].confidence).toBeCloseTo(0.75); // 0.7 + a little for two agreeing checks
    expect(causes[0].checks).toEqual(['flannel-daemonset', 'node-cni-config']);
    expect(causes[0].nodes).toEqual(['w1']);
    for (const c of causes.slice(1)) {
      expect(c.confidence).toBeLessThan(0.5);
      expect(c.data?.explainedBy).toEqual(['flannel-not-deployed']);
    }
  });

  it('lets a failing Flannel pod explain a missing flannel binary, never missing upstream plugins', () => {
    const missing = (plugins: string[]) =>
      result('node-cni-plugins', [
        {
          cause: 'cni-plugin-missing',
          confidence: 0.75,
          nodes: ['w3'],
          data: { missingPlugins: { w3: plugins } },
        },
      ]);
    const podFailing = result('flannel-pods', [
      { cause: 'flannel-pod-failing', confidence: 0.75, nodes: ['w3'] },
    ]);
    const onlyFlannel = rankCauses([missing(['flannel']), podFailing]);
    expect(onlyFlannel.map((c) => c.id)).toEqual(['flannel-pod-failing', 'cni-plugin-missing']);
    expect(onlyFlannel[1].confidence).toBeLessThan(0.5);
    expect(onlyFlannel[1].data?.explainedBy).toEqual(['flannel-pod-failing']);
    const upstream = rankCauses([missing(['flannel', 'bridge']), podFailing]);
    expect(upstream.find((c) => c.id === 'cni-plugin-missing')?.confidence).toBe(0.75);
  });

  it('does not explain away missing upstream plugins by a missing deployment', () => {
    const causes = rankCauses([
      result('flannel-daemonset', [{ cause: 'flannel-not-deployed', confidence: 0.9 }]),
      result('node-cni-plugins', [
        {
          cause: 'cni-plugin-missing',
          confidence: 0.85,
          nodes: ['w1'],
          data: { missingPlugins: { w1: ['bridge'] } },
        },
      ]),
    ]);
    expect(causes.find((c) => c.id === 'cni-plugin-missing')!.confidence).toBe(0.85);
  });

  it('lets a corrupt config explain the failing Flannel pod', () => {
    const causes = rankCauses([
      result('flannel-pods', [{ cause: 'flannel-pod-failing', confidence: 0.9 }]),
      result('flannel-configmap', [{ cause: 'flannel-config-corrupt', confidence: 0.85 }]),
    ]);
    expect(causes.map((c) => c.id)).toEqual(['flannel-config-corrupt', 'flannel-pod-failing']);
  });

  it('keeps ipam-leak and ipam-exhausted exclusive per node and merges leaked IPs per node', () => {
    const causes = rankCauses([
      result('node-ipam', [
        { cause: 'ipam-leak', confidence: 0.95, nodes: ['w1'], data: { leakedIps: { w1: ['10.244.1.5'] } } },
        { cause: 'ipam-leak', confidence: 0.7, nodes: ['w3'], data: { leakedIps: { w3: ['10.244.3.9'] } } },
        { cause: 'ipam-exhausted', confidence: 0.9, nodes: ['w2'] },
      ]),
      result('stuck-pods', [{ cause: 'ipam-exhausted', confidence: 0.6, nodes: ['w1', 'w2'] }]),
    ]);
    const leak = causes.find((c) => c.id === 'ipam-leak')!;
    const exhausted = causes.find((c) => c.id === 'ipam-exhausted')!;
    expect(leak.nodes).toEqual(['w1', 'w3']);
    expect(leak.data?.leakedIps).toEqual({ w1: ['10.244.1.5'], w3: ['10.244.3.9'] });
    expect(exhausted.nodes).toEqual(['w2']);
  });

  it('de-duplicates and caps evidence, and breaks ties by the fixed cause order', () => {
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i}`);
    const causes = rankCauses([
      result('node-devices', [{ cause: 'stale-cni0', confidence: 0.8, evidence: [...lines, ...lines] }]),
      result('node-cni-config', [{ cause: 'cni-config-conflict', confidence: 0.8 }]),
    ]);
    expect(causes.map((c) => c.id)).toEqual(['stale-cni0', 'cni-config-conflict']);
    expect(causes[0].evidence).toEqual(lines.slice(0, MAX_EVIDENCE_PER_CAUSE));
    expect(causes[0].title).toBe('The cni0 bridge holds an address from an old podCIDR');
  });
});

describe('isHealthy', () => {
  it('is healthy with only weak causes and no failing check', () => {
    const results = [result('node-netns', [{ cause: 'ipam-leak', confidence: 0.3 }], 'warn')];
    expect(isHealthy(results, rankCauses(results))).toBe(true);
  });
  it('is unhealthy with a confident cause or a failing check', () => {
    const strong = [result('node-ipam', [{ cause: 'ipam-leak', confidence: 0.9 }], 'warn')];
    expect(isHealthy(strong, rankCauses(strong))).toBe(false);
    const failing = [result('node-devices', [], 'fail')];
    expect(isHealthy(failing, [])).toBe(false);
  });
});

describe('evidence strength and ties (gap 7)', () => {
  it('ranks equal confidence by agreeing checks, then by direct (probe) observation', () => {
    const byChecks = rankCauses([
      result('node-devices', [{ cause: 'stale-cni0', confidence: 0.8, nodes: ['w1'] }]),
      result('node-cni-config', [{ cause: 'cni-config-conflict', confidence: 0.75, nodes: ['w2'] }]),
      result('pod-ips', [{ cause: 'cni-config-conflict', confidence: 0.45, nodes: ['w2'] }]),
    ]);
    // 0.75 + 0.05 for two agreeing checks = 0.8: as confident as stale-cni0, with more support.
    expect(byChecks.map((c) => [c.id, c.confidence])).toEqual([
      ['cni-config-conflict', 0.8],
      ['stale-cni0', 0.8],
    ]);
    expect(findTie(byChecks)).toBeUndefined();
    const byDirect = rankCauses([
      result('flannel-daemonset', [{ cause: 'flannel-pod-failing', confidence: 0.8, nodes: ['w1'] }]),
      result('node-devices', [{ cause: 'stale-cni0', confidence: 0.8, nodes: ['w1'] }]),
    ]);
    expect(byDirect.map((c) => c.id)).toEqual(['stale-cni0', 'flannel-pod-failing']);
  });

  it('calls equally strong causes on the same node a tie and says what tells them apart', () => {
    const causes = rankCauses([
      result('node-devices', [{ cause: 'stale-cni0', confidence: 0.8, nodes: ['w1'] }]),
      result('node-cni-plugins', [
        {
          cause: 'cni-plugin-missing',
          confidence: 0.8,
          nodes: ['w1'],
          data: { missingPlugins: { w1: ['bridge'] } },
        },
      ]),
    ]);
    const tie = findTie(causes)!;
    expect(tie.causes.sort()).toEqual(['cni-plugin-missing', 'stale-cni0']);
    expect(tie.tellApart.join('\n')).toMatch(/stale-cni0: `ip -4 addr show cni0`/);
    expect(tie.tellApart.join('\n')).toMatch(/cni-plugin-missing: `ls \/opt\/cni\/bin`/);
  });

  it('is no tie when equally strong causes concern different nodes', () => {
    const causes = rankCauses([
      result('node-devices', [{ cause: 'stale-cni0', confidence: 0.9, nodes: ['w1'] }]),
      result('node-ipam', [{ cause: 'ipam-leak', confidence: 0.9, nodes: ['w2'] }]),
    ]);
    expect(findTie(causes)).toBeUndefined();
  });

  it('confirms a cause per node: weak node evidence elsewhere does not count, cluster-wide evidence does', () => {
    const [conflict] = rankCauses([
      result('node-cni-config', [{ cause: 'cni-config-conflict', confidence: 0.9, nodes: ['w2'] }]),
      result('other-cnis', [{ cause: 'cni-config-conflict', confidence: 0.3, nodes: ['w1', 'w2', 'w3'] }]),
    ]);
    expect(conflict.nodes).toEqual(['w1', 'w2', 'w3']);
    expect(conflict.confirmedNodes).toEqual(['w2']);
    const [missing] = rankCauses([
      result('flannel-daemonset', [{ cause: 'flannel-not-deployed', confidence: 0.9 }]),
      result('node-devices', [{ cause: 'flannel-not-deployed', confidence: 0.4, nodes: ['w1', 'w2'] }]),
    ]);
    expect(missing.confirmedNodes).toEqual(['w1', 'w2']);
  });
});

describe('version mismatch that explains the failures (gap 6)', () => {
  it('raises a manifest whose RBAC API is gone above the RBAC objects it failed to create, and all they explain', () => {
    const causes = rankCauses([
      result(
        'version-compat',
        [
          {
            cause: 'version-mismatch',
            confidence: 0.45,
            data: { unservedKinds: ['ClusterRole', 'ClusterRoleBinding'], suitable: 'v0.28.9' },
          },
        ],
        'warn',
      ),
      result('flannel-rbac', [
        {
          cause: 'flannel-partially-deployed',
          confidence: 0.8,
          data: { missing: ['clusterrolebinding flannel'] },
        },
      ]),
      result('flannel-pods', [
        {
          cause: 'flannel-pod-failing',
          confidence: 0.75,
          nodes: ['w1', 'w2'],
          data: { podFailure: { w1: 'crashloop' }, flanneldErrors: { w1: 'rbac' } },
        },
        { cause: 'flannel-partially-deployed', confidence: 0.6 },
      ]),
      result('node-subnet-env', [{ cause: 'subnet-env-missing', confidence: 0.8, nodes: ['w1'] }]),
    ]);
    expect(causes[0].id).toBe('version-mismatch');
    expect(causes[0].confidence).toBeGreaterThan(0.85);
    expect(causes[0].nodes).toEqual(['w1', 'w2']);
    for (const c of causes.slice(1)) {
      expect({ id: c.id, below: c.confidence < 0.5 }).toEqual({ id: c.id, below: true });
    }
    expect(causes.find((c) => c.id === 'subnet-env-missing')?.data?.explainedBy).toBeDefined();
  });

  it('leaves a version note alone when the missing objects are not of the unserved kinds', () => {
    const causes = rankCauses([
      result('version-compat', [
        { cause: 'version-mismatch', confidence: 0.45, data: { unservedKinds: ['PodSecurityPolicy'] } },
      ]),
      result('flannel-configmap', [
        {
          cause: 'flannel-partially-deployed',
          confidence: 0.85,
          data: { missing: ['configmap kube-flannel/kube-flannel-cfg'] },
        },
      ]),
    ]);
    expect(causes.map((c) => [c.id, c.confidence])).toEqual([
      ['flannel-partially-deployed', 0.85],
      ['version-mismatch', 0.45],
    ]);
  });
});

describe('a cni0 that follows something else', () => {
  it('is explained by another CNI config winning on the node, or a wrong subnet.env there, not elsewhere', () => {
    for (const cause of ['cni-config-conflict', 'subnet-env-mismatch'] as const) {
      const causes = rankCauses([
        result('node-cni-config', [{ cause, confidence: 0.9, nodes: ['w2'] }]),
        result('node-devices', [{ cause: 'stale-cni0', confidence: 0.9, nodes: ['w2'] }]),
      ]);
      expect(causes.map((c) => [c.id, c.confidence < 0.5])).toEqual([
        [cause, false],
        ['stale-cni0', true],
      ]);
    }
    const elsewhere = rankCauses([
      result('node-cni-config', [{ cause: 'cni-config-conflict', confidence: 0.9, nodes: ['w2'] }]),
      result('node-devices', [{ cause: 'stale-cni0', confidence: 0.9, nodes: ['w1'] }]),
    ]);
    expect(elsewhere.find((c) => c.id === 'stale-cni0')?.confidence).toBe(0.9);
  });
});
