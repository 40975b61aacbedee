/**
 * `flannel-ops demo` started and stopped as a person does it: in a process group of its own (a terminal's
 * foreground job), stopped with SIGINT to the whole group (Ctrl-C). It must stop in order, quietly, and
 * leave nothing behind: no redis-server, and on a shared Redis no key of its run.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCli, type CliProcess } from '../helpers/bot-process.js';
import { TEST_REDIS_URL, testRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'fo-demo-life-'));
const running: CliProcess[] = [];

afterAll(async () => {
  for (const p of running) await p.stop('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface Ready {
  slack: string;
  keyPrefix: string;
}

async function startDemo(
  name: string,
  env: Record<string, string>,
): Promise<{ demo: CliProcess; ready: Ready }> {
  const readyFile = join(dir, `${name}.json`);
  const demo = startCli(['demo', '--port', '0', '--ready-file', readyFile], env, { detached: true });
  running.push(demo);
  await waitFor(
    'the demo ready file',
    () => existsSync(readyFile) && readFileSync(readyFile, 'utf8').trim(),
    {
      timeoutMs: 60_000,
    },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${demo.stderr()}`);
  });
  const ready = JSON.parse(readFileSync(readyFile, 'utf8')) as Ready;
  // Work in flight: the incident thread is posted and the diagnosis is running or done.
  await waitFor(
    'the incident thread in the emulated Slack',
    async () => {
      const res = await fetch(`${ready.slack}/emulator/api/messages?channel=C0DEMO`).catch(() => undefined);
      const body = (await res?.json().catch(() => undefined)) as { messages?: unknown[] } | undefined;
      return (body?.messages?.length ?? 0) > 0;
    },
    { timeoutMs: 60_000 },
  ).catch(() => undefined); // the stop must be clean whether or not the thread made it in time
  return { demo, ready };
}

/** Ctrl-C: SIGINT to every process of the terminal's foreground group. */
function ctrlC(demo: CliProcess): void {
  process.kill(-demo.child.pid!, 'SIGINT');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('stopping the demo', () => {
  it('Ctrl-C stops the bot before its private Redis: exit 0 within seconds, no connection errors', async () => {
    const { demo } = await startDemo('private', { LOG_LEVEL: 'warn' });
    const pid = Number(/\(pid (\d+)\)/.exec(demo.stderr())?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(true);

    ctrlC(demo);
    const timer = setTimeout(() => demo.child.kill('SIGKILL'), 30_000);
    const code = await demo.exited;
    clearTimeout(timer);
    expect(code).toBe(0);
    expect(demo.stderr()).not.toMatch(/ECONNREFUSED|Connection is closed|\n\s+at /);
    await waitFor('the private redis-server to be gone', () => !alive(pid), { timeoutMs: 5000 });
  }, 120_000);

  it('on a shared Redis (REDIS_URL), leaves no key of its run behind', async () => {
    const { demo, ready } = await startDemo('shared', { REDIS_URL: TEST_REDIS_URL, LOG_LEVEL: 'warn' });
    const redis = testRedis();
    try {
      const during = await redis.keys(`${ready.keyPrefix}:*`);
      expect(during.length).toBeGreaterThan(10); // the run did create keys (queues, incident, outbox)

      ctrlC(demo);
      expect(await demo.exited).toBe(0);
      const left = await redis.keys(`${ready.keyPrefix}:*`);
      const withoutTtl: string[] = [];
      for (const key of left) if ((await redis.ttl(key)) < 0) withoutTtl.push(key);
      expect(withoutTtl).toEqual([]);
      expect(demo.stderr()).not.toMatch(/\n\s+at /);
    } finally {
      await redis.quit();
    }
  }, 120_000);
});
