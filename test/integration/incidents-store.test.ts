import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  IllegalTransitionError,
  IncidentNotFoundError,
  IncidentStateConflictError,
  IncidentStore,
  type SandboxSignalLike,
} from '../../src/incidents/index.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';

const REDIS_URL = TEST_REDIS_URL;
const PREFIX = `test-incidents-${randomUUID()}`;
const MINUTE = 60_000;

let clock = Date.parse('2024-05-01T10:00:00Z');
const now = (): number => clock;

const connections: Redis[] = [];
function connect(): Redis {
  const redis = new Redis(REDIS_URL);
  connections.push(redis);
  return redis;
}
function newStore(options: { maxTrackedMembers?: number } = {}): IncidentStore {
  return new IncidentStore({ redis: connect(), prefix: PREFIX, cooldownMs: 10 * MINUTE, now, ...options });
}

/** A storm shaped like the spec's: 10,000 sandbox failures over 500 nodes. */
function storm(total: number, opts: { nodes: number; pods: number; namespaces: number; uidPrefix?: string }) {
  const signals: SandboxSignalLike[] = [];
  for (let i = 0; i < total; i++) {
    const pod = i % opts.pods;
    signals.push({
      eventUid: `${opts.uidPrefix ?? 'ev'}-${i}`,
      namespace: `team-${pod % opts.namespaces}`,
      podName: `app-${pod}`,
      node: `node-${pod % opts.nodes}`,
      count: 1 + (i % 4),
      firstSeen: new Date(Date.parse('2024-05-01T09:00:00Z') + i),
      lastSeen: new Date(Date.parse('2024-05-01T09:30:00Z') + i),
      message:
        i % 3 === 0
          ? 'Failed to create pod sandbox: plugin type="flannel" failed (add): failed to delegate add: failed to allocate for range 0: no IP addresses available in range set: 10.244.1.1-10.244.1.254'
          : 'Failed to create pod sandbox: plugin type="flannel" failed (add): loadFlannelSubnetEnv failed: open /run/flannel/subnet.env: no such file or directory',
      signature: { errorClass: i % 3 === 0 ? 'ipam-exhausted' : 'subnet-env-missing' },
    });
  }
  return signals;
}

function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function expectedCounts(signals: readonly SandboxSignalLike[]) {
  const maxByEvent = new Map<string, number>();
  for (const s of signals)
    maxByEvent.set(s.eventUid, Math.max(maxByEvent.get(s.eventUid) ?? 0, s.count ?? 1));
  return {
    events: maxByEvent.size,
    occurrences: [...maxByEvent.values()].reduce((a, b) => a + b, 0),
    pods: new Set(signals.map((s) => `${s.namespace}/${s.podName}`)).size,
    nodes: new Set(signals.map((s) => s.node)).size,
    namespaces: new Set(signals.map((s) => s.namespace)).size,
    approximate: false,
  };
}

let store: IncidentStore;
let admin: Redis;

beforeAll(() => {
  store = newStore();
  admin = connect();
});

afterAll(async () => {
  const keys = await admin.keys(`${PREFIX}:*`);
  for (const chunk of batches(keys, 500)) await admin.del(...chunk);
  await Promise.all(connections.map((c) => c.quit()));
});

describe('an event storm', () => {
  const cluster = 'storm';
  const signals = storm(10_000, { nodes: 500, pods: 2_500, namespaces: 8 });
  let incidentId = '';

  it('opens exactly one incident with exact distinct counts', async () => {
    const changes: string[] = [];
    for (const batch of batches(signals, 500)) {
      const result = await store.recordSignals(cluster, 'flannel-sandbox', batch);
      changes.push(result!.change);
      incidentId = result!.incident.id;
    }
    expect(changes[0]).toBe('opened');
    expect(changes.slice(1).every((c) => c === 'updated')).toBe(true);

    const all = await store.list({ cluster });
    expect(all).toHaveLength(1);
    const incident = all[0];
    expect(incident.id).toBe(incidentId);
    expect(incident.state).toBe('open');
    expect(incident.counts).toEqual(expectedCounts(signals));
    expect(incident.counts).toMatchObject({ events: 10_000, pods: 2_500, nodes: 500, namespaces: 8 });
    expect(incident.firstSeen).toBe('2024-05-01T09:00:00.000Z');
    expect(incident.lastSeen).toBe(new Date(Date.parse('2024-05-01T09:30:00Z') + 9_999).toISOString());
    expect(incident.signatures.map((s) => [s.errorClass, s.events])).toEqual([
      ['subnet-env-missing', 6_666],
      ['ipam-exhausted', 3_334],
    ]);
    expect(incident.signatures.reduce((sum, s) => sum + s.occurrences, 0)).toBe(incident.counts.occurrences);
    expect(incident.signatures[1].sampleMessage).toContain('no IP addresses available');
  });

  it('changes nothing when the same events are replayed (relist, restart, second replica)', async () => {
    const before = await store.get(incidentId);
    const shuffled = [...signals].reverse();
    for (const batch of batches(shuffled, 1_000)) {
      const result = await store.recordSignals(cluster, 'flannel-sandbox', batch);
      expect(result!.change).toBe('unchanged');
      expect(result!.incident.id).toBe(incidentId);
    }
    // Lower counts than already seen (an older copy of the event) do not count either.
    const older = signals.slice(0, 50).map((s) => ({ ...s, count: 1 }));
    expect((await store.recordSignals(cluster, 'flannel-sandbox', older))!.change).toBe('unchanged');

    const after = await store.get(incidentId);
    expect(after).toEqual(before);
    expect(await store.timeline(incidentId)).toHaveLength(1); // only 'opened'
  });

  it('raises occurrences only by the increase when kubelet bumps event counts', async () => {
    const before = (await store.get(incidentId))!;
    const bumped = signals.slice(0, 100).map((s) => ({ ...s, count: (s.count ?? 1) + 3 }));
    const result = (await store.recordSignals(cluster, 'flannel-sandbox', bumped))!;
    expect(result.change).toBe('updated');
    expect(result.incident.counts).toEqual({
      ...before.counts,
      occurrences: before.counts.occurrences + 300,
    });
    expect(result.incident.version).toBe(before.version + 1);

    // The same bump replayed is already counted.
    expect((await store.recordSignals(cluster, 'flannel-sandbox', bumped))!.change).toBe('unchanged');
  });
});

describe('a nonsense event count', () => {
  it('is recorded as the largest count an Event can carry, not refused by Redis', async () => {
    const store = newStore();
    const cluster = `huge-${randomUUID()}`;
    const event = (count: number): SandboxSignalLike => ({
      eventUid: 'huge-1',
      count,
      namespace: 'default',
      podName: 'web-0',
      node: 'node-1',
      message: 'no IP addresses available in range set: 10.244.1.1-10.244.1.254',
      signature: { errorClass: 'ip-exhausted' },
      firstSeen: new Date(clock).toISOString(),
      lastSeen: new Date(clock).toISOString(),
    });
    const first = (await store.recordSignals(cluster, 'flannel-sandbox', [event(1e15)]))!;
    expect(first.incident.counts.occurrences).toBe(2 ** 31 - 1);
    // Larger still: already at the cap, nothing to add.
    expect((await store.recordSignals(cluster, 'flannel-sandbox', [event(1e300)]))!.change).toBe('unchanged');
  });
});

describe('one batch mixing error classes and counts', () => {
  const cluster = 'mixed-batch';
  const CLASSES = ['ip-exhausted', 'subnet-env-missing', 'cni0-address-mismatch'];
  /** 2,500 events in one call (several of the script's 1,000-event chunks), classes and counts interleaved. */
  const signals = (bump: (i: number) => number): SandboxSignalLike[] =>
    Array.from({ length: 2_500 }, (_, i) => ({
      eventUid: `mixed-${i}`,
      namespace: `team-${i % 5}`,
      podName: `app-${i}`,
      node: `node-${i % 50}`,
      // Counts > 1, a large one and one an odd producer sent as 2.5.
      count: i === 7 ? 1_000_000_007 + bump(i) : i === 8 ? 2.5 : 2 + ((i * 7) % 9) + bump(i),
      firstSeen: Date.parse('2024-05-01T09:00:00Z') + i,
      lastSeen: Date.parse('2024-05-01T09:30:00Z') + i,
      message: `sandbox failure of class ${CLASSES[i % 3]}`,
      signature: { errorClass: CLASSES[i % 3] },
    }));
  /** What the incident must hold per class: distinct events and the sum of each event's highest count. */
  const perClass = (batches: SandboxSignalLike[][]) => {
    const max = new Map<string, { errorClass: string; count: number }>();
    for (const s of batches.flat()) {
      const count = Math.floor(s.count ?? 1);
      const seen = max.get(s.eventUid);
      if (!seen || count > seen.count) max.set(s.eventUid, { errorClass: s.signature.errorClass, count });
    }
    const out: Record<string, { events: number; occurrences: number }> = {};
    for (const { errorClass, count } of max.values()) {
      out[errorClass] ??= { events: 0, occurrences: 0 };
      out[errorClass].events++;
      out[errorClass].occurrences += count;
    }
    return out;
  };
  const stored = (incident: { signatures: { errorClass: string; events: number; occurrences: number }[] }) =>
    Object.fromEntries(
      incident.signatures.map((s) => [s.errorClass, { events: s.events, occurrences: s.occurrences }]),
    );

  it('stores each class its exact events and occurrences, and only the increase on re-delivery', async () => {
    const first = signals(() => 0);
    const opened = (await store.recordSignals(cluster, 'flannel-sandbox', first))!;
    expect(opened.change).toBe('opened');
    expect(stored(opened.incident)).toEqual(perClass([first]));
    expect(opened.incident.counts).toMatchObject({ events: 2_500, pods: 2_500, nodes: 50, namespaces: 5 });
    expect(opened.incident.counts.occurrences).toBe(
      Object.values(perClass([first])).reduce((sum, c) => sum + c.occurrences, 0),
    );

    // Re-delivered, shuffled, with higher counts that differ by class (and some events not bumped at all).
    const higher = signals((i) => (i % 4 === 0 ? 0 : 1 + (i % 3) * 10)).reverse();
    const updated = (await store.recordSignals(cluster, 'flannel-sandbox', higher))!;
    expect(updated.change).toBe('updated');
    expect(stored(updated.incident)).toEqual(perClass([first, higher]));
    expect(updated.incident.counts.events).toBe(2_500);
    expect(updated.incident.counts.occurrences).toBe(
      Object.values(perClass([first, higher])).reduce((sum, c) => sum + c.occurrences, 0),
    );

    // The same delivery again, and the first (lower counts) again: nothing changes.
    expect((await store.recordSignals(cluster, 'flannel-sandbox', higher))!.change).toBe('unchanged');
    expect((await store.recordSignals(cluster, 'flannel-sandbox', first))!.change).toBe('unchanged');

    // A batch of one class only (its class indexes are not sent) adds to that class alone.
    const single = Array.from({ length: 1_200 }, (_, i) => ({
      ...first[0],
      eventUid: `single-${i}`,
      podName: `solo-${i}`,
      count: 3,
      signature: { errorClass: 'subnet-env-missing' },
    }));
    const after = (await store.recordSignals(cluster, 'flannel-sandbox', single))!;
    expect(stored(after.incident)).toEqual(perClass([first, higher, single]));
  });
});

describe('two bot replicas recording at the same time', () => {
  it('end up with one incident and exact counts', async () => {
    const cluster = 'replicas';
    const a = newStore();
    const b = newStore();
    const signals = storm(4_000, { nodes: 100, pods: 1_000, namespaces: 3, uidPrefix: 'rep' });
    // Both replicas see every event (they watch the same cluster), in different batch sizes and orders.
    const fromA = batches(signals, 250).map((batch) => a.recordSignals(cluster, 'flannel-sandbox', batch));
    const fromB = batches([...signals].reverse(), 400).map((batch) =>
      b.recordSignals(cluster, 'flannel-sandbox', batch),
    );
    const results = await Promise.all([...fromA, ...fromB]);

    const ids = new Set(results.map((r) => r!.incident.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r!.change === 'opened')).toHaveLength(1);
    const listed = await store.list({ cluster });
    expect(listed).toHaveLength(1);
    expect(listed[0].counts).toEqual(expectedCounts(signals));
  });
});

describe('state machine', () => {
  async function openIncident(cluster: string): Promise<string> {
    const result = await store.recordSignals(
      cluster,
      'flannel-sandbox',
      storm(3, { nodes: 1, pods: 3, namespaces: 1 }),
    );
    return result!.incident.id;
  }

  it('walks the legal path, refuses illegal moves with a clear error, and logs everything in order', async () => {
    const id = await openIncident('sm');
    await store.transition(id, 'diagnosing', { actor: 'bot', reason: 'diagnosis queued' });

    await expect(store.transition(id, 'remediating', { actor: 'UALICE' })).rejects.toThrow(
      IllegalTransitionError,
    );
    await expect(store.transition(id, 'remediating', { actor: 'UALICE' })).rejects.toThrow(
      'incident ' +
        id +
        ': cannot move from diagnosing to remediating (allowed from diagnosing: awaiting-approval, resolved, open, failed)',
    );

    await store.transition(id, 'awaiting-approval', { actor: 'bot', details: { planVersion: 1 } });
    await store.audit(id, {
      actor: 'UALICE',
      action: 'approve',
      outcome: 'ok',
      details: { step: 'restart-flannel-pod' },
    });
    const remediating = await store.transition(id, 'remediating', {
      actor: 'UALICE',
      expectState: 'awaiting-approval',
    });
    expect(remediating.state).toBe('remediating');

    // A second click racing the first: compare-and-set fails, state unchanged.
    await expect(
      store.transition(id, 'remediating', { actor: 'UBOB', expectState: 'awaiting-approval' }),
    ).rejects.toThrow(IncidentStateConflictError);

    await store.transition(id, 'verifying', { actor: 'bot' });
    await store.transition(id, 'awaiting-approval', { actor: 'bot', reason: 'more steps remain' });
    await store.transition(id, 'remediating', { actor: 'UBOB' });
    await store.transition(id, 'verifying', { actor: 'bot' });
    const resolved = await store.transition(id, 'resolved', { actor: 'bot', reason: 'verification passed' });
    expect(resolved.state).toBe('resolved');
    expect(resolved.resolvedAt).toBe(new Date(clock).toISOString());
    await expect(store.transition(id, 'failed', { actor: 'bot' })).rejects.toThrow(
      /resolved is a final state/,
    );

    const timeline = await store.timeline(id);
    expect(timeline.map((e) => [e.actor, e.action, e.outcome, e.details.to ?? e.details.step])).toEqual([
      ['detector', 'opened', 'ok', undefined],
      ['bot', 'transition', 'ok', 'diagnosing'],
      ['UALICE', 'transition', 'rejected', 'remediating'],
      ['UALICE', 'transition', 'rejected', 'remediating'],
      ['bot', 'transition', 'ok', 'awaiting-approval'],
      ['UALICE', 'approve', 'ok', 'restart-flannel-pod'],
      ['UALICE', 'transition', 'ok', 'remediating'],
      ['UBOB', 'transition', 'rejected', 'remediating'],
      ['bot', 'transition', 'ok', 'verifying'],
      ['bot', 'transition', 'ok', 'awaiting-approval'],
      ['UBOB', 'transition', 'ok', 'remediating'],
      ['bot', 'transition', 'ok', 'verifying'],
      ['bot', 'transition', 'ok', 'resolved'],
      ['bot', 'transition', 'rejected', 'failed'],
    ]);
    expect(timeline[1].details).toMatchObject({ from: 'open', to: 'diagnosing', reason: 'diagnosis queued' });
    expect(timeline[4].details).toMatchObject({ planVersion: 1 });
    const entryIds = timeline.map((e) => e.entryId);
    expect([...entryIds].sort((x, y) => (streamIdLess(x, y) ? -1 : 1))).toEqual(entryIds);
  });

  it('says which incident does not exist', async () => {
    await expect(store.transition('inc-nope1234', 'diagnosing', { actor: 'bot' })).rejects.toThrow(
      IncidentNotFoundError,
    );
    await expect(store.audit('inc-nope1234', { actor: 'bot', action: 'x', outcome: 'ok' })).rejects.toThrow(
      'incident inc-nope1234 not found',
    );
    expect(await store.get('inc-nope1234')).toBeUndefined();
  });

  it('lists active incidents per cluster and all incidents newest first', async () => {
    const cluster = 'listing';
    const ids: string[] = [];
    for (const runbook of ['rb-a', 'rb-b', 'rb-c']) {
      clock += 1_000;
      const r = await store.recordSignals(cluster, runbook, storm(1, { nodes: 1, pods: 1, namespaces: 1 }));
      ids.push(r!.incident.id);
    }
    await store.transition(ids[1], 'failed', { actor: 'UALICE', reason: 'handled by hand' });

    expect((await store.list({ cluster })).map((i) => i.id)).toEqual([ids[2], ids[1], ids[0]]);
    expect((await store.list({ cluster, state: 'active' })).map((i) => i.id)).toEqual([ids[2], ids[0]]);
    expect((await store.list({ cluster, state: 'failed' })).map((i) => i.id)).toEqual([ids[1]]);
    expect((await store.list({ cluster, limit: 2 })).map((i) => i.id)).toEqual([ids[2], ids[1]]);
    expect((await store.list({ state: 'active', limit: 1000 })).map((i) => i.id)).not.toContain(ids[1]);
    expect((await store.findActive(cluster, 'rb-a'))?.id).toBe(ids[0]);
    expect(await store.findActive(cluster, 'rb-b')).toBeUndefined();
  });

  it('keeps later-stage fields per key and lets exactly one writer claim one', async () => {
    const id = await openIncident('extras');
    await store.setExtras(id, { diagnosis: { healthy: false, causes: ['ipam-leak'] } });
    await store.setExtras(id, { planVersion: 2 });
    expect(await store.setExtraIfAbsent(id, 'slack', { channel: 'C1', ts: '1.1' })).toBe(true);
    expect(await store.setExtraIfAbsent(id, 'slack', { channel: 'C1', ts: '2.2' })).toBe(false);
    expect((await store.get(id))!.extras).toEqual({
      diagnosis: { healthy: false, causes: ['ipam-leak'] },
      planVersion: 2,
      slack: { channel: 'C1', ts: '1.1' },
    });
  });
});

describe('after an incident ends', () => {
  const signalsAt = (uid: string) => [
    {
      eventUid: uid,
      namespace: 'default',
      podName: `pod-${uid}`,
      node: 'node-1',
      count: 1,
      firstSeen: new Date(clock),
      lastSeen: new Date(clock),
      message: 'network: open /run/flannel/subnet.env: no such file or directory',
      signature: { errorClass: 'subnet-env-missing' },
    },
  ];

  it('re-opens the same incident when the failure returns within the cooldown, and pages anew after it', async () => {
    const cluster = 'flapping';
    const first = (await store.recordSignals(cluster, 'flannel-sandbox', signalsAt('f1')))!.incident;
    await store.transition(first.id, 'diagnosing', { actor: 'bot' });
    await store.transition(first.id, 'resolved', { actor: 'bot', reason: 'cluster healthy' });

    clock += 3 * MINUTE; // within the 10 minute cooldown
    const back = (await store.recordSignals(cluster, 'flannel-sandbox', signalsAt('f2')))!;
    expect(back.change).toBe('reopened');
    expect(back.incident).toMatchObject({ id: first.id, state: 'open', reopenCount: 1 });
    expect(back.incident.resolvedAt).toBeUndefined();
    expect(back.incident.counts.events).toBe(2);
    expect((await store.list({ cluster, state: 'active' })).map((i) => i.id)).toEqual([first.id]);
    const timeline = await store.timeline(first.id);
    expect(timeline.at(-1)).toMatchObject({ actor: 'detector', action: 'reopened', outcome: 'ok' });

    await store.transition(first.id, 'diagnosing', { actor: 'bot' });
    await store.transition(first.id, 'resolved', { actor: 'bot' });
    clock += 10 * MINUTE; // cooldown over
    const fresh = (await store.recordSignals(cluster, 'flannel-sandbox', signalsAt('f3')))!;
    expect(fresh.change).toBe('opened');
    expect(fresh.incident.id).not.toBe(first.id);
    expect(fresh.incident.counts.events).toBe(1);
    expect((await store.list({ cluster })).map((i) => i.id)).toEqual([fresh.incident.id, first.id]);
  });

  it('records onto a failed incident within the cooldown without re-opening it', async () => {
    const cluster = 'gave-up';
    const first = (await store.recordSignals(cluster, 'flannel-sandbox', signalsAt('g1')))!.incident;
    await store.transition(first.id, 'failed', { actor: 'UALICE', reason: 'taking over by hand' });

    clock += MINUTE;
    const more = (await store.recordSignals(cluster, 'flannel-sandbox', signalsAt('g2')))!;
    expect(more.change).toBe('updated');
    expect(more.incident).toMatchObject({ id: first.id, state: 'failed' });
    expect(more.incident.counts.events).toBe(2);
    expect(await store.list({ cluster, state: 'active' })).toEqual([]);

    clock += 10 * MINUTE;
    const fresh = (await store.recordSignals(cluster, 'flannel-sandbox', signalsAt('g3')))!;
    expect(fresh.change).toBe('opened');
    expect(fresh.incident.id).not.toBe(first.id);
  });
});

describe('memory bounds', () => {
  it('stops growing exact sets past the cap and switches to estimates', async () => {
    const capped = newStore({ maxTrackedMembers: 200 });
    const signals = storm(1_000, { nodes: 50, pods: 600, namespaces: 4, uidPrefix: 'cap' });
    let last;
    for (const batch of batches(signals, 100))
      last = await capped.recordSignals('capped', 'flannel-sandbox', batch);
    const incident = last!.incident;

    expect(incident.counts.approximate).toBe(true);
    // Below the cap still exact.
    expect(incident.counts.nodes).toBe(50);
    expect(incident.counts.namespaces).toBe(4);
    // Above it, within a few percent.
    expect(Math.abs(incident.counts.events - 1_000)).toBeLessThan(50);
    expect(Math.abs(incident.counts.pods - 600)).toBeLessThan(30);
    expect(await admin.hlen(`${capped.keys.incident(incident.id)}:events`)).toBe(200);
    expect(await admin.scard(`${capped.keys.incident(incident.id)}:pods`)).toBe(200);

    // Replays still change nothing.
    const replay = await capped.recordSignals('capped', 'flannel-sandbox', signals.slice(900));
    expect(replay!.change).toBe('unchanged');
  });
});

describe('occurrences past the cap', () => {
  it('a storm past the cap whose events keep counting up is estimated within a few percent, and flagged', async () => {
    const capped = newStore({ maxTrackedMembers: 200 });
    // 3,000 events, each delivered as its count grows (1, then 3, then 7: the watch coalesces some updates),
    // as a relisting watch would, in batches mixing first sightings and updates.
    const base = storm(3_000, { nodes: 20, pods: 900, namespaces: 3, uidPrefix: 'occ' });
    const rounds = [1, 3, 7].map((count) => base.map((s) => ({ ...s, count })));
    let last;
    for (const round of rounds)
      for (const batch of batches(round, 250))
        last = await capped.recordSignals('occ', 'flannel-sandbox', batch);
    const incident = last!.incident;
    const exact = 3_000 * 7;
    expect(incident.counts.approximate).toBe(true);
    expect(Math.abs(incident.counts.occurrences - exact) / exact).toBeLessThan(0.03);
    // Per class too (a third of the events are IP exhaustion).
    const ipam = incident.signatures.find((s) => s.errorClass === 'ipam-exhausted')!;
    expect(Math.abs(ipam.occurrences - exact / 3) / (exact / 3)).toBeLessThan(0.03);
    expect(Math.abs(ipam.events - 1_000) / 1_000).toBeLessThan(0.03);
    const sum = incident.signatures.reduce((n, s) => n + s.occurrences, 0);
    expect(Math.abs(sum - incident.counts.occurrences) / exact).toBeLessThan(0.01);

    // Replaying everything changes nothing.
    for (const batch of batches(rounds[2]!, 500)) {
      expect((await capped.recordSignals('occ', 'flannel-sandbox', batch))!.change).toBe('unchanged');
    }
  });
});

function streamIdLess(a: string, b: string): boolean {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am < bm || (am === bm && as < bs);
}
