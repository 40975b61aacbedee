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
    expect(canTransition('open', 'awaiting-approval')).toBe(false);
    // Nothing resolves while a step runs: it is verified first.
    expect(canTransition('remediating', 'resolved')).toBe(false);
    expect(canTransition('diagnosing', 'remediating')).toBe(false);
    for (const state of INCIDENT_STATES) expect(canTransition(state, state)).toBe(false);
  });

  it('lets a diagnosis that could not finish go back to open, and a step sequence wait for the next approval', () => {
    expect(canTransition('diagnosing', 'open')).toBe(true);
    expect(canTransition('remediating', 'awaiting-approval')).toBe(true);
    expect(canTransition('awaiting-approval', 'verifying')).toBe(true);
    expect(canTransition('verifying', 'diagnosing')).toBe(true);
  });

  it('lists the predecessors the atomic compare-and-set accepts', () => {
    expect(allowedPredecessors('remediating')).toEqual(['awaiting-approval']);
    expect(allowedPredecessors('awaiting-approval').sort()).toEqual([
      'diagnosing',
      'remediating',
      'verifying',
    ]);
    expect(allowedPredecessors('open')).toEqual(['diagnosing']);
  });

  it('explains a refusal with what would have been allowed', () => {
    expect(describeIllegalTransition('inc-abc', 'open', 'verifying')).toBe(
      'incident inc-abc: cannot move from open to verifying (allowed from open: diagnosing, failed)',
    );
    expect(describeIllegalTransition('inc-abc', 'resolved', 'open')).toContain('resolved is a final state');
  });
});
