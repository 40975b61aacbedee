/**
 * A counting semaphore in Redis, shared by every replica: at most `limit` holders per name at a time. Holders
 * hold a lease (a crashed process's slot frees itself when it ends) and release it when done. Used to cap the
 * work one cluster may have in flight across the whole hub (probe pods), so one cluster's storm of diagnoses
 * cannot take every worker slot from the others.
 */
import type { Redis } from 'ioredis';
import { defineLuaCommands } from './lua-scripts.js';

interface SemaphoreScripts {
  flannelOpsSemaphoreAcquire(key: string, holder: string, limit: number, leaseMs: number): Promise<number>;
  flannelOpsSemaphoreRelease(key: string, holder: string): Promise<number>;
}

export class RedisSemaphore {
  private readonly redis: Redis & SemaphoreScripts;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    /** What is counted, e.g. 'probes'. */
    private readonly kind: string,
  ) {
    defineLuaCommands(redis, {
      flannelOpsSemaphoreAcquire: { file: 'coordination/lua/semaphore-acquire.lua', keys: 1 },
      flannelOpsSemaphoreRelease: { file: 'coordination/lua/semaphore-release.lua', keys: 1 },
    });
    this.redis = redis as Redis & SemaphoreScripts;
  }

  key(name: string): string {
    return `${this.prefix}:semaphore:${this.kind}:${encodeURIComponent(name)}`;
  }

  /** True when `holder` got (or already had) one of `limit` slots of `name`, for `leaseMs`. */
  async acquire(name: string, holder: string, limit: number, leaseMs: number): Promise<boolean> {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`semaphore limit must be >= 1 (got ${limit})`);
    return (
      (await this.redis.flannelOpsSemaphoreAcquire(this.key(name), holder, limit, Math.ceil(leaseMs))) === 1
    );
  }

  async release(name: string, holder: string): Promise<void> {
    await this.redis.flannelOpsSemaphoreRelease(this.key(name), holder);
  }

  /** Holders right now (expired leases included until the next acquire drops them). */
  async holders(name: string): Promise<number> {
    return this.redis.zcard(this.key(name));
  }
}
