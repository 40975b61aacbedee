/**
 * Rate limits on what people can trigger (diagnoses and re-runs), shared by every replica: a GCRA in Redis
 * per key (per user, per cluster), `limit` per minute with bursts up to `limit`. Returns how long to wait.
 */
import type { Redis } from 'ioredis';
import { defineLuaCommands } from '../coordination/lua-scripts.js';

interface RateScripts {
  flannelOpsRateLimit(key: string, now: number, interval: number, burst: number): Promise<number>;
}

export class RateLimiter {
  private readonly redis: Redis & RateScripts;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {
    defineLuaCommands(redis, { flannelOpsRateLimit: { file: 'coordination/lua/gcra.lua', keys: 1 } });
    this.redis = redis as Redis & RateScripts;
  }

  /** Takes one from `scope`'s allowance of `perMinute`; 0 when allowed, else ms to wait. */
  async take(scope: string, perMinute: number): Promise<number> {
    const interval = 60_000 / Math.max(1, perMinute);
    const wait = await this.redis.flannelOpsRateLimit(
      `${this.prefix}:ratelimit:${scope}`,
      this.now(),
      interval,
      Math.max(1, perMinute),
    );
    return Math.max(0, Number(wait));
  }
}
