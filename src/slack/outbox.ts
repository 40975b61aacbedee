/**
 * The Slack outbox: every Slack write goes through ONE BullMQ queue.
 *
 * - Messages have a logical key (e.g. `inc-abc-root`): callers upsert the latest content at any rate; the
 *   content lives in a Redis hash and a job only says "send key K". While a job for K is pending, further
 *   upserts just replace the content (coalescing: latest payload wins) and add no job. A message written
 *   less than `updateIntervalMs` ago is sent again only after that interval, so an event storm yields at
 *   most about one write per message per interval.
 * - Thread replies name their parent by key, so they can be queued before the parent's post returned a ts.
 * - Per-channel pacing (GCRA in Redis: ~1 write/s/channel with a small burst), shared by all replicas.
 * - A 429 pauses only what Slack limited, as Slack scopes its limits: chat.postMessage per channel, every
 *   other method (chat.update, chat.postEphemeral) per method. The pause lasts Retry-After, capped at
 *   `maxPauseMs` (a bogus or hostile "Retry-After: 3600" must not silence the bot for an hour; if Slack
 *   still refuses, the next 429 pauses again). Pauses live in Redis (shared by replicas, kept over a
 *   restart for their capped length) and are listed by pauses() for /readyz. The WebClient rejects
 *   rate-limited calls instead of sleeping and never retries on its own: the queue is the only retry
 *   layer. 5xx and network errors are retried with exponential backoff; jobs and contents persist in
 *   Redis, so a crash loses nothing.
 */
import { randomUUID } from 'node:crypto';
import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
// @slack/web-api comes with Bolt (not a direct dependency): use Bolt's re-export.
import { LogLevel as SlackLogLevel, webApi } from '@slack/bolt';
import type { Redis } from 'ioredis';
import { defineLuaCommands } from '../coordination/lua-scripts.js';
import { log } from '../util/log.js';
import type { SlackMessage } from './render/blocks.js';
import { truncate } from './mrkdwn.js';

const logger = log.child({ module: 'slack-outbox' });
const { ErrorCode } = webApi;
type WebClient = InstanceType<typeof webApi.WebClient>;

export const OUTBOX_QUEUE = 'slack-outbox';

export interface OutboxOptions {
  /** Connection for the outbox's own keys (any ioredis instance). */
  redis: Redis;
  /** Connection for BullMQ (maxRetriesPerRequest: null); BullMQ duplicates it for blocking calls. */
  bullConnection: Redis;
  /** Key prefix (FLANNEL_OPS_KEY_PREFIX); BullMQ keys live under it too. */
  prefix: string;
  /** The worker's Web API client; build it with outboxWebClient(). Without it, this process only enqueues. */
  client?: WebClient;
  /** Minimum time between two writes of the same message (default 1000 ms). */
  updateIntervalMs?: number;
  /** Per-channel pacing: one write per intervalMs on average, bursts of `burst` (default 1000 ms, 3). */
  channelPacing?: { intervalMs: number; burst: number };
  /** Parallel jobs in this worker (default 4). */
  concurrency?: number;
  /** Longest pause a 429's Retry-After can cause (default 60 s, SLACK_MAX_RETRY_AFTER). */
  maxPauseMs?: number;
  /** Attempts for 5xx/network failures (default 8, exponential backoff from `backoffMs`, default 1000). */
  attempts?: number;
  backoffMs?: number;
  /** Each Web API call's outcome, and each job that will be tried again (the bot's metrics). */
  onCall?(method: string, outcome: 'ok' | 'rate_limited' | 'error'): void;
  onRetry?(reason: 'rate_limited' | 'error'): void;
  /** Called once a keyed message has its ts (first post). */
  onPosted?(key: string, where: { channel: string; ts: string }): void;
}

export interface UpsertInput extends SlackMessage {
  channel: string;
  /** Post as a reply in the thread of this logical message (or of a known ts). */
  thread?: { key: string } | { ts: string };
  /** Ordering: an upsert with a lower seq than the stored one is stale and ignored (e.g. incident.version). */
  seq?: number;
  /** Final content: later non-final upserts are ignored (late progress after the result). */
  final?: boolean;
  /** Post only after this logical message was posted (keeps replies of a thread in order). */
  after?: string;
}

/** A rate-limit pause in force: what Slack limited, and until when this bot holds those writes back. */
export interface OutboxPause {
  method: string;
  /** chat.postMessage pauses are per channel. */
  channel?: string;
  until: string;
  /** What Slack asked for (seconds), before the cap. */
  retryAfterSeconds: number;
}

export const DEFAULT_MAX_PAUSE_MS = 60_000;

export interface OutboxMessageState {
  channel: string;
  ts?: string;
  version: number;
  sent: number;
}

type JobData =
  | { kind: 'message'; key: string }
  | { kind: 'ephemeral'; channel: string; user: string; text: string; blocks?: unknown[]; threadTs?: string };

/** A WebClient for the outbox worker: 429s throw at once and nothing is retried inside the client. */
export function outboxWebClient(token: string, slackApiUrl?: string): WebClient {
  return new webApi.WebClient(token, {
    ...(slackApiUrl && { slackApiUrl }),
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
    logLevel: SlackLogLevel.ERROR,
  });
}

// A pending job older than this is presumed lost (failed for good) and a new one is queued.
const STALE_QUEUED_MS = 10 * 60_000;
// Replies wait this long for their parent's ts before giving up.
const PARENT_WAIT_MS = 10 * 60_000;
// How long a thread remembers its newest reply (replies queued later are posted after it).
const TAIL_TTL_SECONDS = 7 * 86_400;
// A post whose answer never came (the process died while Slack had it): look for it this far back.
const ORPHAN_LOOKBACK_SECONDS = 120;
const LOCK_MS = 30_000;

interface OutboxScripts {
  slackOutboxUpsert(...args: (string | number)[]): Promise<number>;
  slackOutboxCommit(...args: (string | number)[]): Promise<number>;
  slackOutboxRelease(...args: (string | number)[]): Promise<number>;
  slackOutboxPace(...args: (string | number)[]): Promise<number>;
  slackOutboxUnlock(...args: (string | number)[]): Promise<number>;
}

/** Platform errors that mean "this content cannot be sent as blocks": resend as plain text. */
const CONTENT_ERRORS = new Set([
  'invalid_blocks',
  'invalid_blocks_format',
  'msg_too_long',
  'msg_blocks_too_long',
]);
/** Errors of chat.update that mean the message is gone: post it again. */
const GONE_ERRORS = new Set(['message_not_found', 'cant_update_message', 'edit_window_closed']);

interface SlackErrorLike {
  code?: string;
  retryAfter?: number;
  data?: { error?: string };
  statusCode?: number;
}

export class SlackOutbox {
  readonly queue: Queue<JobData>;
  private worker: Worker<JobData> | undefined;
  private readonly redis: Redis & OutboxScripts;
  private readonly updateIntervalMs: number;
  private readonly pacing: { intervalMs: number; burst: number };
  private readonly maxPauseMs: number;

  constructor(private readonly opts: OutboxOptions) {
    this.updateIntervalMs = opts.updateIntervalMs ?? 1000;
    this.pacing = opts.channelPacing ?? { intervalMs: 1000, burst: 3 };
    this.maxPauseMs = opts.maxPauseMs ?? DEFAULT_MAX_PAUSE_MS;
    const redis = opts.redis as Redis & OutboxScripts;
    defineLuaCommands(redis, {
      slackOutboxUpsert: { file: 'slack/lua/outbox-upsert.lua', keys: 2 },
      slackOutboxCommit: { file: 'slack/lua/outbox-commit.lua', keys: 1 },
      slackOutboxRelease: { file: 'slack/lua/outbox-release.lua', keys: 1 },
      slackOutboxPace: { file: 'coordination/lua/gcra.lua', keys: 1 },
      slackOutboxUnlock: { file: 'coordination/lua/release-if-owner.lua', keys: 1 },
    });
    this.redis = redis;
    this.queue = new Queue<JobData>(OUTBOX_QUEUE, {
      connection: opts.bullConnection,
      prefix: opts.prefix,
      defaultJobOptions: {
        attempts: opts.attempts ?? 8,
        backoff: { type: 'exponential', delay: opts.backoffMs ?? 1000 },
        removeOnComplete: { age: 3600, count: 1000 },
        removeOnFail: { age: 7 * 86_400, count: 1000 },
      },
    });
    this.queue.on('error', (err) => logger.warn('outbox queue error', { err }));
  }

  /** Sorted set: member = pause scope, score = until (ms); one entry per method or method+channel. */
  private get pausesKey(): string {
    return `${this.opts.prefix}:slack:pauses`;
  }

  private pauseKey(scope: string): string {
    return `${this.opts.prefix}:slack:pause:${scope}`;
  }

  /** Pauses in force now (any replica's), for /readyz. */
  async pauses(now = Date.now()): Promise<OutboxPause[]> {
    await this.redis.zremrangebyscore(this.pausesKey, '-inf', now);
    const scopes = await this.redis.zrange(this.pausesKey, '0', '-1');
    if (scopes.length === 0) return [];
    const values = await this.redis.mget(...scopes.map((scope) => this.pauseKey(scope)));
    return scopes.flatMap((scope, i) => {
      const value = values[i];
      if (!value) return [];
      const { until, retryAfterSeconds } = JSON.parse(value) as { until: number; retryAfterSeconds: number };
      const [method, channel] = scope.split(':');
      return [
        {
          method: method!,
          ...(channel && { channel }),
          until: new Date(until).toISOString(),
          retryAfterSeconds,
        },
      ];
    });
  }

  /** How long writes of this scope must still wait (0 = not paused). */
  private async pausedFor(scope: string): Promise<number> {
    return Math.max(0, await this.redis.pttl(this.pauseKey(scope)));
  }

  private msgKey(key: string): string {
    return `${this.opts.prefix}:slack:msg:${key}`;
  }

  /** Sets the latest content of logical message `key`; sends it (post or update) as soon as pacing allows. */
  async upsert(key: string, input: UpsertInput): Promise<void> {
    const now = Date.now();
    const payload = JSON.stringify({ text: input.text, blocks: input.blocks });
    const thread = input.thread;
    const threadKey = thread && 'key' in thread ? thread.key : '';
    const lastAt = await this.redis.slackOutboxUpsert(
      this.msgKey(key),
      `${this.opts.prefix}:slack:tail:${threadKey || '-'}`,
      input.channel,
      thread && 'key' in thread ? thread.key : '',
      thread && 'ts' in thread ? thread.ts : '',
      payload,
      input.seq ?? '',
      input.final ? '1' : '0',
      now,
      STALE_QUEUED_MS,
      input.after ?? '',
      key,
      TAIL_TTL_SECONDS,
    );
    if (lastAt < 0) return; // stale (-1) or a pending job will pick it up (-2)
    if (lastAt === 0 && !thread && !input.after && this.worker) {
      await this.postDirectly(key);
      return;
    }
    await this.enqueueMessage(key, lastAt > 0 ? Math.max(0, lastAt + this.updateIntervalMs - now) : 0);
  }

  /**
   * The first post of a root message (an incident's page): sent from here at once instead of through the
   * queue, which would add a job round trip and a worker wake-up before the page. It keeps the queue's
   * guarantees: a backstop job is queued beside it (delayed by `backoffMs`) and removed once the post is
   * committed; if this attempt failed or the process died, that job retries it (the `posting` mark and the
   * block marker let it adopt a post Slack already has). The per-message lock keeps the two apart. The backstop
   * is also the message's one pending job: a later send (pacing, a pause, newer content) moves it instead of
   * queuing another, so coalescing still allows one job per message.
   */
  private async postDirectly(key: string): Promise<void> {
    const hashKey = this.msgKey(key);
    const lockKey = `${hashKey}:lock`;
    const lockToken = `direct:${randomUUID()}`;
    const [locked, backstop] = await Promise.all([
      this.redis.set(lockKey, lockToken, 'PX', LOCK_MS, 'NX'),
      this.queue.add('message', { kind: 'message', key }, { delay: this.opts.backoffMs ?? 1000 }),
    ]);
    // A job is sending it right now: that job carries on (and queues what follows), the backstop is not needed.
    if (locked !== 'OK') return void (await backstop.remove().catch(() => {}));
    // If the backstop already started (it waits for the lock), it sees what was committed and carries on.
    const moveBackstop = async (ms: number) => void (await backstop.changeDelay(ms).catch(() => {}));
    try {
      let pending = false;
      await this.sendMessage(key, hashKey, this.opts.client!, {
        startedAt: Date.now(),
        later: async (ms) => {
          pending = true;
          await moveBackstop(ms);
        },
        next: async (ms) => {
          pending = true;
          await moveBackstop(ms);
        },
      });
      if (!pending) await backstop.remove().catch(() => {});
    } catch (err) {
      // The backstop retries it (5xx, network); a 429's pause is recorded and the backstop waits it out.
      if (err instanceof RateLimitedCall) await moveBackstop(err.pauseMs);
      else logger.warn('slack post failed, the queue retries it', { key, err: (err as Error)?.message });
    } finally {
      await this.redis.slackOutboxUnlock(lockKey, lockToken);
    }
  }

  /** An ephemeral message to one user (visible only to them). */
  async ephemeral(input: {
    channel: string;
    user: string;
    text: string;
    blocks?: unknown[];
    threadTs?: string;
  }): Promise<void> {
    await this.queue.add('ephemeral', { kind: 'ephemeral', ...input });
  }

  /** Where a logical message was posted (undefined until the post succeeded). */
  async lookup(key: string): Promise<OutboxMessageState | undefined> {
    const [channel, ts, version, sent] = await this.redis.hmget(
      this.msgKey(key),
      'channel',
      'ts',
      'version',
      'sent',
    );
    if (!channel) return undefined;
    return { channel, ...(ts && { ts }), version: Number(version ?? 0), sent: Number(sent ?? 0) };
  }

  /** Starts the worker in this process (needs `client`). */
  async start(): Promise<void> {
    if (this.worker || !this.opts.client) return;
    // Earlier versions paused the whole queue (for as long as Slack asked) with these two keys.
    await this.redis.del(`${this.opts.prefix}:slack:paused`, `${this.opts.prefix}:${OUTBOX_QUEUE}:limiter`);
    this.worker = new Worker<JobData>(OUTBOX_QUEUE, (job, token) => this.process(job, token), {
      connection: this.opts.bullConnection,
      prefix: this.opts.prefix,
      concurrency: this.opts.concurrency ?? 4,
      // A Slack call takes a second or two: a job held by a dead process is picked up within ~20 s.
      lockDuration: 15_000,
      stalledInterval: 10_000,
    });
    this.worker.on('error', (err) => logger.warn('outbox worker error', { err }));
    this.worker.on('failed', (job, err) => {
      if (!job) return;
      const final = job.attemptsMade >= (job.opts.attempts ?? 1) || err instanceof UnrecoverableError;
      if (!final) this.opts.onRetry?.('error');
      logger.warn('slack write failed', {
        kind: job.data.kind,
        attempt: job.attemptsMade,
        final,
        err: err.message,
      });
      // Free the message so the next upsert queues a new job instead of waiting for the stale timeout; a reply
      // queued after it in its thread no longer waits for it.
      if (final && job.data.kind === 'message')
        void this.redis.hset(this.msgKey(job.data.key), 'failed', '1');
      if (final && job.data.kind === 'message')
        void this.redis.hset(this.msgKey(job.data.key), 'queuedAt', '0');
    });
    await this.worker.waitUntilReady();
  }

  /** Graceful: the worker finishes the jobs it holds; pending jobs stay in Redis for the next start. */
  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }

  private async enqueueMessage(key: string, delay: number): Promise<void> {
    await this.queue.add('message', { kind: 'message', key }, delay > 0 ? { delay } : {});
  }

  private async process(job: Job<JobData>, token: string | undefined): Promise<void> {
    try {
      await this.processJob(job, token);
    } catch (err) {
      // Delayed, not failed: a 429 does not use up one of the job's attempts.
      if (err instanceof RateLimitedCall) {
        this.opts.onRetry?.('rate_limited');
        return this.delay(job, token, err.pauseMs);
      }
      throw err;
    }
  }

  private async processJob(job: Job<JobData>, token: string | undefined): Promise<void> {
    const client = this.opts.client!;
    const data = job.data;
    if (data.kind === 'ephemeral') {
      const paused = await this.pausedFor('chat.postEphemeral');
      if (paused > 0) return this.delay(job, token, paused);
      await this.callSlack('chat.postEphemeral', data.channel, () =>
        client.chat.postEphemeral({
          channel: data.channel,
          user: data.user,
          text: data.text,
          ...(data.blocks && { blocks: data.blocks as never }),
          ...(data.threadTs && { thread_ts: data.threadTs }),
        }),
      );
      return;
    }
    const hashKey = this.msgKey(data.key);
    const lockKey = `${hashKey}:lock`;
    const lockToken = `${job.id}:${token ?? ''}`;
    if ((await this.redis.set(lockKey, lockToken, 'PX', LOCK_MS, 'NX')) !== 'OK') {
      return this.delay(job, token, 250); // another job is sending this message right now
    }
    try {
      await this.sendMessage(data.key, hashKey, client, {
        startedAt: job.timestamp,
        later: (ms) => this.delay(job, token, ms),
        next: (ms) => this.enqueueMessage(data.key, ms),
      });
    } finally {
      await this.redis.slackOutboxUnlock(lockKey, lockToken);
    }
  }

  /**
   * Sends the latest content of one message (lock held). `later(ms)` puts it off (a job delays itself; the
   * direct path moves its backstop job); `next(ms)` sends newer content that arrived meanwhile after the update
   * interval; `startedAt` is when sending was first asked for (how long to wait for a parent).
   */
  private async sendMessage(
    key: string,
    hashKey: string,
    client: WebClient,
    attempt: { startedAt: number; later(ms: number): Promise<void>; next(ms: number): Promise<void> },
  ): Promise<void> {
    const m = await this.redis.hgetall(hashKey);
    const version = Number(m.version ?? 0);
    if (!m.channel || !m.payload || Number(m.sent ?? 0) >= version) {
      // Nothing new, unless a version landed since the read: then send it (this job's flag stays set).
      if ((await this.redis.slackOutboxRelease(hashKey)) === 1) await attempt.next(0);
      return;
    }
    let threadTs = m.threadTs || undefined;
    if (!m.ts && m.threadKey) {
      threadTs = (await this.redis.hget(this.msgKey(m.threadKey), 'ts')) ?? undefined;
      if (!threadTs) {
        if (Date.now() - attempt.startedAt > PARENT_WAIT_MS) {
          throw new UnrecoverableError(`thread parent ${m.threadKey} was never posted`);
        }
        return attempt.later(500);
      }
    }
    if (!m.ts && m.afterKey && (await this.redis.exists(this.msgKey(m.afterKey)))) {
      // The earlier message exists but has no ts yet: wait for it, unless it failed for good or that is
      // taking too long.
      const [earlierTs, earlierFailed] = await this.redis.hmget(this.msgKey(m.afterKey), 'ts', 'failed');
      if (!earlierTs && !earlierFailed && Date.now() - attempt.startedAt < PARENT_WAIT_MS) {
        return attempt.later(300);
      }
    }
    // A 429 on this message's method (and channel, for posts) holds back this job only.
    const method = m.ts ? 'chat.update' : 'chat.postMessage';
    const paused = await this.pausedFor(pauseScope(method, m.channel));
    if (paused > 0) return attempt.later(paused);
    const wait = await this.redis.slackOutboxPace(
      `${this.opts.prefix}:slack:pace:${m.channel}`,
      Date.now(),
      this.pacing.intervalMs,
      this.pacing.burst,
    );
    if (wait > 0) return attempt.later(wait);

    const message = JSON.parse(m.payload) as SlackMessage;
    let ts = m.ts || undefined;
    if (ts) {
      try {
        await this.callSlack(
          'chat.update',
          m.channel,
          () => client.chat.update({ channel: m.channel, ts: ts!, ...asArgs(message, key) }),
          message,
          // Without `blocks: []` Slack keeps the old blocks and the plain-text fallback is never seen.
          (plain) => client.chat.update({ channel: m.channel, ts: ts!, ...plain, blocks: [] }),
        );
      } catch (err) {
        if (!GONE_ERRORS.has(platformError(err) ?? '')) throw err;
        logger.info('slack message gone, posting it again', { key });
        ts = undefined;
      }
    }
    let posted: string | undefined;
    let adopted = false;
    if (!ts && m.posting) {
      // An earlier attempt sent this post and died before Slack's answer: if Slack has it, adopt it.
      posted = await this.findOrphan(client, key, m.channel, threadTs, Number(m.posting));
      adopted = !!posted;
      if (adopted) logger.info('adopted a message posted before a crash', { key });
    }
    if (!ts && !posted) {
      await this.redis.hset(hashKey, 'posting', String(Date.now()));
      const post = (body: { text: string; blocks?: unknown }) =>
        client.chat.postMessage({
          channel: m.channel,
          ...(threadTs && { thread_ts: threadTs }),
          ...(body as { text: string }),
        });
      const result = await this.callSlack(
        'chat.postMessage',
        m.channel,
        () => post(asArgs(message, key)),
        message,
        post,
      );
      posted = typeof result?.ts === 'string' ? result.ts : undefined;
      if (!posted) throw new Error('chat.postMessage returned no ts');
    }
    // An adopted orphan carries the content of the attempt that died: count it as older, so the latest
    // content is sent over it.
    const sent = adopted ? version - 1 : version;
    const more = await this.redis.slackOutboxCommit(hashKey, sent, posted ?? '', Date.now());
    if (posted) this.opts.onPosted?.(key, { channel: m.channel, ts: posted });
    if (more === 1) await attempt.next(this.updateIntervalMs);
  }

  /**
   * The message an attempt that died mid-post left in Slack: ours (bot user), its first block marked with
   * this key, posted since that attempt began. Needs the channels:history scope (groups:history for private
   * channels); without it the post is repeated, as before.
   */
  private async findOrphan(
    client: WebClient,
    key: string,
    channel: string,
    threadTs: string | undefined,
    sinceMs: number,
  ): Promise<string | undefined> {
    const oldest = String(Math.floor(sinceMs / 1000) - ORPHAN_LOOKBACK_SECONDS);
    try {
      const answer = threadTs
        ? await client.conversations.replies({ channel, ts: threadTs, oldest, limit: 200 })
        : await client.conversations.history({ channel, oldest, limit: 200 });
      const marker = blockMarker(key);
      const found = (answer.messages ?? []).find(
        (msg) => (msg.blocks as Array<{ block_id?: string }> | undefined)?.[0]?.block_id === marker,
      );
      return typeof found?.ts === 'string' ? found.ts : undefined;
    } catch (err) {
      logger.warn('could not look for a message posted before a crash; posting it again', {
        key,
        err: platformError(err) ?? (err as Error)?.message,
      });
      return undefined;
    }
  }

  /**
   * One Web API call with the outbox's error policy: 429 pauses that method (and channel, for posts) and
   * delays this job; content errors are retried once as plain text; other platform errors are final;
   * everything else (5xx, network) is retried by BullMQ.
   */
  private async callSlack<T>(
    method: string,
    channel: string,
    call: () => Promise<T>,
    message?: SlackMessage,
    plainCall?: (body: { text: string }) => Promise<T>,
  ): Promise<T> {
    try {
      const answer = await call();
      this.opts.onCall?.(method, 'ok');
      return answer;
    } catch (err) {
      const e = err as SlackErrorLike;
      this.opts.onCall?.(method, e.code === ErrorCode.RateLimitedError ? 'rate_limited' : 'error');
      if (e.code === ErrorCode.RateLimitedError) {
        const ms = await this.pause(method, channel, e.retryAfter ?? 1);
        throw new RateLimitedCall(ms);
      }
      const platform = platformError(err);
      if (platform && message && plainCall && CONTENT_ERRORS.has(platform)) {
        logger.warn('slack refused the blocks, sending plain text', { error: platform });
        return plainCall({ text: truncate(message.text, 3000) });
      }
      if (
        platform &&
        !GONE_ERRORS.has(platform) &&
        platform !== 'ratelimited' &&
        platform !== 'internal_error'
      ) {
        throw new UnrecoverableError(`slack: ${platform}`);
      }
      throw err;
    }
  }

  /** Records a 429's pause (capped) for its scope; returns how long it lasts. */
  private async pause(method: string, channel: string, retryAfterSeconds: number): Promise<number> {
    const asked = Math.max(1, retryAfterSeconds);
    const ms = Math.min(asked * 1000, this.maxPauseMs);
    const scope = pauseScope(method, channel);
    const until = Date.now() + ms;
    logger.warn('slack rate limited: pausing', {
      method,
      ...(method === 'chat.postMessage' && { channel }),
      retryAfterSeconds: asked,
      pauseMs: ms,
    });
    await this.redis
      .multi()
      .set(this.pauseKey(scope), JSON.stringify({ until, retryAfterSeconds: asked }), 'PX', ms)
      .zadd(this.pausesKey, until, scope)
      .pexpire(this.pausesKey, this.maxPauseMs + 60_000)
      .exec();
    return ms;
  }

  private async delay(job: Job<JobData>, token: string | undefined, ms: number): Promise<never> {
    await job.moveToDelayed(Date.now() + Math.ceil(ms), token);
    throw new DelayedError();
  }
}

/** Slack's rate-limit scope of a write: chat.postMessage is limited per channel, other methods per method. */
export function pauseScope(method: string, channel: string): string {
  return method === 'chat.postMessage' ? `${method}:${channel}` : method;
}

/** A call Slack answered 429: the job is delayed by the pause, not counted as a failed attempt. */
class RateLimitedCall extends Error {
  constructor(readonly pauseMs: number) {
    super(`slack rate limited: retry in ${pauseMs} ms`);
  }
}

function platformError(err: unknown): string | undefined {
  const e = err as SlackErrorLike;
  return e?.code === ErrorCode.PlatformError ? e.data?.error : undefined;
}

function asArgs(message: SlackMessage, key?: string): { text: string; blocks?: never } {
  if (message.blocks.length === 0) return { text: message.text };
  // The first block carries the message's key, so a post whose answer was lost can be found again.
  const blocks = key
    ? [{ ...message.blocks[0], block_id: blockMarker(key) }, ...message.blocks.slice(1)]
    : message.blocks;
  return { text: message.text, blocks: blocks as never };
}

/** block_id of a message's first block: `fo:` and its logical key (Slack allows 255 characters). */
export function blockMarker(key: string): string {
  return `fo:${key}`.slice(0, 255);
}
