/**
 * Rate limits on what people can trigger (diagnoses and re-runs), shared by every replica: a GCRA in Redis
 * per key (per user, per cluster), `limit` per minute with bursts up to `limit`. Returns how long to wait.
 */
import type { Redis } from 'ioredis';

// Books the request and returns 0, or returns the ms until it would be allowed (booking nothing).
const GCRA_LUA = `
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1])) or 0
if tat < now then tat = now end
local newTat = tat + interval
local ahead = newTat - now
if ahead > interval * burst then return ahead - interval * burst end
redis.call('SET', KEYS[1], newTat, 'PX', math.ceil(interval * burst + 1000))
return 0
`;

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
    redis.defineCommand('flannelOpsRateLimit', { numberOfKeys: 1, lua: GCRA_LUA });
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
