/**
 * "What is next" for an incident, in one line for its root message (pure): people must see at a glance
 * whether something can be approved, by how many more people, or whether a person must act by hand.
 * "Awaiting approval" is said only when something can be approved.
 */
import type { Incident } from '../incidents/types.js';
import type { PlanView } from './types.js';

export function describeNext(incident: Incident, view: PlanView | undefined, nowMs = Date.now()): string {
  switch (incident.state) {
    case 'open': {
      const failed = incident.extras.diagnosisFailed as { reason?: string } | undefined;
      return failed
        ? `Diagnosis could not finish (${failed.reason ?? 'see the thread'}): re-run it`
        : 'Diagnosis queued';
    }
    case 'diagnosing':
      return 'Diagnosing: checks and node probes running';
    case 'verifying':
      return 'Verifying the fix: checks running again';
    case 'resolved':
      return 'Resolved';
    case 'failed':
      return 'Closed without a fix';
    case 'remediating': {
      const running = view?.plan.steps.find((s) => view.states[s.id]?.state === 'running');
      return running
        ? `Running step ${running.index}: ${running.preview.headline}`
        : 'Running the approved steps';
    }
    case 'awaiting-approval': {
      if (!view) return 'Needs a person: see the verdict in the thread';
      if (Date.parse(view.plan.expiresAt) < nowMs) return 'Plan expired: re-run the diagnosis for a new one';
      const queued = view.plan.steps.find((s) =>
        ['approved', 'running'].includes(view.states[s.id]?.state ?? ''),
      );
      if (queued) return `Approved: step ${queued.index} runs next (${queued.preview.headline})`;
      const pending = view.plan.steps.find((s) => view.states[s.id]?.state === 'awaiting');
      const approvers = view.plan.approvers.users.length + view.plan.approvers.groups.length;
      if (pending && approvers === 0) {
        return `Needs a person: nobody may approve on this cluster (approvals.approvers in clusters.yaml is empty); ${pending.preview.headline}`;
      }
      if (pending) {
        const have = view.states[pending.id]?.approvals.length ?? 0;
        const need = pending.required - have;
        return `Needs ${need} approval${need === 1 ? '' : 's'}: ${pending.preview.headline}`;
      }
      const report = view.plan.steps.find((s) => view.states[s.id]?.state === 'report');
      if (report) return `Needs a person: ${report.preview.headline}`;
      return 'Needs a person: no step left to approve; fix by hand, then re-run the diagnosis';
    }
  }
}

/**
 * Is the incident waiting for a person to act by hand (nothing to approve, nothing approved left to run)?
 * The root says "Needs a person" then, never "Awaiting approval".
 */
export function needsPerson(incident: Incident, view: PlanView | undefined, nowMs = Date.now()): boolean {
  if (incident.state !== 'awaiting-approval') return false;
  if (!view || Date.parse(view.plan.expiresAt) < nowMs) return true;
  const states = view.plan.steps.map((s) => view.states[s.id]?.state);
  if (states.some((s) => s === 'approved' || s === 'running')) return false;
  const approvers = view.plan.approvers.users.length + view.plan.approvers.groups.length;
  return approvers === 0 || !states.includes('awaiting');
}
