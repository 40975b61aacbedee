/**
 * Hostile but correctly signed requests against a real `flannel-ops run` process in HTTP mode: a body that
 * is JSON `null` (or `payload=null`) used to make Bolt's HTTPReceiver throw and the whole process exit.
 * Requests dated more than 5 minutes away from now (future as well as past) are refused like forgeries.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type Simulator } from '../../src/sim/kube/simulator.js';
import { signSlackRequest, startSlackEmulator, type SlackEmulator } from '../../src/sim/slack/index.js';
import { freePort } from '../../src/util/net.js';
import { startCli, type CliProcess } from '../helpers/bot-process.js';
import { deleteKeys, TEST_REDIS_URL, testRedis } from '../helpers/redis.js';

const SECRET = 'guard-test-signing-secret';
const BOT_TOKEN = 'xoxb-guard-test';
const PREFIX = `t-guard-${randomUUID().slice(0, 8)}`;

let sim: Simulator;
let slack: SlackEmulator;
let bot: CliProcess;
let base: string;

beforeAll(async () => {
  sim = await startSimulator({ scenario: 'healthy', port: 0, onError: () => undefined });
  slack = await startSlackEmulator({ port: 0, signingSecret: SECRET, botToken: BOT_TOKEN });
  const dir = mkdtempSync(join(tmpdir(), 'fo-guard-'));
  const clusters = join(dir, 'clusters.yaml');
  writeFileSync(
    clusters,
    `clusters:\n  - name: demo\n    kubeconfig: ${sim.kubeconfigPath}\n    channel: C0GUARD\n`,
  );
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  bot = startCli(['run', '--clusters', clusters], {
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_MODE: 'http',
    SLACK_API_URL: slack.apiUrl,
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: String(port),
    REDIS_URL: TEST_REDIS_URL,
    FLANNEL_OPS_KEY_PREFIX: PREFIX,
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'plain',
  });
  await bot.waitForHttp(`${base}/readyz`);
}, 90_000);

afterAll(async () => {
  await bot?.stop();
  await slack?.close();
  await sim?.stop();
  const redis = testRedis();
  await deleteKeys(redis, PREFIX);
  await redis.quit();
});

async function post(body: string, contentType: string, nowMs = Date.now()) {
  const res = await fetch(`${base}/slack/events`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...signSlackRequest(SECRET, body, nowMs) },
    body,
  });
  return { status: res.status, text: await res.text() };
}

const JSON_TYPE = 'application/json';
const FORM = 'application/x-www-form-urlencoded';
const helpCommand = (text = 'help') =>
  new URLSearchParams({
    command: '/flannel',
    text,
    user_id: 'UALICE',
    channel_id: 'C0GUARD',
    team_id: 'T0TEST',
    trigger_id: `trig-${randomUUID()}`,
    response_url: `${slack.url}/response/none`,
  }).toString();

describe('the guarded Slack receiver of flannel-ops run', () => {
  it('answers 400 to signed bodies that are not JSON objects, and keeps running', async () => {
    const cases: Array<[string, string]> = [
      ['null', JSON_TYPE],
      ['payload=null', FORM],
      ['1', JSON_TYPE],
      ['"text"', JSON_TYPE],
      ['[]', JSON_TYPE],
      ['payload=%5B1%5D', FORM],
      ['{', JSON_TYPE],
    ];
    for (const [body, type] of cases) {
      expect({ body, ...(await post(body, type)) }).toMatchObject({ body, status: 400 });
    }
    // Still alive: health answers and a real command works.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const help = await post(helpCommand(), FORM);
    expect(help.status).toBe(200);
    expect(help.text).toContain('/flannel diagnose');
    expect(bot.child.exitCode).toBeNull();
  });

  it('refuses signed requests dated more than 5 minutes in the future or the past (401)', async () => {
    const body = helpCommand();
    expect((await post(body, FORM, Date.now() + 10 * 60_000)).status).toBe(401);
    expect((await post(body, FORM, Date.now() - 10 * 60_000)).status).toBe(401);
    // Within the window either way is fine (clocks drift a little).
    expect((await post(helpCommand(), FORM, Date.now() + 60_000)).status).toBe(200);
    expect(bot.child.exitCode).toBeNull();
  });

  it('refuses a bad signature (401) before looking at the body', async () => {
    const res = await fetch(`${base}/slack/events`, {
      method: 'POST',
      headers: {
        'content-type': JSON_TYPE,
        ...signSlackRequest('not-the-secret', 'null'),
      },
      body: 'null',
    });
    expect(res.status).toBe(401);
  });

  it('answers a 100 KB command with "too long (max N characters)", not "malformed payload"', async () => {
    const answer = await post(helpCommand(`diagnose ${'x'.repeat(100_000)}`), FORM);
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('too long (max 4000 characters)');
    expect(answer.text).not.toMatch(/malformed/);
  });
});
