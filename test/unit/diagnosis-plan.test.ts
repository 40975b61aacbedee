import { describe, expect, it } from '@jest/globals';
import { loadRunbooks, shippedRunbooksDir } from '../../src/runbooks/load.js';
import { holdBackForTie, planRemediation } from '../../src/diagnosis/plan.js';
import { assembleDiagnosis } from '../../src/diagnosis/assemble.js';
import type { RankedCause } from '../../src/diagnosis/types.js';
import type { CauseId } from '../../src/checks/causes.js';

const runbook = loadRunbooks(shippedRunbooksDir()).find((r) => r.id === 'flannel')!;

function cause(
  id: CauseId,
  confidence: number,
  nodes: string[] = [],
  data?: Record<string, unknown>,
): RankedCause {
  return {
    id,
    title: id,
    confidence,
    summary: id,
    nodes,
    evidence: [],
    checks: [],
    ...(data ? { data } : {}),
  };
}

describe('planRemediation', () => {
  it('groups a node action into one step over its nodes, each node with its own data', () => {
    const plan = planRemediation(runbook, [
      cause('ipam-leak', 0.95, ['w2', 'w1'], {
        leakedIps: { w1: ['10.244.1.5', '10.244.1.6'], w2: ['10.244.2.9'] },
        leftoverNetns: { w1: { count: 1, candidates: ['cni-a'] } },
      }),
    ]);
    expect(plan.map((s) => `${s.step}@${(s.nodes ?? []).join(',')}`)).toEqual([
      'release-leaked-ips@w1,w2',
      'remove-leftover-netns@w1,w2',
      'delete-stuck-pods@w1,w2',
    ]);
    expect(plan[0]).toEqual({
      step: 'release-leaked-ips',
      action: 'release-leaked-ips',
      risk: 'medium',
      title: 'Release leaked host-local IP reservations on the node',
      nodes: ['w1', 'w2'],
      reportOnly: false,
      params: { nodes: ['w1', 'w2'] },
      nodeParams: {
        w1: { leakedIps: ['10.244.1.5', '10.244.1.6'], leftoverNetns: { count: 1, candidates: ['cni-a'] } },
        w2: { leakedIps: ['10.244.2.9'] },
      },
      causes: ['ipam-leak'],
    });
    expect(plan[2].params).toMatchObject({ maxPods: 50, nodes: ['w1', 'w2'] });
  });

  it('plans cordon, delete and uncordon for a stale cni0 and leaves out weak or explained causes', () => {
    const plan = planRemediation(runbook, [
      cause('stale-cni0', 0.9, ['w1']),
      cause('subnet-env-missing', 0.3, ['w1']),
    ]);
    expect(plan.map((s) => s.action)).toEqual([
      'cordon-node',
      'delete-stale-cni0',
      'uncordon-node',
      'delete-stuck-pods',
    ]);
    expect(plan.find((s) => s.action === 'delete-stale-cni0')!.risk).toBe('high');
  });

  it('runs node steps of a cluster-wide cause on the affected nodes and marks report-only actions', () => {
    const plan = planRemediation(
      runbook,
      [
        cause('flannel-not-deployed', 0.9),
        cause('cni-config-conflict', 0.9, ['w2'], { conflicts: { w2: { files: ['10-calico.conflist'] } } }),
      ],
      { nodes: ['w1', 'w2'] },
    );
    expect(plan.map((s) => `${s.action}@${(s.nodes ?? []).join(',') || '-'}`)).toEqual([
      'reapply-flannel-manifest@w1,w2',
      'restart-kubelet@w1,w2',
      'delete-stuck-pods@w1,w2',
      'report-cni-config-conflict@w2',
    ]);
    const report = plan.at(-1)!;
    expect(report.reportOnly).toBe(true);
    expect(report.node).toBe('w2');
    expect(report.params).toEqual({ conflicts: { w2: { files: ['10-calico.conflist'] } }, nodes: ['w2'] });
    expect(plan[0].reportOnly).toBe(false);
  });

  it('offers no step that cannot help: no Flannel restart for missing upstream plugins or an unpullable image', () => {
    const upstream = planRemediation(runbook, [
      cause('cni-plugin-missing', 0.85, ['w2'], { missingPlugins: { w2: ['bridge', 'host-local'] } }),
    ]);
    expect(upstream.map((s) => s.action)).toEqual(['report-missing-cni-plugins']);

    const flannelOnly = planRemediation(runbook, [
      cause('cni-plugin-missing', 0.75, ['w1', 'w2'], {
        missingPlugins: { w1: ['flannel'], w2: ['flannel', 'bridge'] },
      }),
    ]);
    const restart = flannelOnly.find((s) => s.action === 'restart-flannel-pod');
    expect(restart?.nodes).toEqual(['w1']);

    const imagePull = planRemediation(runbook, [
      cause('flannel-pod-failing', 0.75, ['w3', 'w4'], { podFailure: { w3: 'image-pull', w4: 'crashloop' } }),
    ]);
    expect(imagePull.find((s) => s.action === 'restart-flannel-pod')?.nodes).toEqual(['w4']);
  });

  it('carries approvals from the step', () => {
    const custom = { remediation: [{ ...runbook.remediation[0], approvals: 2 }] };
    expect(planRemediation(custom, [cause('flannel-not-deployed', 0.9)])[0].approvalsRequired).toBe(2);
    expect(
      planRemediation(runbook, [cause('flannel-not-deployed', 0.9)])[0].approvalsRequired,
    ).toBeUndefined();
  });
});

describe('ties and confirmation (gap 7)', () => {
  it('holds back every high-risk step of a tied cause', () => {
    const causes = [
      cause('stale-cni0', 0.8, ['w1']),
      cause('cni-plugin-missing', 0.8, ['w1'], { missingPlugins: { w1: ['bridge'] } }),
    ];
    const planned = planRemediation(runbook, causes);
    expect(planned.map((s) => s.action)).toContain('delete-stale-cni0');
    const { plan, heldBack } = holdBackForTie(planned, ['stale-cni0', 'cni-plugin-missing']);
    expect(heldBack.map((s) => s.action)).toEqual(['delete-stale-cni0']);
    expect(plan.every((s) => s.risk !== 'high')).toBe(true);
    expect(plan.map((s) => s.action)).toContain('report-missing-cni-plugins');
  });

  it('offers node steps only where the cause is confirmed', () => {
    const plan = planRemediation(runbook, [
      { ...cause('subnet-env-mismatch', 0.85, ['w1', 'w2', 'w3']), confirmedNodes: ['w2'] },
    ]);
    expect(plan.find((s) => s.action === 'restart-flannel-pod')?.nodes).toEqual(['w2']);
  });

  it('restarts nothing for an untolerated taint or a node without br_netfilter; reports instead', () => {
    const plan = planRemediation(runbook, [
      cause('flannel-pod-failing', 0.85, ['gpu-1', 'w2'], {
        podFailure: { 'gpu-1': 'not-scheduled', w2: 'node-config' },
      }),
    ]);
    expect(plan.map((s) => s.action)).toEqual(['report-flannel-pod-failure']);
  });
});

describe('steps that cannot help', () => {
  it('restarts neither kubelet nor Flannel on a node without the upstream plugins, whatever the cause', () => {
    const plan = planRemediation(
      runbook,
      [
        cause('flannel-not-deployed', 0.9),
        cause('cni-plugin-missing', 0.85, ['w2'], { missingPlugins: { w2: ['bridge', 'host-local'] } }),
        cause('subnet-env-mismatch', 0.85, ['w2', 'w3']),
      ],
      { nodes: ['w1', 'w2', 'w3'] },
    );
    expect(plan.find((s) => s.action === 'restart-kubelet')?.nodes).toEqual(['w1', 'w3']);
    expect(plan.find((s) => s.action === 'restart-flannel-pod')?.nodes).toEqual(['w3']);
    expect(plan.map((s) => s.action)).toContain('report-missing-cni-plugins');
  });
});

describe('assembling a diagnosis probed on a sample node', () => {
  const request = {
    id: 'd1',
    cluster: 'prod',
    runbookId: 'flannel',
    nodes: ['w1'],
    nodesNotProbed: [],
    startedAt: '2025-09-22T10:00:00Z',
    checks: runbook.checks,
  };
  const results = [
    { id: 'flannel-daemonset' as const, status: 'ok' as const, summary: 'ok', evidence: [], findings: [] },
    {
      id: 'node-devices' as const,
      status: 'error' as const,
      summary: 'w1: probe failed: image pull',
      evidence: [],
      findings: [],
    },
  ];
  it('keeps a healthy verdict when only the sample probe could not run, but not for affected nodes', () => {
    const at = '2025-09-22T10:00:05Z';
    expect(
      assembleDiagnosis({ request: { ...request, sample: true }, runbook, results, finishedAt: at }).healthy,
    ).toBe(true);
    expect(assembleDiagnosis({ request, runbook, results, finishedAt: at }).healthy).toBe(false);
  });
});
