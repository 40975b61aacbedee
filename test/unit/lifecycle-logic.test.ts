/** The lifecycle's pure decisions: approval policy, "what is next", the verification's judgement. */
import { describe, expect, it } from '@jest/globals';
import { parseClustersConfig } from '../../src/config/clusters.js';
import type { Diagnosis } from '../../src/diagnosis/types.js';
import type { Incident } from '../../src/incidents/types.js';
import { describeNext, needsPerson } from '../../src/lifecycle/next.js';
import { approvalRefusal, isApprover, requiredApprovals } from '../../src/lifecycle/policy.js';
import type { PlannedStep, PlanView, StepState } from '../../src/lifecycle/types.js';
import { judgeVerification } from '../../src/lifecycle/verification.js';
import { loadRunbooks, shippedRunbooksDir } from '../../src/runbooks/load.js';

const policy = (approvals: Record<string, unknown> = {}) =>
  parseClustersConfig({ clusters: [{ name: 'prod', channel: 'C0PROD', approvals }] }).clusters[0].approvals;

const step = (over: Partial<PlannedStep> = {}): PlannedStep => ({
  id: 'reapply-manifest',
  step: 'reapply-manifest',
  index: 1,
  action: 'reapply-flannel-manifest',
  risk: 'high',
  title: 'Re-apply',
  reportOnly: false,
  causes: ['flannel-not-deployed'],
  required: 2,
  preview: { headline: 'Install Flannel v0.28.9 (suits Kubernetes v1.33.4)', lines: [] },
  ...over,
});

describe('approval policy', () => {
  it('needs the cluster count for the risk, a runbook override when higher, nothing for a report', () => {
    const p = policy();
    expect(requiredApprovals(step({ risk: 'high' }), p)).toBe(2);
    expect(requiredApprovals(step({ risk: 'medium' }), p)).toBe(1);
    expect(requiredApprovals(step({ risk: 'low', approvalsRequired: 3 }), p)).toBe(3);
    expect(requiredApprovals(step({ risk: 'high', approvalsRequired: 1 }), p)).toBe(2);
    expect(requiredApprovals(step({ reportOnly: true }), p)).toBe(0);
  });

  it('lets listed users and group members approve, nobody else', () => {
    const p = policy({ approvers: { users: ['U0LEAD'], groups: ['oncall'] } });
    expect(isApprover(p, 'U0LEAD', new Set())).toBe(true);
    expect(isApprover(p, 'UALICE', new Set(['UALICE']))).toBe(true);
    expect(isApprover(p, 'UMALLORY', new Set(['UALICE']))).toBe(false);
    expect(approvalRefusal({ policy: p, user: 'UMALLORY', groupMembers: new Set(), step: step() })).toEqual({
      code: 'not-approver',
      users: ['U0LEAD'],
      groups: ['oncall'],
    });
  });

  it('keeps the two-person rule: whoever asked may not approve a high-risk step, unless allowed', () => {
    const members = new Set(['UALICE']);
    const strict = policy({ approvers: { groups: ['oncall'] } });
    expect(
      approvalRefusal({
        policy: strict,
        user: 'UALICE',
        groupMembers: members,
        step: step(),
        requestedBy: 'UALICE',
      }),
    ).toEqual({
      code: 'self-approval',
    });
    expect(
      approvalRefusal({
        policy: strict,
        user: 'UALICE',
        groupMembers: members,
        step: step({ risk: 'medium' }),
        requestedBy: 'UALICE',
      }),
    ).toBeUndefined();
    const lenient = policy({ approvers: { groups: ['oncall'] }, requesterMayApproveHighRisk: true });
    expect(
      approvalRefusal({
        policy: lenient,
        user: 'UALICE',
        groupMembers: members,
        step: step(),
        requestedBy: 'UALICE',
      }),
    ).toBeUndefined();
    expect(
      approvalRefusal({
        policy: strict,
        user: 'UALICE',
        groupMembers: members,
        step: step({ reportOnly: true }),
      }),
    ).toEqual({
      code: 'report-only',
    });
  });
});

const incident = (state: Incident['state'], extras: Incident['extras'] = {}): Incident => ({
  id: 'inc-abc12345',
  cluster: 'prod',
  runbookId: 'flannel',
  state,
  counts: { events: 1, occurrences: 1, pods: 1, nodes: 1, namespaces: 1, approximate: false },
  signatures: [],
  firstSeen: '2026-01-01T00:00:00Z',
  lastSeen: '2026-01-01T00:00:00Z',
  openedAt: '2026-01-01T00:00:00Z',
  updatedAt: '2026-01-01T00:00:00Z',
  reopenCount: 0,
  version: 1,
  extras,
});

const state = (s: StepState['state'], approvals = 0): StepState => ({
  state: s,
  approvals: Array.from({ length: approvals }, (_, i) => ({ user: `U${i}X`, at: 0 })),
  nodes: {},
  lines: [],
});

function view(states: StepState[], over: Partial<PlanView['plan']> = {}): PlanView {
  const steps = states.map((_, i) =>
    step({
      id: `s${i}`,
      index: i + 1,
      preview: { headline: `Step headline ${i + 1}`, lines: [] },
      required: i === 0 ? 2 : 1,
    }),
  );
  return {
    plan: {
      incidentId: 'inc-abc12345',
      cluster: 'prod',
      version: 1,
      diagnosisId: 'd1',
      createdAt: '2026-01-01T00:00:00Z',
      expiresAt: '2999-01-01T00:00:00Z',
      approvers: { users: [], groups: ['oncall'] },
      headline: 'Flannel is not deployed',
      causes: [],
      steps,
      notOffered: [],
      ...over,
    },
    states: Object.fromEntries(states.map((s, i) => [`s${i}`, s])),
  };
}

describe('what is next', () => {
  it('says how many more approvals the next step needs, and which', () => {
    expect(describeNext(incident('awaiting-approval'), view([state('awaiting', 1)]))).toBe(
      'Needs 1 approval: Step headline 1',
    );
    expect(describeNext(incident('awaiting-approval'), view([state('awaiting')]))).toBe(
      'Needs 2 approvals: Step headline 1',
    );
  });

  it('says "Awaiting approval" only when something can be approved', () => {
    expect(describeNext(incident('awaiting-approval'), view([state('report')]))).toBe(
      'Needs a person: Step headline 1',
    );
    expect(describeNext(incident('awaiting-approval'), view([state('rejected')]))).toMatch(
      /^Needs a person: no step left/,
    );
    expect(
      describeNext(
        incident('awaiting-approval'),
        view([state('awaiting')], { approvers: { users: [], groups: [] } }),
      ),
    ).toMatch(/^Needs a person: nobody may approve/);
    expect(
      describeNext(
        incident('awaiting-approval'),
        view([state('awaiting')], { expiresAt: '2000-01-01T00:00:00Z' }),
      ),
    ).toMatch(/^Plan expired/);
  });

  it('while an approved step waits for its turn, nobody is asked to act by hand', () => {
    const queued = view([state('done'), state('approved')]);
    expect(describeNext(incident('awaiting-approval'), queued)).toBe(
      'Approved: step 2 runs next (Step headline 2)',
    );
    expect(needsPerson(incident('awaiting-approval'), queued)).toBe(false);
    expect(needsPerson(incident('awaiting-approval'), view([state('awaiting')]))).toBe(false);
    expect(needsPerson(incident('awaiting-approval'), view([state('report'), state('rejected')]))).toBe(true);
    expect(
      needsPerson(
        incident('awaiting-approval'),
        view([state('awaiting')], { approvers: { users: [], groups: [] } }),
      ),
    ).toBe(true);
    expect(needsPerson(incident('remediating'), view([state('running')]))).toBe(false);
  });

  it('names the running step, and a diagnosis that could not finish', () => {
    expect(describeNext(incident('remediating'), view([state('done'), state('running')]))).toBe(
      'Running step 2: Step headline 2',
    );
    expect(describeNext(incident('open', { diagnosisFailed: { reason: 'API down' } }), undefined)).toMatch(
      /could not finish \(API down\)/,
    );
  });
});

describe('verification', () => {
  const runbook = loadRunbooks(shippedRunbooksDir()).find((r) => r.id === 'flannel')!;
  const diagnosis = (
    checks: Diagnosis['checks'],
    causes: Diagnosis['causes'] = [],
    healthy = true,
  ): Diagnosis => ({
    id: 'd2',
    cluster: 'prod',
    runbookId: 'flannel',
    nodes: [],
    startedAt: '',
    finishedAt: '',
    healthy,
    causes,
    checks,
    plan: [],
    network: { warnings: [] },
  });
  const check = (id: Diagnosis['checks'][number]['id'], status: Diagnosis['checks'][number]['status']) => ({
    id,
    status,
    summary: `${id} is ${status}`,
    evidence: [],
    findings: [],
  });

  it('passes when every verification check passes and no cause is left', () => {
    const d = diagnosis([
      check('flannel-daemonset', 'ok'),
      check('stuck-pods', 'ok'),
      check('node-devices', 'warn'),
    ]);
    expect(judgeVerification(runbook, d)).toEqual({
      passed: true,
      lines: [
        'flannel-daemonset: ok — flannel-daemonset is ok',
        'stuck-pods: ok — stuck-pods is ok',
        'node-devices: warn — node-devices is warn',
      ],
    });
  });

  it('fails naming what is still wrong', () => {
    const d = diagnosis(
      [check('flannel-daemonset', 'ok'), check('stuck-pods', 'fail')],
      [
        {
          id: 'ipam-leak',
          title: 'Leaked IPs',
          confidence: 0.9,
          summary: '',
          nodes: ['w1'],
          evidence: [],
          checks: [],
        },
      ],
      false,
    );
    const j = judgeVerification(runbook, d);
    expect(j.passed).toBe(false);
    expect(j.lines).toEqual(['stuck-pods: fail — stuck-pods is fail', 'still: Leaked IPs (ipam-leak on w1)']);
  });
});
