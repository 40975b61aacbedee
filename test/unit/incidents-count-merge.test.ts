import { describe, expect, it } from '@jest/globals';
import {
  aggregateSignals,
  mergeEventCount,
  normalizeCount,
  SAMPLE_MESSAGE_MAX_CHARS,
  truncateMessage,
} from '../../src/incidents/count-merge.js';
import type { SandboxSignalLike } from '../../src/incidents/types.js';

function signal(overrides: Partial<SandboxSignalLike> = {}): SandboxSignalLike {
  return {
    eventUid: 'e1',
    namespace: 'default',
    podName: 'web-1',
    node: 'node-1',
    count: 1,
    firstSeen: '2024-05-01T10:00:00Z',
    lastSeen: '2024-05-01T10:00:00Z',
    message: 'failed to allocate for range 0: no IP addresses available in range set',
    signature: { errorClass: 'ipam-exhausted' },
    ...overrides,
  };
}

describe('mergeEventCount', () => {
  it('counts a new event with its full count', () => {
    expect(mergeEventCount(undefined, 3)).toEqual({ max: 3, occurrencesDelta: 3, isNewEvent: true });
  });

  it('changes nothing when the same event is replayed with the same or a lower count', () => {
    expect(mergeEventCount(5, 5)).toEqual({ max: 5, occurrencesDelta: 0, isNewEvent: false });
    expect(mergeEventCount(5, 2)).toEqual({ max: 5, occurrencesDelta: 0, isNewEvent: false });
  });

  it('raises occurrences only by the increase when kubelet bumps the count', () => {
    expect(mergeEventCount(5, 8)).toEqual({ max: 8, occurrencesDelta: 3, isNewEvent: false });
  });

  it('treats missing or nonsense counts as one occurrence', () => {
    expect(normalizeCount(undefined)).toBe(1);
    expect(normalizeCount(0)).toBe(1);
    expect(normalizeCount(Number.NaN)).toBe(1);
    expect(normalizeCount(4.7)).toBe(4);
    expect(normalizeCount(1e15)).toBe(2 ** 31 - 1); // an Event's count is an int32
    expect(mergeEventCount(undefined, 0).occurrencesDelta).toBe(1);
  });
});

describe('aggregateSignals', () => {
  it('keeps one entry per event with its highest count and collects distinct pods, nodes and namespaces', () => {
    const batch = aggregateSignals(
      [
        signal({ eventUid: 'a', count: 2 }),
        signal({ eventUid: 'a', count: 7 }),
        signal({ eventUid: 'a', count: 3 }),
        signal({ eventUid: 'b', namespace: 'kube-system', podName: 'web-1', node: 'node-2' }),
        signal({ eventUid: 'c', node: null }),
      ],
      0,
    );
    expect(batch.events).toEqual([
      { uid: 'a', count: 7, errorClass: 'ipam-exhausted' },
      { uid: 'b', count: 1, errorClass: 'ipam-exhausted' },
      { uid: 'c', count: 1, errorClass: 'ipam-exhausted' },
    ]);
    // Same pod name in two namespaces is two pods.
    expect(batch.pods.sort()).toEqual(['default/web-1', 'kube-system/web-1']);
    expect(batch.nodes.sort()).toEqual(['node-1', 'node-2']);
    expect(batch.namespaces.sort()).toEqual(['default', 'kube-system']);
  });

  it('spans the earliest firstSeen to the latest lastSeen, falling back to now for events without times', () => {
    const now = Date.parse('2024-05-01T12:00:00Z');
    const batch = aggregateSignals(
      [
        signal({ firstSeen: '2024-05-01T09:00:00Z', lastSeen: '2024-05-01T09:30:00Z' }),
        signal({ eventUid: 'x', firstSeen: new Date('2024-05-01T10:00:00Z'), lastSeen: 'not a time' }),
      ],
      now,
    );
    expect(batch.firstSeenMs).toBe(Date.parse('2024-05-01T09:00:00Z'));
    expect(batch.lastSeenMs).toBe(Date.parse('2024-05-01T10:00:00Z'));
    expect(aggregateSignals([signal({ firstSeen: undefined, lastSeen: undefined })], now).lastSeenMs).toBe(
      now,
    );
  });

  it('keeps one sample message per error class, cut to 500 characters', () => {
    const batch = aggregateSignals(
      [
        signal({ message: 'y'.repeat(5000) }),
        signal({ eventUid: 'z', message: 'second', signature: { errorClass: 'flannel-missing' } }),
      ],
      0,
    );
    expect(batch.samples.get('ipam-exhausted')).toHaveLength(SAMPLE_MESSAGE_MAX_CHARS);
    expect(batch.samples.get('flannel-missing')).toBe('second');
  });
});

describe('truncateMessage', () => {
  it('leaves short messages alone and never splits a surrogate pair', () => {
    expect(truncateMessage('short')).toBe('short');
    const emoji = '😀'.repeat(400); // 800 UTF-16 units
    const cut = truncateMessage(emoji);
    expect(cut.length).toBeLessThanOrEqual(SAMPLE_MESSAGE_MAX_CHARS);
    expect(cut.endsWith('…')).toBe(true);
    expect(cut.slice(0, -1)).toBe('😀'.repeat((cut.length - 1) / 2));
  });
});
