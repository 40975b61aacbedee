import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { z } from 'zod';
import { redactRedisUrl } from '../config/env.js';
import { isHaRedisUrl, parseHaRedisUrl, type RedisNode } from '../config/redis-url.js';
import { UserError } from '../util/errors.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

const redisUrlSchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .transform((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({
        code: 'custom',
        message: `"${redactRedisUrl(value)}" is not a URL (expected redis://host:port/db)`,
      });
      return z.NEVER;
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
      ctx.addIssue({
        code: 'custom',
        message: `scheme must be redis:// or rediss:// (got ${url.protocol}//)`,
      });
      return z.NEVER;
    }
    if (!url.hostname) {
      ctx.addIssue({ code: 'custom', message: 'has no host' });
      return z.NEVER;
    }
    const dbPath = url.pathname.replace(/^\//, '');
    if (dbPath !== '' && !/^\d{1,5}$/.test(dbPath)) {
      ctx.addIssue({
        code: 'custom',
        message: `the path must be a database number such as /2 (got "/${dbPath}")`,
      });
      return z.NEVER;
    }
    const port = url.port === '' ? 6379 : Number(url.port);
    const options: RedisOptions = {
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port,
      db: dbPath === '' ? 0 : Number(dbPath),
    };
    if (url.username) options.username = decodeURIComponent(url.username);
    if (url.password) options.password = decodeURIComponent(url.password);
    if (url.protocol === 'rediss:') options.tls = {};
    return options;
  });

/** Where REDIS_URL points: one server, a Sentinel-managed master, or a Redis Cluster (its seed nodes). */
export type RedisTarget =
  | { kind: 'server'; options: RedisOptions }
  | { kind: 'sentinel'; options: RedisOptions; db: number }
  | { kind: 'cluster'; nodes: RedisNode[]; options: RedisOptions };

/**
 * REDIS_URL -> where to connect: redis:// and rediss:// (one server, honouring a `/N` database number,
 * user/password and TLS), redis+sentinel:// and redis+cluster:// (src/config/redis-url.ts).
 * Errors name the variable and the reason but never echo a password.
 */
export function redisTargetFromUrl(url: string, source = 'REDIS_URL'): RedisTarget {
  if (isHaRedisUrl(url)) {
    const parsed = parseHaRedisUrl(url);
    if ('problem' in parsed) throw new UserError(`${source}: ${parsed.problem}`);
    const t = parsed.target;
    const credentials: RedisOptions = {
      ...(t.username && { username: t.username }),
      ...(t.password && { password: t.password }),
    };
    if (t.kind === 'cluster') return { kind: 'cluster', nodes: t.nodes, options: credentials };
    return {
      kind: 'sentinel',
      db: t.db,
      options: { ...credentials, sentinels: t.sentinels, name: t.masterName, db: t.db },
    };
  }
  const parsed = redisUrlSchema.safeParse(url);
  if (!parsed.success) {
    throw new UserError(`${source}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  }
  return { kind: 'server', options: parsed.data };
}

/**
 * REDIS_URL -> ioredis options for one connection (a server, or a Sentinel-managed master). A Redis Cluster
 * has no single-connection options: use createRedis.
 */
export function redisOptionsFromUrl(url: string, source = 'REDIS_URL'): RedisOptions {
  const target = redisTargetFromUrl(url, source);
  if (target.kind === 'cluster') {
    throw new UserError(`${source}: a redis+cluster:// URL needs a cluster connection (createRedis)`);
  }
  return target.options;
}

/** The database a target uses (always 0 on a Cluster). */
export function redisTargetDb(target: RedisTarget): number {
  return target.kind === 'cluster' ? 0 : ((target.kind === 'sentinel' ? target.db : target.options.db) ?? 0);
}

/** Options meant for one connection, split into a Cluster's own options and its nodes' options. */
function clusterOptions(base: RedisOptions, extra: RedisOptions): ClusterOptions {
  const { lazyConnect, enableOfflineQueue, retryStrategy, enableReadyCheck, ...node } = { ...base, ...extra };
  return {
    ...(lazyConnect !== undefined && { lazyConnect }),
    ...(enableOfflineQueue !== undefined && { enableOfflineQueue }),
    ...(enableReadyCheck !== undefined && { enableReadyCheck }),
    // Whoever gives up on one server gives up on the cluster (start-up probes).
    ...(retryStrategy && { clusterRetryStrategy: (times: number) => retryStrategy(times) }),
    redisOptions: { ...node, ...(retryStrategy && { retryStrategy }) },
  };
}

/** True for a connection createRedis made to a Redis Cluster. */
export function isClusterConnection(redis: Redis): boolean {
  return (redis as unknown as { isCluster?: boolean }).isCluster === true;
}

/**
 * A connection for the bot's own keys (not BullMQ's: its workers need maxRetriesPerRequest: null). For a
 * redis+cluster:// URL this is an ioredis Cluster, typed as Redis: it takes the same commands, scripts and
 * transactions as long as their keys share a hash tag (the bot's prefix is `{prefix}` on a Cluster).
 */
export function createRedis(url: string = DEFAULT_REDIS_URL, extra: RedisOptions = {}): Redis {
  const target = redisTargetFromUrl(url);
  if (target.kind === 'cluster') {
    return new Cluster(target.nodes, clusterOptions(target.options, extra)) as unknown as Redis;
  }
  if (target.kind === 'sentinel' && extra.retryStrategy) {
    // A start-up probe that must not retry forever must not retry the Sentinels forever either.
    return new Redis({ ...target.options, sentinelRetryStrategy: () => null, ...extra });
  }
  return new Redis({ ...target.options, ...extra });
}

/** Connections and every duplicate made from them (BullMQ's workers and queue events duplicate theirs). */
export interface ConnectionFamily {
  /** Every connection still known, the roots first. */
  readonly all: readonly Redis[];
  /**
   * Closes them all for good, now: sockets destroyed at once (a graceful disconnect waits up to 2 s for a frozen
   * peer), pending and later commands fail with "Connection is closed", and nothing reconnects them (BullMQ
   * calls connect() again on a connection that ended under a worker it is still closing), including duplicates
   * made afterwards.
   */
  closeForGood(): void;
}

const CLOSED_FOR_GOOD = 'Connection is closed (the process is stopping)';

/**
 * Records `roots` and everything duplicated from them, at any depth, so a stop that ran out of time can close
 * what BullMQ opened on its own: a quit() or a close() waiting on a dead or frozen server never ends by itself
 * (its QUIT waits in the offline queue while the connection reconnects, or for a reply that never comes).
 */
export function trackConnections(roots: readonly Redis[]): ConnectionFamily {
  const all: Redis[] = [];
  let closed = false;
  const close = (conn: Redis) => {
    const patched = conn as unknown as { connect: () => Promise<void> };
    patched.connect = () => Promise.reject(new Error(CLOSED_FOR_GOOD));
    if (conn.status === 'end') return;
    conn.disconnect();
    const sockets = isClusterConnection(conn)
      ? (conn as unknown as Cluster).nodes().map((node) => node.stream)
      : [conn.stream];
    for (const socket of sockets) socket?.destroy();
  };
  const track = (conn: Redis) => {
    all.push(conn);
    const duplicate = conn.duplicate.bind(conn) as (...args: unknown[]) => Redis;
    (conn as unknown as { duplicate: (...args: unknown[]) => Redis }).duplicate = (...args) => {
      const copy = duplicate(...args);
      track(copy);
      if (closed) close(copy);
      return copy;
    };
  };
  for (const root of roots) track(root);
  return {
    all,
    closeForGood() {
      closed = true;
      for (const conn of all) close(conn);
    },
  };
}
