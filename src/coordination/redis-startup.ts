/**
 * Redis at start-up: one connection attempt that says what went wrong, a classification of that answer, and
 * the bounded wait `flannel-ops run` does before anything else touches Redis.
 *
 * ioredis retries every failure forever in the background and reports only "Connection is closed." to the
 * caller, so a REDIS_URL with a typo'd host, a wrong password or a database the server lacks used to leave
 * the bot waiting forever with stack traces. Permanent problems now end the start at once (exit 2); only
 * transient ones (refused, reset, timed out, Redis still loading) are retried, and only for a bounded time.
 */
import { createServer, type Server } from 'node:http';
import { redactRedisUrl } from '../config/env.js';
import { UserError } from '../util/errors.js';
import { listenUserError } from '../util/net.js';
import { createRedis, redisTargetDb, redisTargetFromUrl, type RedisTarget } from './redis-connection.js';

export type RedisProbe =
  { ok: true; version: string; db: number } | { ok: false; permanent: boolean; reason: string };

/** Answers that retrying cannot fix (a wrong URL, credentials or database number). */
const PERMANENT_CODES = new Set(['ENOTFOUND', 'EAI_NONAME', 'ERR_INVALID_URL', 'CERT_HAS_EXPIRED']);
const PERMANENT_MESSAGES = [
  /DB index is out of range/i,
  /invalid DB index/i,
  /WRONGPASS/,
  /NOAUTH/,
  /NOPERM/,
  /invalid password/i,
  /invalid username-password/i,
  /Unknown RESP type/i, // not a Redis server on that port
  /certificate/i,
];

/** Whether an error from connecting to Redis is worth retrying, and a one-line reason. */
export function classifyRedisError(err: unknown): { permanent: boolean; reason: string } {
  const e = err as NodeJS.ErrnoException & { hostname?: string };
  const message = (e?.message ?? String(err)).split('\n')[0]!;
  if (e?.code === 'ENOTFOUND' || e?.code === 'EAI_NONAME') {
    return { permanent: true, reason: `unknown host${e.hostname ? ` "${e.hostname}"` : ''} (${e.code})` };
  }
  const permanent =
    (e?.code !== undefined && PERMANENT_CODES.has(e.code)) ||
    PERMANENT_MESSAGES.some((re) => re.test(message));
  return { permanent, reason: message };
}

/**
 * One attempt: connect, authenticate, select the database, PING, and read the server version. Never retries
 * and never throws; the reason is the server's or the socket's own error, not ioredis' "Connection is closed."
 */
export async function probeRedis(url: string, timeoutMs = 3000): Promise<RedisProbe> {
  let target: RedisTarget;
  try {
    target = redisTargetFromUrl(url);
  } catch (err) {
    return { ok: false, permanent: true, reason: (err as Error).message };
  }
  const db = redisTargetDb(target);
  // SELECT explicitly: ioredis' own select-on-connect failure only surfaces as an 'error' event.
  const client = createRedis(url, {
    db: 0,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  let lastError: unknown;
  client.on('error', (err) => (lastError = err));
  let timer: NodeJS.Timeout | undefined;
  try {
    const attempt = (async () => {
      await client.connect();
      if (target.kind !== 'cluster') await client.select(db); // a Cluster has database 0 only
      await client.ping();
      const info = await client.info('server');
      return /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? 'unknown';
    })();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    const version = await Promise.race([attempt, timeout]);
    attempt.catch(() => undefined);
    return { ok: true, version, db };
  } catch (err) {
    // "Connection is closed." hides the cause, which came as an 'error' event just before.
    const cause = lastError && /Connection is closed/.test((err as Error)?.message ?? '') ? lastError : err;
    return { ok: false, ...classifyRedisError(cause) };
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

export interface RedisStartupOptions {
  /** How long transient failures are retried before giving up (ms). */
  timeoutMs: number;
  /** Where to answer /healthz and /readyz while waiting (the port the bot will use), if anywhere. */
  listen?: { host: string; port: number };
  /** Called after each failed attempt. */
  onWaiting?(reason: string, attempt: number): void;
  /** First retry delay; doubles up to 5 s (default 250 ms). */
  retryMs?: number;
}

/**
 * Returns once Redis answers; throws a UserError (exit 2) at once for a permanent problem, or once transient
 * ones lasted `timeoutMs`. While it waits, a small server on `listen` answers /healthz and /readyz with 503
 * and the reason, so an orchestrator sees why the bot is not up yet; it is closed before returning.
 */
export async function waitForRedis(url: string, opts: RedisStartupOptions): Promise<void> {
  const where = redactRedisUrl(url);
  const deadline = Date.now() + opts.timeoutMs;
  let delay = opts.retryMs ?? 250;
  let server: Server | undefined;
  let status = 'connecting';
  try {
    for (let attempt = 1; ; attempt++) {
      const probe = await probeRedis(url, Math.min(3000, Math.max(500, opts.timeoutMs)));
      if (probe.ok) return;
      if (probe.permanent) throw new UserError(`Redis at ${where}: ${probe.reason}; check REDIS_URL`, 2);
      if (Date.now() + delay > deadline) {
        throw new UserError(
          `Redis at ${where} did not answer within ${Math.round(opts.timeoutMs / 1000)} s (${probe.reason}); start it or check REDIS_URL`,
          2,
        );
      }
      status = `waiting for Redis at ${where} (attempt ${attempt}: ${probe.reason})`;
      opts.onWaiting?.(probe.reason, attempt);
      if (!server && opts.listen) server = await waitingServer(opts.listen, () => status);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5000);
    }
  } finally {
    if (server) await closeServer(server);
  }
}

async function waitingServer(listen: { host: string; port: number }, status: () => string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://health').pathname;
    const known = path === '/healthz' || path === '/readyz';
    res.writeHead(known ? 503 : 404, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(
      JSON.stringify(
        known
          ? { ok: false, reason: status(), redis: 'down', lifecycle: 'starting' }
          : { ok: false, reason: `no route ${path}` },
      ),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(listenUserError(err, listen) ?? err));
    server.listen(listen.port, listen.host, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  return server;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
