/**
 * The health endpoints of the Socket Mode server (the one `flannel-ops run` opens on HTTP_HOST:HTTP_PORT
 * when Slack needs no port) over real HTTP, with a real Redis and one that cannot be reached. HTTP mode,
 * where the Slack receiver serves the same routes, is covered in slack-bot.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import {
  redisProblem,
  startHealthServer,
  type BotLifecycle,
  type HealthServer,
} from '../../src/bot/health.js';
import { BotMetrics, METRICS_CONTENT_TYPE } from '../../src/observability/metrics.js';
import type { ClusterWatchStatus } from '../../src/watch/watch-service.js';
import { scrape, total } from '../helpers/prometheus.js';
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

describe('GET /metrics and mounted routes on the Socket Mode server', () => {
  it("serves the bot's registry: Redis reachability as the metrics read it, 405 for other methods", async () => {
    const servers: HealthServer[] = [];
    try {
      for (const client of [redis, deadRedis]) {
        const metrics = new BotMetrics({ defaultMetrics: false });
        metrics.setSources({ redisProblem: () => redisProblem(client, 500), statuses: () => statuses });
        servers.push(
          await startHealthServer(
            {
              redis: client,
              lifecycle: () => lifecycle,
              statuses: () => statuses,
              secrets: [SECRET],
              metrics: { contentType: METRICS_CONTENT_TYPE, scrape: () => metrics.scrape() },
            },
            { host: '127.0.0.1', port: 0 },
          ),
        );
      }
      statuses = [{ cluster: 'prod', role: 'leader' }];
      const [up, down] = await Promise.all(servers.map((s) => scrape(s.url)));
      expect(total(up, 'flannel_ops_redis_up')).toBe(1);
      expect(total(down, 'flannel_ops_redis_up')).toBe(0);
      expect(total(up, 'flannel_ops_cluster_leader', { cluster: 'prod' })).toBe(1);
      const post = await fetch(`${servers[0]!.url}/metrics`, { method: 'POST' });
      expect(post.status).toBe(405);
      expect(post.headers.get('allow')).toBe('GET');
      await post.body?.cancel();
    } finally {
      for (const s of servers) await s.close();
    }
  });

  it('passes every method and sub-path of a mount to its handler, and nothing beside it', async () => {
    const seen: string[] = [];
    const mounted = await startHealthServer(
      {
        redis,
        lifecycle: () => lifecycle,
        statuses: () => statuses,
        secrets: [],
        mounts: [
          {
            path: '/admin/queues',
            handler: (req, res) => {
              seen.push(`${req.method} ${req.url}`);
              res.writeHead(204).end();
            },
          },
        ],
      },
      { host: '127.0.0.1', port: 0 },
    );
    try {
      expect((await fetch(`${mounted.url}/admin/queues`)).status).toBe(204);
      expect((await fetch(`${mounted.url}/admin/queues/api/queues?x=1`, { method: 'PUT' })).status).toBe(204);
      const beside = await fetch(`${mounted.url}/admin/queuesX`);
      expect(beside.status).toBe(404);
      await beside.body?.cancel();
      expect(seen).toEqual(['GET /admin/queues', 'PUT /admin/queues/api/queues?x=1']);
    } finally {
      await mounted.close();
    }
  });
});
