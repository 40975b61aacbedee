/**
 * Redis with persistence (AOF) killed and restarted mid-incident (issue 6/9, "faults with real processes"):
 * the incident, the plan with the approval already given, and the audit log survive; the bot reconnects and
 * the second approval carries the incident to resolution.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../src/util/net.js';
import { waitFor } from '../helpers/wait.js';
import {
  answerText,
  clusterState,
  incidentRoot,
  planMessage,
  startStack,
  type Stack,
} from './lifecycle-helpers.js';

const CH = 'C0AOF';
let stack: Stack;
let redisProcess: ChildProcess | undefined;
let dir: string;
let port: number;

async function startRedis(): Promise<void> {
  redisProcess = spawn(
    'redis-server',
    [
      '--bind',
      '127.0.0.1',
      '--port',
      String(port),
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--dir',
      dir,
    ],
    { stdio: 'ignore' },
  );
  await waitFor('redis to answer', async () => {
    const probe = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      // With AOF, the server answers LOADING until the file is replayed.
      return (await probe.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fo-aof-'));
  port = await freePort();
  await startRedis();
  stack = await startStack([{ name: 'aof', channel: CH, scenario: 'flannel-missing' }], {
    redisUrl: `redis://127.0.0.1:${port}`,
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  redisProcess?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('a Redis restart mid-incident', () => {
  it('keeps the incident, the approval given and the audit log; the next approval resolves it', async () => {
    const plan = await waitFor('the plan', () => planMessage(stack.slack, CH), { timeoutMs: 60_000 });
    const click = async (user: string, actionId: string) =>
      answerText(await stack.slack.click({ user, channel: CH, ts: plan.ts, action_id: actionId }));
    expect(await click('UALICE', 'approve-1')).toMatch(/recorded \(1\/2\)/);
    const [before] = await stack.bot.store.list({ cluster: 'aof', limit: 1 });
    const auditBefore = await stack.bot.store.timeline(before.id);

    // A crash, not a clean shutdown: what was acknowledged must already be on disk.
    redisProcess!.kill('SIGKILL');
    await new Promise((r) => redisProcess!.once('exit', r));
    await startRedis();

    const after = await waitFor(
      'the incident back from Redis',
      async () => stack.bot.store.get(before.id).catch(() => undefined),
      {
        timeoutMs: 30_000,
      },
    );
    expect(after.state).toBe('awaiting-approval');
    const view = await stack.bot.lifecycle.planView(before.id, 1);
    expect(view?.states['reapply-manifest']?.approvals.map((a) => a.user)).toEqual(['UALICE']);
    const auditAfter = await stack.bot.store.timeline(before.id);
    expect(auditAfter.slice(0, auditBefore.length)).toEqual(auditBefore);

    // The bot reconnected (it just read the incident back): Bob's approval runs the install, the rest follows.
    expect(await click('UBOB', 'approve-1')).toMatch(/Step 1 approved/);
    expect(await click('UALICE', 'approve-2')).toMatch(/approved/);
    expect(await click('UALICE', 'approve-3')).toMatch(/approved/);
    await waitFor(
      'the root to show Resolved',
      () => /^Resolved:/.test(incidentRoot(stack.slack, CH)?.text ?? ''),
      {
        timeoutMs: 120_000,
      },
    );
    expect((await clusterState(stack.sims.get('aof')!)).flannelReady).toBe(true);
  });
});
