import type { IncidentState } from './transitions.js';

export class IncidentNotFoundError extends Error {
  constructor(readonly incidentId: string) {
    super(`incident ${incidentId} not found`);
    this.name = 'IncidentNotFoundError';
  }
}

/** The requested state change is not in the transition table (see transitions.ts). */
export class IllegalTransitionError extends Error {
  constructor(
    message: string,
    readonly incidentId: string,
    readonly from: IncidentState,
    readonly to: IncidentState,
  ) {
    super(message);
    this.name = 'IllegalTransitionError';
  }
}

/** Compare-and-set lost: someone else moved the incident first (e.g. a second click, another replica). */
export class IncidentStateConflictError extends Error {
  constructor(
    readonly incidentId: string,
    readonly expected: readonly IncidentState[],
    readonly actual: IncidentState,
    readonly to: IncidentState,
  ) {
    super(
      `incident ${incidentId}: expected state ${expected.join(' or ')} to move to ${to}, but it is ${actual} now`,
    );
    this.name = 'IncidentStateConflictError';
  }
}
