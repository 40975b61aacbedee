export { IncidentStore, type IncidentStoreOptions } from './store.js';
export { IllegalTransitionError, IncidentNotFoundError, IncidentStateConflictError } from './errors.js';
export {
  INCIDENT_STATES,
  TERMINAL_STATES,
  TRANSITIONS,
  allowedPredecessors,
  canTransition,
  isIncidentState,
  isTerminalState,
  type IncidentState,
} from './transitions.js';
export { DEFAULT_REOPEN_COOLDOWN_MS, decideSignalTarget, type SignalTarget } from './cooldown.js';
export {
  mergeEventCount,
  aggregateSignals,
  truncateMessage,
  SAMPLE_MESSAGE_MAX_CHARS,
} from './count-merge.js';
export { newIncidentId, isIncidentId } from './incident-id.js';
export { DEFAULT_KEY_PREFIX, IncidentKeys } from './keys.js';
export type * from './types.js';
