import { describe, expect, it } from '@jest/globals';
import { loadRunbooks, shippedRunbooksDir } from '../../src/runbooks/load.js';
import { planRemediation } from '../../src/diagnosis/plan.js';
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
  it('expands node steps per affected node in runbook order, with the leaked IPs of that node', () => {
    const plan = planRemediation(runbook, [
      cause('ipam-leak', 0.95, ['w2', 'w1'], {
        leakedIps: { w1: ['10.244.1.5', '10.244.1.6'], w2: ['10.244.2.9'] },
        leftoverNetns: { w1: { count: 1, candidates: ['cni-a'] } },
      }),
    ]);
    expect(plan.map((s) => `${s.step}@${s.node ?? '-'}`)).toEqual([
      'release-leaked-ips@w1',
      'release-leaked-ips@w2',
      'remove-leftover-netns@w1',
      'remove-leftover-netns@w2',
      'delete-stuck-pods@w1',
      'delete-stuck-pods@w2',
    ]);
    expect(plan[0]).toEqual({
      step: 'release-leaked-ips',
      action: 'release-leaked-ips',
      risk: 'medium',
      title: 'Release leaked host-local IP reservations on the node',
      node: 'w1',
      reportOnly: false,
      params: { leakedIps: ['10.244.1.5', '10.244.1.6'], leftoverNetns: { count: 1, candidates: ['cni-a'] } },
      causes: ['ipam-leak'],
    });
    expect(plan[4].params).toMatchObject({ maxPods: 50, leakedIps: ['10.244.1.5', '10.244.1.6'] });
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
    expect(plan.map((s) => `${s.action}@${s.node ?? '-'}`)).toEqual([
      'reapply-flannel-manifest@-',
      'restart-kubelet@w1',
      'restart-kubelet@w2',
      'delete-stuck-pods@w1',
      'delete-stuck-pods@w2',
      'report-cni-config-conflict@-',
    ]);
    const report = plan.at(-1)!;
    expect(report.reportOnly).toBe(true);
    expect(report.params).toEqual({ conflicts: { w2: { files: ['10-calico.conflist'] } }, nodes: ['w2'] });
    expect(plan[0].reportOnly).toBe(false);
  });

  it('carries approvals from the step', () => {
    const custom = { remediation: [{ ...runbook.remediation[0], approvals: 2 }] };
    expect(planRemediation(custom, [cause('flannel-not-deployed', 0.9)])[0].approvalsRequired).toBe(2);
    expect(
      planRemediation(runbook, [cause('flannel-not-deployed', 0.9)])[0].approvalsRequired,
    ).toBeUndefined();
  });
});
