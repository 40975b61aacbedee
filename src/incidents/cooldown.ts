import { isTerminalState, type IncidentState } from './transitions.js';

/** Default quiet period after an incident ends during which the same failure does not page again. */
export const DEFAULT_REOPEN_COOLDOWN_MS = 10 * 60_000;

/**
 * Where new signals for a (cluster, runbook) go, given the latest incident for that pair.
 *
 * - `update`:   an incident is still active: the signals add to it.
 * - `reopen`:   the last incident *resolved* less than the cooldown ago: the failure is back (flapping, or the
 *               fix did not hold). Re-open that incident in the same Slack thread rather than page again.
 * - `absorb`:   the last incident *failed* (automation gave up or a person closed it) less than the cooldown
 *               ago: people are already on it, so record the counts there without re-running the automation
 *               (re-opening would loop diagnose -> fail -> re-open every few minutes in the thread).
 * - `open-new`: nothing recent: open a new incident (a new page).
 *
 * recordSignals' Lua script mirrors this function line for line; keep them in step.
 */
export type SignalTarget = 'update' | 'reopen' | 'absorb' | 'open-new';

export interface LatestIncidentView {
  state: IncidentState;
  /** Epoch ms the incident became resolved/failed. */
  resolvedAtMs?: number;
}

export function decideSignalTarget(
  latest: LatestIncidentView | undefined,
  nowMs: number,
  cooldownMs: number,
): SignalTarget {
  if (!latest) return 'open-new';
  if (!isTerminalState(latest.state)) return 'update';
  if (latest.resolvedAtMs === undefined || nowMs - latest.resolvedAtMs >= cooldownMs) return 'open-new';
  return latest.state === 'resolved' ? 'reopen' : 'absorb';
}
