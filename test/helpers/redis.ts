import { Redis } from 'ioredis';

/**
 * The Redis every test uses: REDIS_URL as the Jest global set-up left it (a private redis-server when nothing
 * answered at the default), else the default.
 */
export const TEST_REDIS_URL = process.env.REDIS_URL?.trim() || 'redis://127.0.0.1:6379';

/** A client of the test Redis (callers quit it). */
export function testRedis(): Redis {
  return new Redis(TEST_REDIS_URL);
}

/** Deletes every key under `prefix` (SCAN, never KEYS on a shared server). */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}
