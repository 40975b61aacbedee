import { describe, expect, it } from '@jest/globals';
import { decideSignalTarget } from '../../src/incidents/cooldown.js';

const COOLDOWN = 10 * 60_000;
const NOW = 1_700_000_000_000;

describe('where new failure signals go', () => {
  it('opens a new incident when there was none', () => {
    expect(decideSignalTarget(undefined, NOW, COOLDOWN)).toBe('open-new');
  });

  it('adds to an incident that is still being worked on, in any active state', () => {
    for (const state of ['open', 'diagnosing', 'awaiting-approval', 'remediating', 'verifying'] as const) {
      expect(decideSignalTarget({ state }, NOW, COOLDOWN)).toBe('update');
    }
  });

  it('re-opens a resolved incident when the failure comes back within the cooldown (no second page)', () => {
    expect(decideSignalTarget({ state: 'resolved', resolvedAtMs: NOW - 60_000 }, NOW, COOLDOWN)).toBe(
      'reopen',
    );
  });

  it('records onto a failed incident within the cooldown without restarting the automation', () => {
    expect(decideSignalTarget({ state: 'failed', resolvedAtMs: NOW - 60_000 }, NOW, COOLDOWN)).toBe('absorb');
  });

  it('opens a new incident once the cooldown has passed', () => {
    expect(decideSignalTarget({ state: 'resolved', resolvedAtMs: NOW - COOLDOWN }, NOW, COOLDOWN)).toBe(
      'open-new',
    );
    expect(decideSignalTarget({ state: 'failed', resolvedAtMs: NOW - COOLDOWN - 1 }, NOW, COOLDOWN)).toBe(
      'open-new',
    );
  });

  it('opens a new incident when a terminal incident has no end time (cannot tell how recent it was)', () => {
    expect(decideSignalTarget({ state: 'resolved' }, NOW, COOLDOWN)).toBe('open-new');
  });
});
