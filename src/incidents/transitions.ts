/**
 * The incident state machine: the only place that says which state may follow which.
 * The Redis transition script receives the allowed predecessors from here, so this table is the single source.
 *
 * | from               | allowed to                                           | why                                          |
 * |--------------------|------------------------------------------------------|----------------------------------------------|
 * | open               | diagnosing, failed                                   | detected (or a diagnosis could not finish)   |
 * | diagnosing         | awaiting-approval, resolved, open, failed            | plan offered; healthy; diagnosis failed      |
 * | awaiting-approval  | remediating, verifying, diagnosing, resolved, failed | a step runs; steps done; re-run; healthy     |
 * | remediating        | awaiting-approval, verifying, failed                 | next step needs approval; all steps decided  |
 * | verifying          | resolved, awaiting-approval, diagnosing, failed      | healthy; next plan; new failures seen        |
 * | resolved           | (none)                                               | terminal                                     |
 * | failed             | (none)                                               | terminal                                     |
 *
 * Only the lifecycle coordinator (src/lifecycle/coordinator.ts) moves incidents between these states, and
 * only together with the work that leaves the new state (a diagnosis flow, a step job, a verification).
 * Terminal incidents never move through `transition()`. The one way back is detection itself: signals arriving
 * within the cooldown after a *resolved* incident re-open it (resolved -> open, see cooldown.ts), so a flapping
 * failure stays in one Slack thread instead of paging again.
 */
export const INCIDENT_STATES = [
  'open',
  'diagnosing',
  'awaiting-approval',
  'remediating',
  'verifying',
  'resolved',
  'failed',
] as const;

export type IncidentState = (typeof INCIDENT_STATES)[number];

export const TERMINAL_STATES: readonly IncidentState[] = ['resolved', 'failed'];

export const TRANSITIONS: Readonly<Record<IncidentState, readonly IncidentState[]>> = {
  open: ['diagnosing', 'failed'],
  diagnosing: ['awaiting-approval', 'resolved', 'open', 'failed'],
  'awaiting-approval': ['remediating', 'verifying', 'diagnosing', 'resolved', 'failed'],
  remediating: ['awaiting-approval', 'verifying', 'failed'],
  verifying: ['resolved', 'awaiting-approval', 'diagnosing', 'failed'],
  resolved: [],
  failed: [],
};

export function isIncidentState(value: unknown): value is IncidentState {
  return typeof value === 'string' && (INCIDENT_STATES as readonly string[]).includes(value);
}

export function isTerminalState(state: IncidentState): boolean {
  return TERMINAL_STATES.includes(state);
}

export function canTransition(from: IncidentState, to: IncidentState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Every state from which `to` may be entered (what the atomic compare-and-set checks against). */
export function allowedPredecessors(to: IncidentState): IncidentState[] {
  return INCIDENT_STATES.filter((from) => canTransition(from, to));
}

/** A sentence for an operator: what was refused and what would have been allowed. */
export function describeIllegalTransition(id: string, from: IncidentState, to: IncidentState): string {
  const next = TRANSITIONS[from];
  const allowed = next.length > 0 ? `allowed from ${from}: ${next.join(', ')}` : `${from} is a final state`;
  return `incident ${id}: cannot move from ${from} to ${to} (${allowed})`;
}
