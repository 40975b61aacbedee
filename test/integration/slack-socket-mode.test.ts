/**
 * The bot in Socket Mode (its default) end to end: startBot with SLACK_MODE=socket and an xapp- token, the
 * Kubernetes simulator (flannel-missing), and the Slack emulator serving apps.connections.open and a real
 * WebSocket. Commands and clicks travel as envelopes the bot must ack within Slack's 3,000 ms; the emulator
 * asks for a refresh and cuts the socket, and nothing is lost or doubled. The emulator is strict (Slack's
 * pacing, membership); the bot runs with its default outbox pacing.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { startBot, type Bot } from '../../src/bot/start-bot.js';
import { parseClustersConfig } from '../../src/config/clusters.js';
import { loadEnv } from '../../src/config/env.js';
import { loadRunbooks, shippedRunbooksDir } from '../../src/runbooks/load.js';
import { startSimulator, type Simulator } from '../../src/sim/kube/simulator.js';
import {
  BOT_USER_ID,
  startSlackEmulator,
  type EmulatorMessage,
  type SlackEmulator,
} from '../../src/sim/slack/index.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const BOT_TOKEN = 'xoxb-socket-test-bot-token';
const APP_TOKEN = 'xapp-1-A0FLANNELOPS-socket-test';
const CHANNEL = 'C0DEMO';
const prefix = `t-socket-${randomUUID().slice(0, 8)}`;

let sim: Simulator;
let slack: SlackEmulator;
let bot: Bot;
let redis: Redis;

const text = (m: EmulatorMessage) => `${m.text}\n${JSON.stringify(m.blocks ?? [])}`;
/** The bot's ephemeral answers to a person in a channel (a command's ack is shown as one). */
const answersTo = (user: string, channel = CHANNEL) =>
  slack.messages(channel).filter((m) => m.user === BOT_USER_ID && m.ephemeral_to === user);
const incidentRoot = () => slack.messages(CHANNEL).find((m) => /Incident `inc-/.test(text(m)));
const socket = () => slack.socket!;

beforeAll(async () => {
  redis = new Redis(TEST_REDIS_URL);
  sim = await startSimulator({ scenario: 'flannel-missing', port: 0, retryIntervalMs: 3_600_000 });
  await sim.settle();
  slack = await startSlackEmulator({
    signingSecret: 'unused-in-socket-mode',
    botToken: BOT_TOKEN,
    appToken: APP_TOKEN,
    port: 0,
    responseWindowMs: 1500,
    // Bolt's client waits 5 s before it reconnects; a loaded CI machine needs room beyond that.
    socketHoldMs: 20_000,
  });
  expect(slack.mode).toBe('socket');
  const env = loadEnv(
    {
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_APP_TOKEN: APP_TOKEN,
      SLACK_MODE: 'socket',
      SLACK_API_URL: slack.apiUrl,
      REDIS_URL: TEST_REDIS_URL,
      FLANNEL_OPS_KEY_PREFIX: prefix,
      LOG_LEVEL: 'error',
    },
    { require: ['slack'] },
  );
  const clusters = parseClustersConfig({
    clusters: [
      {
        name: 'demo',
        kubeconfig: sim.kubeconfigPath,
        channel: CHANNEL,
        approvals: { approvers: { groups: ['oncall'] } },
      },
    ],
  }).clusters;
  bot = await startBot({
    env,
    clusters,
    runbooks: loadRunbooks(shippedRunbooksDir()),
    httpPort: 0,
    httpHost: '127.0.0.1',
    watch: { flushIntervalMs: 20, streamOptions: { backoff: { baseMs: 100, maxMs: 1000 } } },
  });
}, 60_000);

afterAll(async () => {
  await bot?.stop();
  await slack?.close();
  await sim?.stop();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

/** The Socket Mode state /readyz reports (the bot stays ready while it reconnects). */
async function socketState(): Promise<string | undefined> {
  const res = await fetch(`${bot.healthUrl}/readyz`);
  const body = (await res.json()) as { ok: boolean; slack?: { socket?: { state: string } } };
  expect(res.status).toBe(200);
  return body.slack?.socket?.state;
}

describe('the bot in Socket Mode against the emulator', () => {
  it('connected through apps.connections.open with the app token, not an HTTP request URL', async () => {
    expect(bot.requestUrl).toBeUndefined();
    expect(await socketState()).toBe('connected');
    expect(socket().stats()).toMatchObject({ opened: 1, accepted: 1, connections: 1, protocolErrors: [] });
    const opens = slack.calls().filter((c) => c.method === 'apps.connections.open');
    expect(opens).toEqual([expect.objectContaining({ status: 200 })]);
  });

  it('answers a slash command in its ack, over the socket', async () => {
    const before = answersTo('UALICE').length;
    const answer = await slack.command({ user: 'UALICE', channel: CHANNEL, text: '/flannel help' });
    expect(answer.error).toBeUndefined();
    expect(answer.status).toBe(200);
    expect(JSON.stringify(answer.ack)).toContain('/flannel diagnose');
    const shown = answersTo('UALICE');
    expect(shown).toHaveLength(before + 1);
    expect(text(shown.at(-1)!)).toContain('/flannel diagnose');
    const envelope = socket().envelopes().at(-1)!;
    expect(envelope).toMatchObject({ type: 'slash_commands', acks: 1 });
    expect(envelope.ackedAt).toBeDefined();
  });

  it('acks a button click within 3 s and acts on it', async () => {
    const root = await waitFor(
      'the incident root with its Acknowledge button',
      () => {
        const r = incidentRoot();
        return r && /"action_id":"acknowledge"/.test(JSON.stringify(r.blocks)) ? r : undefined;
      },
      { timeoutMs: 45_000 },
    );
    const answer = await slack.click({
      user: 'UBOB',
      channel: CHANNEL,
      ts: root.ts,
      action_id: 'acknowledge',
    });
    // Status 200 means the ack arrived inside the emulator's 3,000 ms window.
    expect(answer.error).toBeUndefined();
    expect(answer.status).toBe(200);
    expect(JSON.stringify(answer.responses)).toContain('You are on incident');
    expect(socket().envelopes().at(-1)).toMatchObject({ type: 'interactive', acks: 1 });
    // The lifecycle acted: the root now names who is on it.
    await waitFor('the root to show who acknowledged', () => /UBOB/.test(text(incidentRoot()!)), {
      timeoutMs: 20_000,
    });
  });

  it('answers a command from a channel it is not in, a private channel and a DM (not silence)', async () => {
    for (const channel of ['C0RANDOM', 'G0SRE', 'D0ALICEBOB']) {
      const answer = await slack.command({ user: 'UALICE', channel, text: '/flannel status' });
      expect(answer.error).toBeUndefined();
      // The answer comes in the ack (shown to the person wherever they typed), not as a post the bot may not make.
      expect(JSON.stringify(answer.ack)).toContain('*demo*');
      const shown = answersTo('UALICE', channel);
      expect(shown).toHaveLength(1);
      expect(text(shown[0])).toContain('Status');
    }
  });

  it('reconnects after a refresh request and after a dropped socket: nothing lost, nothing doubled', async () => {
    const startStats = socket().stats();
    const startAnswers = answersTo('UMALLORY').length;
    const startEnvelopes = socket().envelopes().length;

    // 1. Slack asks for a refresh; a command typed meanwhile waits for the new connection.
    expect(socket().disconnect('refresh_requested')).toBe(1);
    await waitFor('the old socket to close', () => socket().stats().connections === 0, { timeoutMs: 10_000 });
    // An operator sees the bot reconnecting in /readyz (it stays ready: Bolt reconnects by itself).
    await waitFor(
      '/readyz to show the socket reconnecting',
      async () => (await socketState()) !== 'connected',
      {
        timeoutMs: 10_000,
      },
    );
    const duringRefresh = slack.command({ user: 'UMALLORY', channel: CHANNEL, text: '/flannel help' });
    await waitFor(
      'a fresh apps.connections.open and socket',
      () => socket().stats().accepted === startStats.accepted + 1,
      {
        timeoutMs: 30_000,
      },
    );
    expect((await duringRefresh).status).toBe(200);
    const afterRefresh = await slack.command({ user: 'UMALLORY', channel: CHANNEL, text: '/flannel status' });
    expect(afterRefresh.status).toBe(200);

    // 2. The network drops the socket without a close frame.
    expect(socket().drop()).toBe(1);
    const duringDrop = slack.command({ user: 'UMALLORY', channel: CHANNEL, text: '/flannel incidents' });
    await waitFor('a reconnect after the drop', () => socket().stats().accepted === startStats.accepted + 2, {
      timeoutMs: 30_000,
    });
    expect((await duringDrop).status).toBe(200);
    const afterDrop = await slack.command({ user: 'UMALLORY', channel: CHANNEL, text: '/flannel help' });
    expect(afterDrop.status).toBe(200);

    // Each reconnect went through a fresh apps.connections.open (a URL is good for one connection).
    const stats = socket().stats();
    expect(stats.opened).toBe(startStats.opened + 2);
    expect(stats.connections).toBe(1);
    expect(stats.protocolErrors).toEqual([]);
    // Four commands, four envelopes, each acked once, four answers shown once each.
    const envelopes = socket().envelopes().slice(startEnvelopes);
    expect(envelopes.map((e) => [e.type, e.acks, e.failed])).toEqual(
      Array.from({ length: 4 }, () => ['slash_commands', 1, undefined]),
    );
    expect(answersTo('UMALLORY')).toHaveLength(startAnswers + 4);
    await waitFor(
      '/readyz to show the socket connected again',
      async () => (await socketState()) === 'connected',
    );
  }, 90_000);

  it('keeps posting through the Web API (default pacing, no 429) while commands use the socket', () => {
    const writes = slack.calls().filter((c) => c.method.startsWith('chat.'));
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.filter((c) => c.status === 429)).toEqual([]);
    expect(writes.filter((c) => c.error)).toEqual([]);
  });
});
