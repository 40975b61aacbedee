/** `flannel-ops slack-emulator`: runs alone, prints its URL, serves it, stops cleanly on SIGTERM. */
import { afterEach, expect, it } from '@jest/globals';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { waitFor } from '../helpers/wait.js';

const ROOT = resolve(import.meta.dirname ?? '.', '../..');
const BIN = join(ROOT, 'bin/flannel-ops.js');
let child: ChildProcess | undefined;

afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  child = undefined;
});

it('prints its URL, answers there with the given token and request URL, and stops on SIGTERM', async () => {
  child = spawn(
    process.execPath,
    [
      BIN,
      'slack-emulator',
      '--port',
      '0',
      '--bot-token',
      'xoxb-cli-test',
      '--request-url',
      'http://127.0.0.1:9/slack/events',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '' } },
  );
  let stdout = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  const url = await waitFor(
    'the emulator URL',
    () => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1],
  );

  const me = await fetch(`${url}/api/auth.test`, {
    method: 'POST',
    headers: { Authorization: 'Bearer xoxb-cli-test' },
  });
  expect(await me.json()).toMatchObject({ ok: true, user_id: 'U0FLANNELBOT' });
  const info = (await (await fetch(`${url}/emulator/api/info`)).json()) as { request_url: string };
  expect(info.request_url).toBe('http://127.0.0.1:9/slack/events');
  expect(stdout).toContain(`${url}/api/`);

  const exited = new Promise<number | null>((done) => child!.on('exit', (code) => done(code)));
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(stdout).toContain('Slack emulator stopped');
});

it('names the flag of a bad value, without a stack trace', async () => {
  const result = await new Promise<{ code: number | null; stderr: string }>((done) =>
    execFile(
      process.execPath,
      [BIN, 'slack-emulator', '--port', 'abc'],
      { timeout: 30000 },
      (error, _out, stderr) =>
        done({ code: error && typeof error.code === 'number' ? error.code : 0, stderr }),
    ),
  );
  expect(result.code).toBe(2);
  expect(result.stderr).toBe('flannel-ops: --port must be a whole number\n');
});

it('--socket turns Socket Mode on: apps.connections.open with the app token answers a WebSocket URL', async () => {
  child = spawn(process.execPath, [BIN, 'slack-emulator', '--port', '0', '--socket'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '' },
  });
  let stdout = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  const url = await waitFor(
    'the emulator URL',
    () => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1],
  );
  await waitFor('the Socket Mode line', () => stdout.includes('Socket Mode:  on'));
  const open = await fetch(`${url}/api/apps.connections.open`, {
    method: 'POST',
    headers: { Authorization: 'Bearer xapp-1-emulator-token' },
  });
  expect(await open.json()).toMatchObject({
    ok: true,
    url: expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+\//),
  });
  const info = (await (await fetch(`${url}/emulator/api/info`)).json()) as { mode: string };
  expect(info.mode).toBe('socket');
  const exited = new Promise<number | null>((done) => child!.on('exit', (code) => done(code)));
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
});
