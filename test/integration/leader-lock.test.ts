import { afterAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  LeaderElector,
  RedisLock,
  watcherLockKey,
  type DeposeReason,
} from '../../src/coordination/leader-lock.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';

const REDIS_URL = TEST_REDIS_URL;
const PREFIX = `test-leader-${randomUUID()}`;

const connections: Redis[] = [];
function connect(): Redis {
  // No reconnects: a "killed" replica's connection must stay dead.
  const redis = new Redis(REDIS_URL, { retryStrategy: () => null, maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  connections.push(redis);
  return redis;
}
const admin = connect();
const electors: LeaderElector[] = [];

interface Replica {
  name: string;
  redis: Redis;
  elector: LeaderElector;
  elected: number[];
  deposed: DeposeReason[];
}

function replica(name: string, key: string, ttlMs: number, retryMs = 100): Replica {
  const redis = connect();
  const r: Replica = {
    name,
    redis,
    elected: [],
    deposed: [],
    elector: undefined as unknown as LeaderElector,
  };
  r.elector = new LeaderElector({
    redis,
    key,
    ttlMs,
    retryMs,
    onElected: (token) => void r.elected.push(token),
    onDeposed: (reason) => void r.deposed.push(reason),
  });
  electors.push(r.elector);
  return r;
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

afterAll(async () => {
  await Promise.all(electors.map((e) => e.stop().catch(() => {})));
  const keys = await admin.keys(`${PREFIX}:*`);
  if (keys.length > 0) await admin.del(...keys);
  await Promise.all(connections.map((c) => (c.status === 'end' ? undefined : c.quit().catch(() => {}))));
});

describe('LeaderElector', () => {
  it('elects exactly one of two replicas and keeps it through several renewals', async () => {
    const key = watcherLockKey(PREFIX, 'one-leader');
    const a = replica('a', key, 600);
    const b = replica('b', key, 600);
    a.elector.start();
    b.elector.start();
    await waitFor('a leader', () => a.elector.isLeader || b.elector.isLeader);
    await pause(1_500); // more than two ttls: the lease must have been renewed, not re-won
    const leaders = [a, b].filter((r) => r.elector.isLeader);
    expect(leaders).toHaveLength(1);
    expect(leaders[0].elected).toHaveLength(1);
    expect(leaders[0].deposed).toEqual([]);
    const standby = leaders[0] === a ? b : a;
    expect(standby.elected).toEqual([]);
    expect(leaders[0].elector.fencingToken).toBe(leaders[0].elected[0]);
  });

  it('hands over after the leader dies without releasing, with a higher fencing token', async () => {
    const key = watcherLockKey(PREFIX, 'killed');
    const a = replica('a', key, 1_500);
    a.elector.start();
    await waitFor('a elected', () => a.elector.isLeader);
    const b = replica('b', key, 1_500);
    b.elector.start();
    await pause(300);
    expect(b.elector.isLeader).toBe(false);

    // Kill a: its connection dies, so it can neither renew nor release.
    a.redis.disconnect();
    expect(await admin.pttl(key)).toBeGreaterThan(0); // the dead leader's lock is still there...
    await waitFor('b to take over', () => b.elector.isLeader); // ...until it expires
    expect(b.elected[0]).toBeGreaterThan(a.elected[0]);
    // The dead replica stepped down on its own rather than assuming it still leads.
    await waitFor('a to step down', () => !a.elector.isLeader);
    expect(a.deposed.length).toBe(1);
    expect(['renewal-failed', 'renewal-timeout']).toContain(a.deposed[0]);

    const lock = new RedisLock(admin, key, 1_500);
    expect(await lock.isCurrent(b.elected[0])).toBe(true);
    expect(await lock.isCurrent(a.elected[0])).toBe(false);
  });

  it('releases the lock on stop so the standby takes over long before the lease would expire', async () => {
    const key = watcherLockKey(PREFIX, 'graceful');
    const a = replica('a', key, 60_000);
    a.elector.start();
    await waitFor('a elected', () => a.elector.isLeader);
    const b = replica('b', key, 60_000);
    b.elector.start();
    await pause(300);
    expect(b.elector.isLeader).toBe(false);

    await a.elector.stop();
    expect(a.deposed).toEqual(['stopped']);
    // 60 s lease: b can only win within the wait if a really released it.
    await waitFor('b to take over', () => b.elector.isLeader, 5_000);
    expect(b.elected[0]).toBeGreaterThan(a.elected[0]);
  });

  it('steps down when a renewal finds the lock is no longer its own', async () => {
    const key = watcherLockKey(PREFIX, 'stolen');
    const a = replica('a', key, 600);
    a.elector.start();
    await waitFor('a elected', () => a.elector.isLeader);
    await admin.set(key, 'someone-else', 'PX', 60_000);
    await waitFor('a to step down', () => !a.elector.isLeader);
    expect(a.deposed).toEqual(['lost']);
    // It keeps campaigning but cannot win while the other holder's lease lives.
    await pause(300);
    expect(a.elector.isLeader).toBe(false);
    expect(await admin.get(key)).toBe('someone-else');
  });
});

describe('RedisLock', () => {
  it('only lets the holder extend or release, and numbers each acquisition', async () => {
    const lock = new RedisLock(admin, `${PREFIX}:plain`, 5_000);
    const first = await lock.acquire();
    expect(first).not.toBeNull();
    expect(await lock.acquire()).toBeNull();
    expect(await lock.extend('not-the-token')).toBe(false);
    expect(await lock.release('not-the-token')).toBe(false);
    expect(await lock.extend(first!.token)).toBe(true);
    expect(await lock.release(first!.token)).toBe(true);
    const second = await lock.acquire();
    expect(second!.fencingToken).toBe(first!.fencingToken + 1);
  });
});
