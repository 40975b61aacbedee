/**
 * The approval policy (pure): who may approve, how many distinct approvals a step needs, and whether the
 * person who asked for the diagnosis may approve its high-risk steps (clusters.yaml `approvals`, SPEC
 * "Approvals": low 1, medium 1, high 2 — the two-person rule). Group membership is resolved by the caller.
 */
import type { ApprovalPolicy } from '../config/clusters.js';
import type { PlannedStep } from './types.js';

/** Approvals a step needs: the runbook's override, else the cluster's count for its risk; 0 when report-only. */
export function requiredApprovals(
  step: Pick<PlannedStep, 'reportOnly' | 'approvalsRequired' | 'risk'>,
  policy: ApprovalPolicy,
): number {
  if (step.reportOnly) return 0;
  return Math.max(step.approvalsRequired ?? 0, policy.required[step.risk]);
}

/** Is `user` an approver: listed by id, or a member of a listed user group (members resolved by the caller). */
export function isApprover(policy: ApprovalPolicy, user: string, groupMembers: ReadonlySet<string>): boolean {
  return policy.approvers.users.includes(user) || groupMembers.has(user);
}

export type PolicyRefusal =
  | { code: 'not-approver'; users: string[]; groups: string[] }
  | { code: 'self-approval' }
  | { code: 'report-only' };

/** Why `user` may not approve `step`, or undefined when they may (counting and duplicates are the store's). */
export function approvalRefusal(input: {
  policy: ApprovalPolicy;
  user: string;
  groupMembers: ReadonlySet<string>;
  step: Pick<PlannedStep, 'reportOnly' | 'risk'>;
  requestedBy?: string;
}): PolicyRefusal | undefined {
  const { policy, user, step } = input;
  if (step.reportOnly) return { code: 'report-only' };
  if (!isApprover(policy, user, input.groupMembers)) {
    return { code: 'not-approver', users: [...policy.approvers.users], groups: [...policy.approvers.groups] };
  }
  if (step.risk === 'high' && !policy.requesterMayApproveHighRisk && input.requestedBy === user) {
    return { code: 'self-approval' };
  }
  return undefined;
}
