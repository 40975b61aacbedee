import { Redis, type RedisOptions } from 'ioredis';
import { z } from 'zod';
import { redactRedisUrl } from '../config/env.js';
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

/**
 * REDIS_URL -> ioredis options, honouring a `/N` database number, user/password and rediss:// (TLS).
 * Errors name the variable and the reason but never echo a password.
 */
export function redisOptionsFromUrl(url: string, source = 'REDIS_URL'): RedisOptions {
  const parsed = redisUrlSchema.safeParse(url);
  if (!parsed.success) {
    throw new UserError(`${source}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  }
  return parsed.data;
}

/** A connection for the bot's own keys (not BullMQ's: its workers need maxRetriesPerRequest: null). */
export function createRedis(url: string = DEFAULT_REDIS_URL, extra: RedisOptions = {}): Redis {
  return new Redis({ ...redisOptionsFromUrl(url), ...extra });
}
