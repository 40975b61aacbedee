/**
 * The health endpoints of the Socket Mode server (the one `flannel-ops run` opens on HTTP_HOST:HTTP_PORT
 * when Slack needs no port) over real HTTP, with a real Redis and one that cannot be reached. HTTP mode,
 * where the Slack receiver serves the same routes, is covered in slack-bot.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { startHealthServer, type BotLifecycle, type HealthServer } from '../../src/bot/health.js';
import type { ClusterWatchStatus } from '../../src/watch/watch-service.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';

const SECRET = 'xoxb-health-test-secret-token';

let redis: Redis;
let deadRedis: Redis;
let server: HealthServer;
let deadServer: HealthServer;
let lifecycle: BotLifecycle = 'starting';
let statuses: ClusterWatchStatus[] = [];

async function get(url: string, init: RequestInit = {}) {
  const res = await fetch(url, init);
  return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as never };
}

beforeAll(async () => {
  redis = new Redis(TEST_REDIS_URL);
  // A client that is not connected (a failed connection attempt leaves ioredis timers that outlive the test).
  deadRedis = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true });
  await redis.ping();
  const sources = { lifecycle: () => lifecycle, statuses: () => statuses, secrets: [SECRET] };
  server = await startHealthServer({ ...sources, redis }, { host: '127.0.0.1', port: 0 });
  deadServer = await startHealthServer({ ...sources, redis: deadRedis }, { host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await server?.close();
  await deadServer?.close();
  await redis?.quit();
  deadRedis?.disconnect();
});

describe('GET /healthz', () => {
  it('answers 200 {"ok":true} while Redis answers, whatever the bot is doing', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    for (const state of ['starting', 'running'] as const) {
      lifecycle = state;
      expect(await get(`${server.url}/healthz`)).toEqual({
        status: 200,
        type: 'application/json',
        body: { ok: true, redis: 'up' },
      });
    }
  });

  it('answers 503 with the reason when Redis cannot be reached', async () => {
    const answer = await get(`${deadServer.url}/healthz`);
    expect(answer.status).toBe(503);
    expect(answer.body).toEqual({
      ok: false,
      redis: 'down',
      reason: expect.stringMatching(/^redis unreachable: connection wait$/),
    });
  });
});

describe('GET /readyz', () => {
  it('is 503 until the bot has started, then 200 with each cluster watch status, secrets hidden', async () => {
    lifecycle = 'starting';
    statuses = [];
    expect(await get(`${server.url}/readyz`)).toEqual({
      status: 503,
      type: 'application/json',
      body: {
        ok: false,
        reason: 'the bot is starting',
        lifecycle: 'starting',
        clusters: [],
        slack: { paused: [] },
      },
    });

    lifecycle = 'running';
    statuses = [
      {
        cluster: 'prod',
        role: 'leader',
        fencingToken: 7,
        stream: {
          cluster: 'prod',
          state: 'watching',
          healthy: true,
          failures: 0,
          relists: 2,
          resourceVersion: '1234',
          since: '2024-01-01T00:00:00Z',
        },
      },
      { cluster: 'edge', role: 'error', lastError: `kubeconfig token ${SECRET} rejected: 401 Unauthorized` },
    ];
    const ready = await get(`${server.url}/readyz`);
    expect(ready).toEqual({
      status: 200,
      type: 'application/json',
      body: {
        ok: true,
        lifecycle: 'running',
        clusters: [
          { cluster: 'prod', role: 'leader', stream: { state: 'watching', healthy: true, failures: 0 } },
          { cluster: 'edge', role: 'error', lastError: expect.stringContaining('401 Unauthorized') },
        ],
        slack: { paused: [] },
      },
    });
    expect(JSON.stringify(ready.body)).not.toContain(SECRET);

    lifecycle = 'stopping';
    expect((await get(`${server.url}/readyz`)).body).toMatchObject({
      ok: false,
      reason: 'the bot is stopping',
    });
  });
});

describe('other requests', () => {
  it('answers 404 for unknown paths and 405 for other methods, in JSON', async () => {
    expect(await get(`${server.url}/slack/events`)).toEqual({
      status: 404,
      type: 'application/json',
      body: { ok: false, reason: 'no route /slack/events' },
    });
    const post = await get(`${server.url}/healthz`, { method: 'POST', body: '{}' });
    expect(post).toEqual({
      status: 405,
      type: 'application/json',
      body: { ok: false, reason: 'method POST not allowed' },
    });
  });
});
