import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../util/net.js';

export interface RedisHandle {
  url: string;
  /** The redis-server this process started, if it started one. */
  pid?: number;
  /** Where it came from, for the banner: "REDIS_URL", "private redis-server (pid N)". */
  source: string;
  stop(): Promise<void>;
}

/** True when a Redis answers PING at `url` within a second. */
export async function redisAnswers(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * Starts a throw-away redis-server on a free loopback port (no persistence, its own temp dir), so the demo
 * never touches a Redis the user cares about. Resolves once it answers PING.
 */
export async function startPrivateRedis(binary = 'redis-server'): Promise<RedisHandle> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'flannel-ops-demo-redis-'));
  // A process group of its own: Ctrl-C in the terminal signals the whole foreground group, and a Redis that
  // dies first leaves the bot's queues failing while they close. The demo stops it last, itself.
  const child: ChildProcess = spawn(
    binary,
    ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore', detached: true },
  );
  // Outside the terminal's group it would outlive a parent that exits without stop() (a second Ctrl-C).
  const killOnExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(err));
    child.once('exit', (code) => reject(new Error(`redis-server exited with code ${code}`)));
  });
  const url = `redis://127.0.0.1:${port}`;
  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const ready = (async () => {
    for (let i = 0; i < 100; i++) {
      if (await redisAnswers(url)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('redis-server did not answer PING within 10 s');
  })();
  try {
    await Promise.race([ready, failed]);
  } catch (err) {
    await stop();
    throw err;
  }
  failed.catch(() => {}); // a later exit is reported by the demo's own health, not as an unhandled rejection
  return { url, pid: child.pid, source: `private redis-server on port ${port} (pid ${child.pid})`, stop };
}

/** Deletes every key of one throw-away prefix (SCAN, so a shared server is never blocked by KEYS). */
export async function deleteKeysUnder(url: string, prefix: string): Promise<number> {
  const client = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2000 });
  client.on('error', () => {});
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length) deleted += await client.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
  return deleted;
}
