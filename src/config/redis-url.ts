/**
 * REDIS_URL for Redis beyond one server (pure parsing, validated with zod):
 *
 * - `redis+sentinel://[[user]:password@]host:port[,host:port...]/master-name[?db=N]`: ask the Sentinels
 *   (default port 26379) for the current master of `master-name`, and follow it across failovers. The
 *   password is the master's (and replicas'); Sentinels themselves are contacted without one.
 * - `redis+cluster://[[user]:password@]host:port[,host:port...]`: a Redis Cluster, reached through any of
 *   the seed nodes (default port 6379). Cluster has database 0 only. The bot keeps all of its keys under one
 *   hash tag (`{prefix}:...`, derived from FLANNEL_OPS_KEY_PREFIX) so multi-key scripts, transactions and
 *   BullMQ queues stay in one slot.
 *
 * Plain `redis://` and `rediss://` URLs are parsed by src/coordination/redis-connection.ts as before.
 */
import { z } from 'zod';

export const SENTINEL_SCHEMES = ['redis+sentinel:', 'redis-sentinel:'] as const;
export const CLUSTER_SCHEMES = ['redis+cluster:', 'redis-cluster:'] as const;

export interface RedisNode {
  host: string;
  port: number;
}

export type HaRedisTarget =
  | {
      kind: 'sentinel';
      sentinels: RedisNode[];
      masterName: string;
      db: number;
      username?: string;
      password?: string;
    }
  | { kind: 'cluster'; nodes: RedisNode[]; username?: string; password?: string };

/** The scheme of a URL-like string, lowercased with its colon ('redis+cluster:'), or undefined. */
export function redisScheme(value: string): string | undefined {
  return /^([a-z][a-z0-9+.-]*):\/\//i.exec(value.trim())?.[1].toLowerCase().concat(':');
}

export function isHaRedisUrl(value: string): boolean {
  const scheme = redisScheme(value);
  return (
    (SENTINEL_SCHEMES as readonly string[]).includes(scheme ?? '') ||
    (CLUSTER_SCHEMES as readonly string[]).includes(scheme ?? '')
  );
}

export function isClusterRedisUrl(value: string): boolean {
  return (CLUSTER_SCHEMES as readonly string[]).includes(redisScheme(value) ?? '');
}

const HOST = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)$/;

function parseNodes(list: string, defaultPort: number, ctx: z.RefinementCtx): RedisNode[] | undefined {
  const nodes: RedisNode[] = [];
  for (const part of list.split(',')) {
    const m = /^(\[[^\]]*\]|[^:]*)(?::(\d{1,5}))?$/.exec(part.trim());
    if (!m || !HOST.test(m[1])) {
      ctx.addIssue({ code: 'custom', message: `"${part}" is not a host:port (e.g. 10.0.0.5:26379)` });
      return undefined;
    }
    const port = m[2] === undefined ? defaultPort : Number(m[2]);
    if (port < 1 || port > 65535) {
      ctx.addIssue({ code: 'custom', message: `"${part}" has a port outside 1-65535` });
      return undefined;
    }
    nodes.push({ host: m[1].replace(/^\[(.*)\]$/, '$1'), port });
  }
  return nodes;
}

const haUrlSchema = z
  .string()
  .trim()
  .transform((value, ctx): HaRedisTarget => {
    const m = /^([a-z+-]+):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/i.exec(value);
    if (!m) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be like redis+sentinel://host:26379,host2:26379/mymaster',
      });
      return z.NEVER;
    }
    const [, rawScheme, user, pass, hostList, path = '', query = ''] = m;
    const scheme = `${rawScheme.toLowerCase()}:`;
    const sentinel = (SENTINEL_SCHEMES as readonly string[]).includes(scheme);
    if (!hostList) {
      ctx.addIssue({ code: 'custom', message: 'names no host (list the nodes as host:port,host:port)' });
      return z.NEVER;
    }
    const nodes = parseNodes(hostList, sentinel ? 26379 : 6379, ctx);
    if (!nodes) return z.NEVER;
    const credentials = {
      ...(user && { username: decodeURIComponent(user) }),
      ...(pass && { password: decodeURIComponent(pass) }),
    };
    const params = new URLSearchParams(query);
    if (!sentinel) {
      if (path !== '' && path !== '/') {
        ctx.addIssue({
          code: 'custom',
          message: `a Redis Cluster URL has no path (Cluster has database 0 only), got "${path}"`,
        });
        return z.NEVER;
      }
      if ([...params.keys()].length > 0) {
        ctx.addIssue({ code: 'custom', message: 'a Redis Cluster URL takes no ?options' });
        return z.NEVER;
      }
      return { kind: 'cluster', nodes, ...credentials };
    }
    const masterName = decodeURIComponent(path.replace(/^\//, ''));
    if (!/^[A-Za-z0-9._-]+$/.test(masterName)) {
      ctx.addIssue({
        code: 'custom',
        message: `must end with the Sentinel master name, e.g. /mymaster (got "${path || '(none)'}")`,
      });
      return z.NEVER;
    }
    const unknown = [...params.keys()].filter((k) => k !== 'db');
    if (unknown.length > 0) {
      ctx.addIssue({ code: 'custom', message: `unknown option ?${unknown[0]} (only ?db=N)` });
      return z.NEVER;
    }
    const dbText = params.get('db') ?? '0';
    if (!/^\d{1,5}$/.test(dbText)) {
      ctx.addIssue({ code: 'custom', message: `?db must be a database number, got "${dbText}"` });
      return z.NEVER;
    }
    return { kind: 'sentinel', sentinels: nodes, masterName, db: Number(dbText), ...credentials };
  });

/** The parsed target, or the reason it is unusable (never repeating the password). */
export function parseHaRedisUrl(value: string): { target: HaRedisTarget } | { problem: string } {
  const parsed = haUrlSchema.safeParse(value);
  return parsed.success
    ? { target: parsed.data }
    : { problem: parsed.error.issues.map((i) => i.message).join('; ') };
}

/**
 * The key prefix the bot uses on this Redis: on a Cluster the configured prefix wrapped in a hash tag
 * (`{flannel-ops}`), so every key of the bot (and every BullMQ queue) hashes to one slot.
 */
export function effectiveKeyPrefix(prefix: string, redisUrl: string): string {
  return isClusterRedisUrl(redisUrl) && !/^\{[^}]+\}/.test(prefix) ? `{${prefix}}` : prefix;
}
