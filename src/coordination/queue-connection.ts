/**
 * Redis connections for BullMQ. Workers and QueueEvents issue blocking commands, so BullMQ requires
 * `maxRetriesPerRequest: null` on their connection (and refuses ioredis' `keyPrefix`: BullMQ has its own
 * `prefix`). BullMQ's close() never quits a connection it was given: whoever creates one quits it.
 */
import type { Cluster, Redis } from 'ioredis';
import { redactRedisUrl } from '../config/env.js';
import { createRedis, DEFAULT_REDIS_URL, isClusterConnection } from './redis-connection.js';
import { UserError } from '../util/errors.js';

/** A connection BullMQ queues, flow producers, workers and queue events can share. */
export function createQueueConnection(source: Redis | string = DEFAULT_REDIS_URL): Redis {
  if (typeof source === 'string') return createRedis(source, { maxRetriesPerRequest: null });
  if (isClusterConnection(source)) {
    // BullMQ checks a Cluster's node options for maxRetriesPerRequest: null.
    const cluster = source as unknown as Cluster;
    return cluster.duplicate(undefined, {
      redisOptions: { ...cluster.options.redisOptions, maxRetriesPerRequest: null },
    }) as unknown as Redis;
  }
  // Same server, database and credentials as the caller's connection, with BullMQ's requirement.
  return source.duplicate({ maxRetriesPerRequest: null, keyPrefix: undefined });
}

/**
 * Fails fast (UserError, exit code 2) when Redis does not answer within `timeoutMs`, so a command can say
 * "Redis is down" instead of waiting forever on a connection that retries in the background.
 */
export async function assertRedisReachable(url: string, timeoutMs = 3000): Promise<void> {
  const probe = createRedis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  probe.on('error', () => undefined);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe.connect().then(() => probe.ping()),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    throw new UserError(
      `could not diagnose: Redis at ${redactRedisUrl(url)} is not reachable (${(err as Error).message || String(err)}); start Redis or set REDIS_URL`,
      2,
    );
  } finally {
    clearTimeout(timer);
    probe.disconnect();
  }
}
