/**
 * The Slack emulator is as strict as Slack, so a test cannot pass where Slack would fail: Socket Mode's
 * protocol as @slack/socket-mode speaks it (tokens, single-use URLs, the 3,000 ms ack), channels the bot
 * is not in, Slack's pacing (and the outbox still delivering everything under it), msg_blocks_too_long,
 * chat.update without blocks, replies to a thread that does not exist, and slash commands in threads.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { SocketModeClient } from '@slack/socket-mode';
import { LogLevel, WebClient, type WebAPIPlatformError, type WebAPIRateLimitedError } from '@slack/web-api';
import { WebSocket } from 'ws';
import { startSlackEmulator, SLACKBOT_USER_ID, type SlackEmulator } from '../../src/sim/slack/index.js';
import { outboxWebClient, SlackOutbox } from '../../src/slack/outbox.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const BOT_TOKEN = 'xoxb-strict-bot-token';
const APP_TOKEN = 'xapp-1-strict-app-token';
const CHANNEL = 'C0DEMO';
const prefix = `t-strict-${randomUUID().slice(0, 8)}`;

let slack: SlackEmulator;
let web: WebClient;

const quiet = { logLevel: LogLevel.ERROR };
async function platformError(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as WebAPIPlatformError).data?.error;
  }
}

beforeAll(async () => {
  slack = await startSlackEmulator({
    signingSecret: 'strict-signing-secret',
    botToken: BOT_TOKEN,
    appToken: APP_TOKEN,
    port: 0,
    responseWindowMs: 500,
    socketHoldMs: 2000,
  });
  web = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 }, ...quiet });
});

afterAll(async () => {
  await slack.close();
});

describe('Socket Mode as @slack/socket-mode speaks it', () => {
  it('takes only the app token for apps.connections.open, and the app token for nothing else', async () => {
    expect(await platformError(web.apiCall('apps.connections.open'))).toBe('not_allowed_token_type');
    const app = new WebClient(APP_TOKEN, {
      slackApiUrl: slack.apiUrl,
      retryConfig: { retries: 0 },
      ...quiet,
    });
    expect(await platformError(app.chat.postMessage({ channel: CHANNEL, text: 'x' }))).toBe(
      'not_allowed_token_type',
    );
    const opened = (await app.apiCall('apps.connections.open')) as { url?: string };
    expect(opened.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/emulator\/socket\//);
    // A URL is good for one connection: the second attempt is refused.
    const first = new WebSocket(String(opened.url));
    const hello = await new Promise<string>((resolve) =>
      first.once('message', (d: Buffer) => resolve(d.toString())),
    );
    expect(JSON.parse(hello)).toMatchObject({
      type: 'hello',
      connection_info: { app_id: expect.any(String) },
    });
    const second = new WebSocket(String(opened.url));
    second.on('error', () => {}); // the refused handshake also surfaces as an error event
    const refused = await new Promise<number>((resolve) =>
      second.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    );
    expect(refused).toBe(401);
    second.terminate();
    first.close();
    await waitFor('the raw socket to close', () => slack.socket!.stats().connections === 0);
  });

  it('an envelope not acked within 3,000 ms fails as on Slack: the person sees the error, a late ack changes nothing', async () => {
    const client = new SocketModeClient({
      appToken: APP_TOKEN,
      clientOptions: { slackApiUrl: slack.apiUrl },
      logLevel: LogLevel.ERROR,
    });
    let ackLate: (() => Promise<void>) | undefined;
    client.on('slash_commands', ({ ack }: { ack: (body?: unknown) => Promise<void> }) => {
      // Answers after the window: too late for Slack.
      ackLate = () => ack({ response_type: 'ephemeral', text: 'late answer' });
    });
    await client.start();
    try {
      const answer = await slack.command({ user: 'UALICE', channel: CHANNEL, text: '/flannel help' });
      expect(answer.status).toBe(0);
      expect(answer.error).toMatch(/^operation_timeout: .*3000 ms/);
      const envelope = slack.socket!.envelopes().at(-1)!;
      expect(envelope).toMatchObject({ type: 'slash_commands', failed: 'operation_timeout', acks: 0 });
      const shown = slack.messages(CHANNEL).filter((m) => m.ephemeral_to === 'UALICE');
      expect(shown.at(-1)).toMatchObject({
        user: SLACKBOT_USER_ID,
        text: '/flannel failed with the error "operation_timeout"',
      });

      await ackLate!();
      await waitFor('the late ack to be recorded', () => slack.socket!.envelopes().at(-1)!.lateAckAt);
      expect(JSON.stringify(slack.messages(CHANNEL))).not.toContain('late answer');
    } finally {
      await client.disconnect();
    }
  });

  it('a click not acked in time shows the person an error on the message', async () => {
    const client = new SocketModeClient({
      appToken: APP_TOKEN,
      clientOptions: { slackApiUrl: slack.apiUrl },
      logLevel: LogLevel.ERROR,
    });
    let received = 0;
    client.on('interactive', () => {
      received += 1; // never acked
    });
    await client.start();
    try {
      const posted = await web.chat.postMessage({
        channel: CHANNEL,
        text: 'plan',
        blocks: [
          {
            type: 'actions',
            elements: [
              {
                type: 'button',
                action_id: 'approve-1',
                text: { type: 'plain_text', text: 'Approve step 1' },
              },
            ],
          },
        ],
      });
      const answer = await slack.click({
        user: 'UBOB',
        channel: CHANNEL,
        ts: posted.ts!,
        action_id: 'approve-1',
      });
      expect(received).toBe(1);
      expect(answer.error).toMatch(/^operation_timeout/);
      expect(
        slack
          .messages(CHANNEL)
          .filter((m) => m.ephemeral_to === 'UBOB')
          .at(-1),
      ).toMatchObject({
        user: SLACKBOT_USER_ID,
        text: '"Approve step 1" failed with the error "operation_timeout"',
      });
    } finally {
      await client.disconnect();
    }
  });

  it('reconnects through a fresh apps.connections.open after disconnect (refresh_requested)', async () => {
    const client = new SocketModeClient({
      appToken: APP_TOKEN,
      clientOptions: { slackApiUrl: slack.apiUrl },
      logLevel: LogLevel.ERROR,
    });
    client.on('slash_commands', ({ ack }: { ack: (body?: unknown) => Promise<void> }) =>
      ack({ text: 'pong' }),
    );
    await client.start();
    try {
      const before = slack.socket!.stats();
      expect(slack.socket!.disconnect('refresh_requested')).toBe(1);
      await waitFor('a second connection', () => slack.socket!.stats().accepted === before.accepted + 1, {
        timeoutMs: 20_000,
      });
      expect(slack.socket!.stats().opened).toBe(before.opened + 1);
      const answer = await slack.command({ user: 'UBOB', channel: CHANNEL, text: '/flannel ping' });
      expect(answer).toMatchObject({ status: 200, ack: { text: 'pong' } });
    } finally {
      await client.disconnect();
    }
  }, 40_000);

  it('a command with no app connected fails with dispatch_failed once the hold ends', async () => {
    await waitFor('no socket open', () => slack.socket!.stats().connections === 0);
    const answer = await slack.command({ user: 'UBOB', channel: CHANNEL, text: '/flannel help' });
    expect(answer.error).toMatch(/^dispatch_failed: the app has no open Socket Mode connection/);
  });

  it('does not offer slash commands inside a thread', async () => {
    const root = await web.chat.postMessage({ channel: CHANNEL, text: 'a thread' });
    const res = await fetch(`${slack.url}/emulator/api/command`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user: 'UALICE', channel: CHANNEL, text: '/flannel help', thread_ts: root.ts }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain('/flannel is not supported in threads');
  });
});

describe('the Web API as strict as Slack', () => {
  it('answers not_in_channel / channel_not_found where the bot is not a member, as its scopes decide', async () => {
    // The README's manifest has chat:write.public: the bot may post (not read) in public channels it is not in.
    expect((await web.chat.postMessage({ channel: 'C0RANDOM', text: 'public write' })).ok).toBe(true);
    expect(await platformError(web.conversations.history({ channel: 'C0RANDOM' }))).toBe('not_in_channel');
    expect((await web.conversations.info({ channel: 'C0RANDOM' })).channel).toMatchObject({
      is_member: false,
    });
    for (const channel of ['G0SRE', 'D0ALICEBOB']) {
      expect(await platformError(web.chat.postMessage({ channel, text: 'x' }))).toBe('channel_not_found');
      expect(await platformError(web.conversations.info({ channel }))).toBe('channel_not_found');
    }
    // channel=U… opens the bot's own DM with that person, as Slack does.
    const dm = await web.chat.postMessage({ channel: 'UALICE', text: 'hello Alice' });
    expect(dm.channel).toMatch(/^D/);
    expect(slack.messages(String(dm.channel)).map((m) => m.text)).toEqual(['hello Alice']);

    // Without chat:write.public, and without usergroups:read.
    const narrow = await startSlackEmulator({
      signingSecret: 's',
      botToken: BOT_TOKEN,
      port: 0,
      scopes: ['commands', 'chat:write'],
    });
    try {
      const client = new WebClient(BOT_TOKEN, {
        slackApiUrl: narrow.apiUrl,
        retryConfig: { retries: 0 },
        ...quiet,
      });
      expect(await platformError(client.chat.postMessage({ channel: 'C0RANDOM', text: 'x' }))).toBe(
        'not_in_channel',
      );
      expect(await platformError(client.usergroups.list())).toBe('missing_scope');
      expect((await client.chat.postMessage({ channel: CHANNEL, text: 'member channel' })).ok).toBe(true);
    } finally {
      await narrow.close();
    }
  });

  it('chat.update without blocks keeps the old blocks; blocks: [] removes them', async () => {
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: 'rich *content*' } }];
    const posted = await web.chat.postMessage({ channel: CHANNEL, text: 'fallback v1', blocks });
    await web.chat.update({ channel: CHANNEL, ts: posted.ts!, text: 'fallback v2' });
    const kept = slack.messages(CHANNEL).find((m) => m.ts === posted.ts)!;
    expect(kept.text).toBe('fallback v2');
    expect(JSON.stringify(kept.blocks)).toContain('rich *content*');
    await web.chat.update({ channel: CHANNEL, ts: posted.ts!, text: 'plain only', blocks: [] });
    expect(slack.messages(CHANNEL).find((m) => m.ts === posted.ts)!.blocks).toEqual([]);
  });

  it('accepts a reply to a thread that does not exist (as Slack does) and nobody sees it in the channel', async () => {
    const reply = await web.chat.postMessage({
      channel: CHANNEL,
      text: 'lost reply',
      thread_ts: '1700000000.000001',
    });
    expect(reply.ok).toBe(true);
    expect(JSON.stringify(slack.messages(CHANNEL))).not.toContain('lost reply');
    expect(
      await platformError(web.conversations.replies({ channel: CHANNEL, ts: '1700000000.000001' })),
    ).toBe('thread_not_found');
  });

  it('paces chat.postMessage per channel like Slack: a burst beyond it gets 429 with Retry-After', async () => {
    await slack.close();
    slack = await startSlackEmulator({ signingSecret: 's', botToken: BOT_TOKEN, port: 0 });
    const fast = new WebClient(BOT_TOKEN, {
      slackApiUrl: slack.apiUrl,
      rejectRateLimitedCalls: true,
      retryConfig: { retries: 0 },
      ...quiet,
    });
    const results: Array<string | number> = [];
    for (let i = 0; i < 8; i++) {
      try {
        await fast.chat.postMessage({ channel: CHANNEL, text: `burst ${i}` });
        results.push('ok');
      } catch (err) {
        results.push((err as WebAPIRateLimitedError).retryAfter);
      }
    }
    expect(results.filter((r) => r === 'ok').length).toBeGreaterThanOrEqual(4);
    const limited = results.filter((r) => typeof r === 'number') as number[];
    expect(limited.length).toBeGreaterThan(0);
    for (const s of limited) expect(s).toBeGreaterThanOrEqual(1);
    // Another channel has its own allowance.
    const other = new WebClient(BOT_TOKEN, {
      slackApiUrl: slack.apiUrl,
      retryConfig: { retries: 0 },
      ...quiet,
    });
    expect((await other.chat.postMessage({ channel: 'UBOB', text: 'another channel' })).ok).toBe(true);
  });

  it('the outbox, set to write faster than Slack allows, meets 429s and still delivers every message once', async () => {
    const redis = new Redis(TEST_REDIS_URL);
    const bull = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    const outbox = new SlackOutbox({
      redis,
      bullConnection: bull,
      prefix,
      client: outboxWebClient(BOT_TOKEN, slack.apiUrl),
      channelPacing: { intervalMs: 50, burst: 20 },
      backoffMs: 100,
    });
    try {
      await outbox.start();
      const start = Date.now();
      for (let i = 0; i < 10; i++)
        await outbox.upsert(`paced-${i}`, {
          channel: CHANNEL,
          text: `paced message ${i}`,
          blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `paced message ${i}` } }],
        });
      const paced = () => slack.messages(CHANNEL).filter((m) => m.text.startsWith('paced message'));
      await waitFor('all ten messages', () => paced().length >= 10, { timeoutMs: 45_000 });
      await waitFor('the outbox to drain', async () => {
        const counts = await outbox.queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
        return Object.values(counts).every((n) => n === 0);
      });
      expect(
        paced()
          .map((m) => m.text)
          .sort(),
      ).toEqual(Array.from({ length: 10 }, (_, i) => `paced message ${i}`).sort());
      const calls = slack.calls().filter((c) => c.at >= start && c.method === 'chat.postMessage');
      expect(calls.some((c) => c.status === 429)).toBe(true);

      // An update Slack refuses as msg_blocks_too_long goes out as plain text, and the old blocks go with it:
      // chat.update without blocks would keep them and nobody would see the fallback.
      const section = (t: string) => ({
        type: 'section' as const,
        text: { type: 'mrkdwn' as const, text: t },
      });
      await outbox.upsert('paced-0', {
        channel: CHANNEL,
        text: 'paced message 0, now too long for blocks',
        blocks: Array.from({ length: 51 }, (_, i) => section(`line ${i}`)),
      });
      const updated = await waitFor('the plain-text fallback', () =>
        slack.messages(CHANNEL).find((m) => m.text === 'paced message 0, now too long for blocks'),
      );
      expect(updated.blocks).toEqual([]);
      expect(slack.calls().some((c) => c.method === 'chat.update' && c.error === 'msg_blocks_too_long')).toBe(
        true,
      );
    } finally {
      await outbox.close();
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
      await bull.quit();
    }
  }, 60_000);
});
