/**
 * The incident state machine: the only place that says which state may follow which.
 * The Redis transition script receives the allowed predecessors from here, so this table is the single source.
 *
 * | from               | allowed to                                  | why                                              |
 * |--------------------|---------------------------------------------|--------------------------------------------------|
 * | open               | diagnosing, failed                          | detection opened it; diagnosis starts            |
 * | diagnosing         | awaiting-approval, resolved, failed         | plan offered; or the cluster is healthy already  |
 * | awaiting-approval  | remediating, diagnosing, failed             | a step approved; or the plan expired: re-diagnose|
 * | remediating        | verifying, failed                           | the approved step ran                            |
 * | verifying          | resolved, awaiting-approval, failed         | healthy; or more steps remain                    |
 * | resolved           | (none)                                      | terminal                                         |
 * | failed             | (none)                                      | terminal                                         |
 *
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
  diagnosing: ['awaiting-approval', 'resolved', 'failed'],
  'awaiting-approval': ['remediating', 'diagnosing', 'failed'],
  remediating: ['verifying', 'failed'],
  verifying: ['resolved', 'awaiting-approval', 'failed'],
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
