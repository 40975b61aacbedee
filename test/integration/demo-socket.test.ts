/**
 * `flannel-ops demo --socket`: the demo with the bot in Socket Mode (production's default). A person's
 * command through the emulator's JSON interface reaches the bot as an envelope over the emulator's
 * WebSocket and is answered; Ctrl-C stops it cleanly.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCli, type CliProcess } from '../helpers/bot-process.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'fo-demo-socket-'));
let demo: CliProcess | undefined;

afterAll(async () => {
  await demo?.stop('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function json(url: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    ...(body === undefined
      ? {}
      : { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return (await res.json()) as Record<string, unknown>;
}

describe('flannel-ops demo --socket', () => {
  it('runs the bot in Socket Mode: a command through the JSON interface is answered over the socket', async () => {
    const readyFile = join(dir, 'ready.json');
    demo = startCli(
      ['demo', '--socket', '--port', '0', '--ready-file', readyFile],
      { REDIS_URL: TEST_REDIS_URL, LOG_LEVEL: 'warn' },
      { detached: true },
    );
    await waitFor(
      'the demo ready file',
      () => existsSync(readyFile) && readFileSync(readyFile, 'utf8').trim(),
      {
        timeoutMs: 90_000,
      },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${demo!.stderr()}`);
    });
    const ready = JSON.parse(readFileSync(readyFile, 'utf8')) as { slack: string; mode: string };
    expect(ready.mode).toBe('socket');

    const info = await json(`${ready.slack}/emulator/api/info`);
    expect(info).toMatchObject({ mode: 'socket', socket: { connections: 1 }, request_url: null });

    const answer = await json(`${ready.slack}/emulator/api/command`, {
      user: 'UALICE',
      channel: 'C0DEMO',
      text: '/flannel help',
    });
    expect(answer.error).toBeUndefined();
    expect(answer.status).toBe(200);
    expect(JSON.stringify(answer.ack)).toContain('/flannel diagnose');
    const socket = await json(`${ready.slack}/emulator/api/socket`);
    expect(socket).toMatchObject({ connections: 1, protocolErrors: [] });
    expect(socket.envelopes).toEqual([expect.objectContaining({ type: 'slash_commands', acks: 1 })]);

    // Ctrl-C stops it in order; a hang fails the test at its timeout (afterAll then kills what is left).
    process.kill(-demo.child.pid!, 'SIGINT');
    expect(await demo.exited).toBe(0);
    expect(demo.stderr()).toContain('Socket Mode');
    expect(demo.stderr()).not.toMatch(/\n\s+at /);
  }, 150_000);
});
