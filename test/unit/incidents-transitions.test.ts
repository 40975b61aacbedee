import { describe, expect, it } from '@jest/globals';
import {
  allowedPredecessors,
  canTransition,
  describeIllegalTransition,
  INCIDENT_STATES,
  isTerminalState,
  TRANSITIONS,
} from '../../src/incidents/transitions.js';

describe('incident state machine', () => {
  it('follows the happy path open -> diagnosing -> awaiting-approval -> remediating -> verifying -> resolved', () => {
    const path = ['open', 'diagnosing', 'awaiting-approval', 'remediating', 'verifying', 'resolved'] as const;
    for (let i = 0; i + 1 < path.length; i++) expect(canTransition(path[i], path[i + 1])).toBe(true);
  });

  it('lets diagnosis resolve a cluster that is already healthy and verification ask for more approvals', () => {
    expect(canTransition('diagnosing', 'resolved')).toBe(true);
    expect(canTransition('verifying', 'awaiting-approval')).toBe(true);
  });

  it('lets every non-terminal state fail, and nothing leave a terminal state', () => {
    for (const state of INCIDENT_STATES) {
      if (isTerminalState(state)) expect(TRANSITIONS[state]).toEqual([]);
      else expect(canTransition(state, 'failed')).toBe(true);
    }
  });

  it('refuses skipping steps and staying in place', () => {
    expect(canTransition('open', 'remediating')).toBe(false);
    expect(canTransition('awaiting-approval', 'resolved')).toBe(false);
    expect(canTransition('remediating', 'resolved')).toBe(false);
    for (const state of INCIDENT_STATES) expect(canTransition(state, state)).toBe(false);
  });

  it('lists the predecessors the atomic compare-and-set accepts', () => {
    expect(allowedPredecessors('remediating')).toEqual(['awaiting-approval']);
    expect(allowedPredecessors('awaiting-approval').sort()).toEqual(['diagnosing', 'verifying']);
    expect(allowedPredecessors('open')).toEqual([]);
  });

  it('explains a refusal with what would have been allowed', () => {
    expect(describeIllegalTransition('inc-abc', 'open', 'verifying')).toBe(
      'incident inc-abc: cannot move from open to verifying (allowed from open: diagnosing, failed)',
    );
    expect(describeIllegalTransition('inc-abc', 'resolved', 'open')).toContain('resolved is a final state');
  });
});
