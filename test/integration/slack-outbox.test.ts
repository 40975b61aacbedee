/**
 * The Slack outbox against the Slack emulator over real HTTP and a real Redis: coalescing under a storm,
 * 429 Retry-After, 5xx retries, threads queued before their parent, and jobs surviving a restart.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { startSlackEmulator, type SlackEmulator } from '../../src/sim/slack/index.js';
import { outboxWebClient, SlackOutbox } from '../../src/slack/outbox.js';
import { startHealthServer } from '../../src/bot/health.js';
import { waitFor } from '../helpers/wait.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';

const BOT_TOKEN = 'xoxb-test-outbox-token';
const CHANNEL = 'C0DEMO';
const OTHER = 'C0OTHER';
const prefix = `t-outbox-${randomUUID().slice(0, 8)}`;

let slack: SlackEmulator;
let redis: Redis;
let bull: Redis;
const outboxes: SlackOutbox[] = [];

beforeAll(async () => {
  slack = await startSlackEmulator({
    signingSecret: 'outbox-signing-secret',
    botToken: BOT_TOKEN,
    port: 0,
    // The outbox here is paced faster than Slack allows (to keep tests short) and 429s are injected on purpose;
    // Slack's own pacing against the outbox is tested in slack-emulator-strict.test.ts.
    rateLimits: false,
    channels: [
      { id: CHANNEL, name: 'flannel-demo' },
      { id: OTHER, name: 'flannel-other' },
    ],
  });
  redis = new Redis(TEST_REDIS_URL);
  bull = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
});

afterEach(async () => {
  for (const o of outboxes.splice(0)) await o.close();
  slack.faults.reset();
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  await bull.quit();
  await slack.close();
});

async function outbox(
  opts: {
    worker?: boolean;
    sub?: string;
    updateIntervalMs?: number;
    concurrency?: number;
    maxPauseMs?: number;
  } = {},
): Promise<SlackOutbox> {
  const o = new SlackOutbox({
    redis,
    bullConnection: bull,
    prefix: `${prefix}-${opts.sub ?? 'a'}`,
    client: opts.worker === false ? undefined : outboxWebClient(BOT_TOKEN, slack.apiUrl),
    updateIntervalMs: opts.updateIntervalMs ?? 1000,
    channelPacing: { intervalMs: 200, burst: 5 },
    backoffMs: 200,
    concurrency: opts.concurrency ?? 4,
    ...(opts.maxPauseMs && { maxPauseMs: opts.maxPauseMs }),
  });
  outboxes.push(o);
  await o.start();
  return o;
}

const message = (text: string, channel = CHANNEL) => ({
  channel,
  text,
  blocks: [{ type: 'section' as const, text: { type: 'mrkdwn' as const, text } }],
});
const topLevel = (marker: string, channel = CHANNEL) =>
  slack.messages(channel).filter((m) => m.text.includes(marker));

/** Every job of the outbox has run: nothing waiting, delayed or active (a deterministic "it is done"). */
async function drained(o: SlackOutbox): Promise<void> {
  await waitFor('the outbox queue to drain', async () => {
    const counts = await o.queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
    return Object.values(counts).every((n) => n === 0);
  });
}
const callsSince = (start: number) =>
  slack.calls().filter((c) => c.at >= start && c.method.startsWith('chat.'));

describe('slack outbox', () => {
  it('a storm of 10,000 updates gives one message with the latest content and a bounded number of calls', async () => {
    const o = await outbox({ sub: 'storm' });
    const start = Date.now();
    for (let i = 1; i <= 10_000; i++) {
      await o.upsert('storm-root', { ...message(`storm-root count=${i}`), seq: i });
      if (i % 500 === 0)
        await o.upsert('storm-reply', { ...message(`storm-reply ${i}`), thread: { key: 'storm-root' } });
    }
    const elapsedS = (Date.now() - start) / 1000;
    await waitFor('the latest content to arrive', () =>
      topLevel('storm-root').some((m) => m.text.includes('count=10000')),
    );
    await waitFor('the reply to carry its latest content', () =>
      topLevel('storm-root')[0]?.replies.some((r) => r.text === 'storm-reply 10000'),
    );
    expect(topLevel('storm-root')).toHaveLength(1);
    expect(topLevel('storm-root')[0].replies).toHaveLength(1);
    const calls = callsSince(start);
    // One post per message, then at most about one update per message per second of storm.
    expect(calls.filter((c) => c.method === 'chat.postMessage')).toHaveLength(2);
    expect(calls.length).toBeLessThanOrEqual(2 * (Math.ceil(elapsedS) + 3));
    // Stale updates (lower seq) are ignored.
    const before = callsSince(0).length;
    await o.upsert('storm-root', { ...message('storm-root count=1 (stale)'), seq: 1 });
    await drained(o);
    expect(topLevel('storm-root')[0].text).toContain('count=10000');
    expect(callsSince(0).length).toBe(before);
  });

  it('a reply queued before its parent lands in the parent thread', async () => {
    const o = await outbox({ sub: 'thread' });
    await o.upsert('thread-child', { ...message('thread-child reply'), thread: { key: 'thread-parent' } });
    // The reply's job has run and put itself off, waiting for its parent's ts.
    await waitFor('the reply to wait for its parent', async () => (await o.queue.getDelayedCount()) === 1);
    await o.upsert('thread-parent', message('thread-parent root'));
    await waitFor('the reply in the thread', () => topLevel('thread-parent')[0]?.replies.length === 1);
    expect(topLevel('thread-parent')[0].replies[0].text).toBe('thread-child reply');
    expect(topLevel('thread-child')).toHaveLength(0);
  });

  it('posts the replies of a thread in the order they were first written, whatever the workers do', async () => {
    // Four workers race for the jobs and a 503 delays one post: the thread still reads in order.
    const o = await outbox({ sub: 'fifo', concurrency: 4 });
    await o.upsert('fifo-parent', message('fifo-parent root'));
    slack.faults.failNext(1, 503);
    const order = ['one', 'two', 'three', 'four', 'five', 'six'];
    for (const word of order) {
      await o.upsert(`fifo-${word}`, { ...message(`fifo reply ${word}`), thread: { key: 'fifo-parent' } });
    }
    await waitFor('every reply', () => topLevel('fifo-parent')[0]?.replies.length === order.length);
    expect(topLevel('fifo-parent')[0].replies.map((r) => r.text)).toEqual(
      order.map((w) => `fifo reply ${w}`),
    );
  });

  it('waits out a 429 (Retry-After) for the scope Slack limited and loses nothing', async () => {
    // One job at a time, so no call is already in flight when the 429 arrives.
    const o = await outbox({ sub: 'rl', updateIntervalMs: 100, concurrency: 1 });
    const start = Date.now();
    slack.faults.rateLimitNext(1, 1);
    const keys = ['rl-1', 'rl-2', 'rl-3'];
    for (const key of keys) await o.upsert(key, message(`${key} final`));
    await waitFor('every message with its latest content', () =>
      keys.every((key) => topLevel(key).length === 1 && topLevel(key)[0].text === `${key} final`),
    );
    const calls = callsSince(start);
    const limited = calls.find((c) => c.status === 429);
    expect(limited).toBeDefined();
    const after = calls.filter((c) => c.at > limited!.at);
    expect(after.length).toBeGreaterThanOrEqual(keys.length);
    // Nothing was posted to that channel before Retry-After (1 s) passed.
    expect(Math.min(...after.map((c) => c.at)) - limited!.at).toBeGreaterThanOrEqual(900);
  });

  it("a 429 asking for an hour holds back one channel's posts for the capped time only, others flow, /readyz shows it", async () => {
    const o = await outbox({ sub: 'rl-cap', updateIntervalMs: 100, concurrency: 2, maxPauseMs: 2500 });
    const health = await startHealthServer(
      {
        redis,
        lifecycle: () => 'running',
        statuses: () => [],
        secrets: [],
        slackPauses: () => o.pauses(),
      },
      { host: '127.0.0.1', port: 0 },
    );
    try {
      const start = Date.now();
      slack.faults.rateLimitNext(1, 3600);
      await o.upsert('cap-a', message('cap-a held back'));
      await waitFor('the 429', () => callsSince(start).some((c) => c.status === 429));
      const limitedAt = callsSince(start).find((c) => c.status === 429)!.at;

      const ready = (await (await fetch(`${health.url}/readyz`)).json()) as {
        slack: {
          paused: Array<{ method: string; channel?: string; until: string; retryAfterSeconds: number }>;
        };
      };
      expect(ready.slack.paused).toEqual([
        { method: 'chat.postMessage', channel: CHANNEL, until: expect.any(String), retryAfterSeconds: 3600 },
      ]);
      expect(Date.parse(ready.slack.paused[0]!.until) - limitedAt).toBeLessThanOrEqual(2500 + 200);

      // Another channel is not held back.
      for (const key of ['cap-b1', 'cap-b2', 'cap-b3']) await o.upsert(key, message(`${key} flows`, OTHER));
      await waitFor('the other channel', () => topLevel('cap-b', OTHER).length === 3);
      expect(topLevel('cap-a')).toHaveLength(0);

      // The limited channel gets its post once the capped pause is over: once, not an hour later.
      await waitFor('the held-back post', () => topLevel('cap-a').length === 1, { timeoutMs: 10_000 });
      const posted = callsSince(start).filter((c) => c.method === 'chat.postMessage' && c.status === 200);
      const postedA = posted.find((c) => c.at > limitedAt && c.at - limitedAt >= 2400);
      expect(postedA).toBeDefined();
      expect(postedA!.at - limitedAt).toBeLessThan(6000);
      await drained(o);
      expect(topLevel('cap-a')).toHaveLength(1);
      expect(await o.pauses()).toEqual([]);
    } finally {
      await health.close();
    }
  });

  it('a 429 on chat.update does not hold back new posts in the same channel', async () => {
    const o = await outbox({ sub: 'rl-upd', updateIntervalMs: 100, concurrency: 2, maxPauseMs: 3000 });
    await o.upsert('upd-a', message('upd-a v1'));
    await waitFor('first post', () => topLevel('upd-a').length === 1);
    const start = Date.now();
    slack.faults.rateLimitNext(1, 3600);
    await o.upsert('upd-a', message('upd-a v2'));
    await waitFor('the 429 on the update', () =>
      callsSince(start).some((c) => c.status === 429 && c.method === 'chat.update'),
    );
    expect(await o.pauses()).toMatchObject([{ method: 'chat.update', retryAfterSeconds: 3600 }]);
    await o.upsert('upd-new', message('upd-new post'));
    await waitFor('the new post while updates wait', () => topLevel('upd-new').length === 1);
    expect(topLevel('upd-a')[0]!.text).toBe('upd-a v1');
    await waitFor('the update after the capped pause', () => topLevel('upd-a')[0]?.text === 'upd-a v2', {
      timeoutMs: 10_000,
    });
    expect(topLevel('upd-a')).toHaveLength(1);
  });

  it('a pause outlives a restart only for its capped length', async () => {
    const first = await outbox({ sub: 'rl-restart', concurrency: 1, maxPauseMs: 2000 });
    const start = Date.now();
    slack.faults.rateLimitNext(1, 3600);
    await first.upsert('restart-a', message('restart-a after restart'));
    await waitFor('the 429', () => callsSince(start).some((c) => c.status === 429));
    await first.close();
    outboxes.splice(outboxes.indexOf(first), 1);
    const second = await outbox({ sub: 'rl-restart', concurrency: 1, maxPauseMs: 2000 });
    expect((await second.pauses()).length).toBe(1);
    await waitFor('the post after the capped pause', () => topLevel('restart-a').length === 1, {
      timeoutMs: 8000,
    });
    expect(Date.now() - start).toBeLessThan(8000);
  });

  it('retries 5xx answers and posts exactly once', async () => {
    const o = await outbox({ sub: 'err' });
    const start = Date.now();
    slack.faults.failNext(2, 503);
    await o.upsert('err-msg', message('err-msg after failures'));
    await waitFor('the post after the failures', () => topLevel('err-msg').length === 1);
    // A post answered 5xx may still have reached Slack: before posting again the outbox looks for it in the
    // channel's history, so the two failures land on the post and on that look-up.
    const calls = slack.calls().filter((c) => c.at >= start);
    expect(calls.filter((c) => c.status === 503).map((c) => c.method)).toEqual([
      'chat.postMessage',
      'conversations.history',
    ]);
    expect(topLevel('err-msg')).toHaveLength(1);
  });

  it("posts a new root message at once, even while the queue's only worker waits on a slow Slack call", async () => {
    const o = await outbox({ sub: 'direct', concurrency: 1, updateIntervalMs: 50 });
    const start = Date.now();
    await o.upsert('direct-a', message('direct-a v1'));
    await waitFor('the first root', () => topLevel('direct-a').length === 1);
    // The update of A goes through the queue; Slack holds its answer back, so the one worker is busy with it.
    slack.faults.slowNext(1, 4000, 'chat.update');
    await o.upsert('direct-a', message('direct-a v2'));
    await waitFor('the update to reach Slack', () => topLevel('direct-a')[0]?.text === 'direct-a v2');
    await o.upsert('direct-b', message('direct-b v1'));
    await waitFor('the second root', () => topLevel('direct-b').length === 1);
    // B was paged while A's update still waited for its answer: it did not queue behind it.
    expect((await o.lookup('direct-a'))?.sent).toBe(1);
    await waitFor('the update to be committed', async () => (await o.lookup('direct-a'))?.sent === 2);
    // Exactly once: the backstop job queued beside the direct post found nothing left to send.
    await drained(o);
    expect(topLevel('direct-b')).toHaveLength(1);
    // Every post of this test (the direct ones and any the backstop made) became exactly one direct- root.
    const posts = slack
      .calls()
      .filter(
        (c) => c.at >= start && c.method === 'chat.postMessage' && c.channel === CHANNEL && c.status === 200,
      );
    expect(posts).toHaveLength(slack.messages(CHANNEL).filter((m) => m.text.startsWith('direct-')).length);
  });

  it('keeps queued writes in Redis across a restart (nothing lost)', async () => {
    const producer = await outbox({ sub: 'crash', worker: false });
    await producer.upsert('crash-msg', message('crash-msg written while no worker ran'));
    await waitFor('the job to wait in Redis', async () => (await producer.queue.getWaitingCount()) === 1);
    expect(topLevel('crash-msg')).toHaveLength(0);
    await producer.close();
    outboxes.splice(outboxes.indexOf(producer), 1);
    await outbox({ sub: 'crash' });
    await waitFor('the message once a worker runs', () => topLevel('crash-msg').length === 1);
  });

  it('updates a posted message in place (edited), latest content wins', async () => {
    const o = await outbox({ sub: 'upd', updateIntervalMs: 300 });
    await o.upsert('upd-msg', message('upd-msg v0'));
    await waitFor('first post', () => topLevel('upd-msg').length === 1);
    for (let i = 1; i <= 50; i++) await o.upsert('upd-msg', message(`upd-msg v${i}`));
    await waitFor('the last version', () => topLevel('upd-msg')[0]?.text === 'upd-msg v50');
    expect(topLevel('upd-msg')).toHaveLength(1);
    expect(topLevel('upd-msg')[0].edited).toBeDefined();
    expect(await o.lookup('upd-msg')).toMatchObject({ channel: CHANNEL, ts: topLevel('upd-msg')[0].ts });
  });
});
