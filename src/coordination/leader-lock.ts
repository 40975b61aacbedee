import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { defineLuaCommands } from './lua-scripts.js';

/**
 * A Redis lease lock with fencing tokens, and a LeaderElector built on it: exactly one bot replica watches a
 * cluster; the others stand by and take over within seconds when the leader dies.
 *
 * Safety rule: a replica that cannot prove it still holds the lease (renewal refused, Redis unreachable, renewal
 * too slow) steps down at once. Two watchers for a short while would double-post; no watcher for a few seconds
 * only delays detection, and the standby relists on takeover, so nothing is lost.
 */

interface LockScripts {
  flannelOpsLockAcquire(
    lockKey: string,
    fenceKey: string,
    token: string,
    ttlMs: number,
  ): Promise<number | null>;
  flannelOpsLockExtend(lockKey: string, token: string, ttlMs: number): Promise<number>;
  flannelOpsLockRelease(lockKey: string, token: string): Promise<number>;
  flannelOpsLockFenceCheck(lockKey: string, fenceKey: string, fencingToken: string): Promise<number>;
}

function withLockScripts(redis: Redis): Redis & LockScripts {
  // Acquire: SET NX PX and the fencing INCR in one step, so tokens increase in acquisition order.
  defineLuaCommands(redis, {
    flannelOpsLockAcquire: { file: 'coordination/lua/lock-acquire.lua', keys: 2 },
    flannelOpsLockExtend: { file: 'coordination/lua/lock-extend.lua', keys: 1 },
    flannelOpsLockRelease: { file: 'coordination/lua/release-if-owner.lua', keys: 1 },
    flannelOpsLockFenceCheck: { file: 'coordination/lua/lock-fence-check.lua', keys: 2 },
  });
  return redis as Redis & LockScripts;
}

/** The lock key for one cluster's watcher. */
export function watcherLockKey(prefix: string, cluster: string): string {
  return `${prefix}:leader:watcher:${encodeURIComponent(cluster)}`;
}

export interface Lease {
  /** Random value proving ownership of the lock; only its holder can extend or release it. */
  token: string;
  /** Increases on every acquisition; pass it along with writes so stale leaders can be refused. */
  fencingToken: number;
}

/** SET NX PX lease with compare-and-extend / compare-and-delete and a fencing counter at `${key}:fence`. */
export class RedisLock {
  private readonly redis: Redis & LockScripts;
  readonly fenceKey: string;

  constructor(
    redis: Redis,
    readonly key: string,
    readonly ttlMs: number,
  ) {
    if (!Number.isInteger(ttlMs) || ttlMs < 100)
      throw new RangeError(`lock ttl must be an integer >= 100 ms (got ${ttlMs})`);
    this.redis = withLockScripts(redis);
    this.fenceKey = `${key}:fence`;
  }

  /** The lease, or null if someone else holds the lock. */
  async acquire(): Promise<Lease | null> {
    const token = randomUUID();
    const fence = await this.redis.flannelOpsLockAcquire(this.key, this.fenceKey, token, this.ttlMs);
    return fence === null || fence === undefined ? null : { token, fencingToken: Number(fence) };
  }

  /** Pushes the expiry out by ttl; false if the lease was lost (expired, taken over). */
  async extend(token: string): Promise<boolean> {
    return (await this.redis.flannelOpsLockExtend(this.key, token, this.ttlMs)) === 1;
  }

  /** Deletes the lock only if it is still ours; false if it was not. */
  async release(token: string): Promise<boolean> {
    return (await this.redis.flannelOpsLockRelease(this.key, token)) === 1;
  }

  /** For fenced writers: is this token the newest one and its lease still live? */
  async isCurrent(fencingToken: number): Promise<boolean> {
    return (await this.redis.flannelOpsLockFenceCheck(this.key, this.fenceKey, String(fencingToken))) === 1;
  }
}

export type DeposeReason = 'lost' | 'renewal-failed' | 'renewal-timeout' | 'stopped';

export interface LeaderElectorOptions {
  redis: Redis;
  key: string;
  /** Lease length. Default 10 s; renewed every ttl/3. */
  ttlMs?: number;
  /** How often a standby tries to take over. Default 1 s. */
  retryMs?: number;
  /** Called once per term with the term's fencing token. */
  onElected(fencingToken: number): void | Promise<void>;
  /** Called when a term ends, for whatever reason; stop watching. */
  onDeposed(reason: DeposeReason): void | Promise<void>;
  /** Redis errors while campaigning and errors thrown by the callbacks. */
  onError?(err: unknown): void;
  /** Asked before each attempt to take the lock; false skips the attempt (a replica at its share). */
  mayAcquire?(): boolean;
}

/**
 * Campaigns for one lock: a standby retries every retryMs; the leader renews every ttl/3 and keeps a local
 * lease deadline started *before* each renewal request, so it steps down before Redis could hand the lock to
 * someone else even when a renewal hangs (ioredis queues commands while reconnecting).
 */
export class LeaderElector {
  private readonly lock: RedisLock;
  private readonly ttlMs: number;
  private readonly retryMs: number;
  private readonly renewEveryMs: number;
  private readonly safetyMarginMs: number;
  private running = false;
  private lease: Lease | undefined;
  private leaseDeadline: NodeJS.Timeout | undefined;
  private timer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** Callbacks run in order but off the renewal loop, so a slow onElected cannot make the lease lapse. */
  private callbacks: Promise<void> = Promise.resolve();

  constructor(private readonly opts: LeaderElectorOptions) {
    this.ttlMs = opts.ttlMs ?? 10_000;
    this.retryMs = opts.retryMs ?? 1_000;
    this.renewEveryMs = Math.max(50, Math.floor(this.ttlMs / 3));
    // Timers fire late, never early: step down a little before the lease can lapse in Redis.
    this.safetyMarginMs = Math.floor(this.ttlMs / 5);
    this.lock = new RedisLock(opts.redis, opts.key, this.ttlMs);
  }

  get isLeader(): boolean {
    return this.lease !== undefined;
  }

  /** The current term's fencing token, if leader. */
  get fencingToken(): number | undefined {
    return this.lease?.fencingToken;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Ends the campaign; a leader steps down and releases the lock so a standby takes over at once. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake?.();
    const lease = this.lease;
    if (lease) {
      this.depose('stopped');
      try {
        await this.lock.release(lease.token);
      } catch (err) {
        this.report(err); // the lease simply expires
      }
    }
    await this.loop;
    await this.callbacks;
  }

  private async run(): Promise<void> {
    while (this.running) {
      if (this.lease) await this.renew(this.lease);
      else await this.campaign();
      if (!this.running) break;
      await this.sleep(this.lease ? this.renewEveryMs : this.retryMs);
    }
  }

  private async campaign(): Promise<void> {
    if (this.opts.mayAcquire && !this.opts.mayAcquire()) return;
    const startedAt = Date.now();
    let lease: Lease | null;
    try {
      lease = await this.lock.acquire();
    } catch (err) {
      this.report(err);
      return;
    }
    if (!lease) return;
    if (!this.running || Date.now() - startedAt >= this.ttlMs - this.safetyMarginMs) {
      // stop() raced the acquisition, or the reply came too late to trust the lease: hand it straight back.
      await this.lock.release(lease.token).catch((err: unknown) => this.report(err));
      return;
    }
    this.lease = lease;
    this.armDeadline(startedAt);
    this.callback(() => this.opts.onElected(lease.fencingToken));
  }

  private async renew(lease: Lease): Promise<void> {
    const startedAt = Date.now();
    let kept: boolean;
    try {
      kept = await this.lock.extend(lease.token);
    } catch (err) {
      this.report(err);
      if (this.lease === lease) this.depose('renewal-failed');
      return;
    }
    if (this.lease !== lease) return; // the deadline fired (or stop() ran) while we waited
    if (!kept) {
      this.depose('lost');
      return;
    }
    this.armDeadline(startedAt);
  }

  /** Steps down before the lease may lapse in Redis: ttl after the request that last set it was *sent*. */
  private armDeadline(requestSentAt: number): void {
    clearTimeout(this.leaseDeadline);
    const remaining = requestSentAt + this.ttlMs - this.safetyMarginMs - Date.now();
    this.leaseDeadline = setTimeout(() => this.depose('renewal-timeout'), Math.max(0, remaining));
    this.leaseDeadline.unref?.();
  }

  private depose(reason: DeposeReason): void {
    if (!this.lease) return;
    this.lease = undefined;
    clearTimeout(this.leaseDeadline);
    this.leaseDeadline = undefined;
    this.callback(() => this.opts.onDeposed(reason));
  }

  private callback(fn: () => void | Promise<void>): void {
    this.callbacks = this.callbacks.then(fn).catch((err: unknown) => this.report(err));
  }

  private report(err: unknown): void {
    this.opts.onError?.(err);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = () => {
        clearTimeout(this.timer);
        this.wake = undefined;
        resolve();
      };
      this.timer = setTimeout(() => this.wake?.(), ms);
    });
  }
}
