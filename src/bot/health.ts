/**
 * GET /healthz (liveness: the process answers and Redis is reachable) and GET /readyz (readiness: the bot
 * finished starting, with each cluster's watch status and any Slack rate-limit pause in force). Served by the Slack HTTP receiver in HTTP mode and
 * by a small server of their own in Socket Mode, both on HTTP_HOST:HTTP_PORT. Answers are JSON.
 * Beside them: GET /metrics (Prometheus text) and, when configured, the queue board under /admin/queues.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { redact } from '../util/log.js';
import type { OutboxPause } from '../slack/outbox.js';
import type { ClusterWatchStatus, ReplicaStatus } from '../watch/watch-service.js';

export type BotLifecycle = 'starting' | 'running' | 'stopping';

export interface HealthSources {
  redis: Redis;
  lifecycle(): BotLifecycle;
  statuses(): readonly ClusterWatchStatus[];
  /** This replica in the hub: live replicas, its share and the clusters it leads. */
  replica?(): ReplicaStatus | undefined;
  /** Values never to show (tokens): cluster errors are redacted with them. */
  secrets: readonly string[];
  /** How long a Redis PING may take before /healthz fails. Default 2000 ms. */
  redisTimeoutMs?: number;
  /** Slack rate-limit pauses in force (the outbox's), shown in /readyz. */
  slackPauses?(): Promise<readonly OutboxPause[]>;
  /** Socket Mode: the WebSocket's state and since when (ISO time), shown in /readyz. */
  slackSocket?(): SlackSocketState | undefined;
  /** GET /metrics: the Prometheus exposition text and its content type. */
  metrics?: { contentType: string; scrape(): Promise<string> };
  /** Handles every request under `path` (any method), e.g. the queue board at /admin/queues. */
  mounts?: Array<{ path: string; handler: RouteHandler }>;
}

/** The Socket Mode connection as /readyz shows it: Bolt reconnects by itself; this tells an operator it is. */
export interface SlackSocketState {
  state: 'connecting' | 'connected' | 'reconnecting' | 'disconnected';
  since: string;
}

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** A route of the health server; `prefix` routes also take every path below theirs. */
export interface HealthRoute {
  path: string;
  method: string[];
  handler: RouteHandler;
  prefix?: boolean;
}

export interface HealthAnswer {
  status: 200 | 503;
  body: Record<string, unknown>;
}

/** Liveness from what the Redis check found (undefined = reachable). */
export function livenessAnswer(redisProblem: string | undefined): HealthAnswer {
  return redisProblem
    ? { status: 503, body: { ok: false, reason: `redis unreachable: ${redisProblem}`, redis: 'down' } }
    : { status: 200, body: { ok: true, redis: 'up' } };
}

/**
 * Readiness: ready once every part of the bot (watchers, diagnosis and outbox workers, Slack app) started,
 * until it begins stopping. A cluster whose watch fails does not make the bot unready: the other clusters
 * and the Slack commands still work, and the reason is shown per cluster.
 */
export function readinessAnswer(
  lifecycle: BotLifecycle,
  statuses: readonly ClusterWatchStatus[],
  secrets: readonly string[] = [],
  slackPauses: readonly OutboxPause[] = [],
  replica?: ReplicaStatus,
  socket?: SlackSocketState,
): HealthAnswer {
  // Paused output and a reconnecting socket are shown, not made unready: the bot still detects, diagnoses and
  // queues what it will send, and Bolt reconnects the socket by itself.
  const slack = { paused: slackPauses, ...(socket && { socket }) };
  const clusters = statuses.map((s) => ({
    cluster: s.cluster,
    role: s.role,
    ...(s.stream && {
      stream: { state: s.stream.state, healthy: s.stream.healthy, failures: s.stream.failures },
    }),
    ...(s.lastError && { lastError: redact(s.lastError, secrets) }),
    ...(s.stream?.lastError && { streamError: redact(s.stream.lastError, secrets) }),
  }));
  if (lifecycle !== 'running') {
    const reason = lifecycle === 'starting' ? 'the bot is starting' : 'the bot is stopping';
    return {
      status: 503,
      body: { ok: false, reason, lifecycle, clusters, slack, ...(replica && { replica }) },
    };
  }
  return { status: 200, body: { ok: true, lifecycle, clusters, slack, ...(replica && { replica }) } };
}

/** Why Redis cannot be used right now, or undefined when a PING answers in time. */
export async function redisProblem(redis: Redis, timeoutMs = 2000): Promise<string | undefined> {
  // Not connected: a PING would sit in the offline queue, so answer from the connection state at once.
  if (redis.status !== 'ready') return `connection ${redis.status}`;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no PING reply within ${timeoutMs} ms`), timeoutMs);
  });
  try {
    return await Promise.race([
      redis.ping().then(
        () => undefined,
        (err: unknown) => (err instanceof Error ? err.message : String(err)),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

const send = (res: ServerResponse, answer: HealthAnswer) => sendJson(res, answer.status, answer.body);

/** The two endpoints as handlers, for the Bolt HTTPReceiver's customRoutes or a plain server. */
export function healthRoutes(sources: HealthSources) {
  const healthz = (_req: IncomingMessage, res: ServerResponse) =>
    void redisProblem(sources.redis, sources.redisTimeoutMs).then(
      (problem) => send(res, livenessAnswer(problem)),
      (err: unknown) => send(res, livenessAnswer(String(err))),
    );
  const readyz = (_req: IncomingMessage, res: ServerResponse) =>
    void (sources.slackPauses?.() ?? Promise.resolve([]))
      .catch(() => [] as OutboxPause[]) // Redis trouble shows in /healthz
      .then((pauses) =>
        send(
          res,
          readinessAnswer(
            sources.lifecycle(),
            sources.statuses(),
            sources.secrets,
            pauses,
            sources.replica?.(),
            sources.slackSocket?.(),
          ),
        ),
      );
  const routes: HealthRoute[] = [
    { path: '/healthz', method: ['GET'], handler: healthz },
    { path: '/readyz', method: ['GET'], handler: readyz },
  ];
  const metrics = sources.metrics;
  if (metrics) {
    const handler: RouteHandler = (_req, res) =>
      void metrics.scrape().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
          res.end(text);
        },
        (err: unknown) =>
          sendJson(res, 500, {
            ok: false,
            reason: redact(`metrics failed: ${String(err)}`, sources.secrets),
          }),
      );
    routes.push({ path: '/metrics', method: ['GET'], handler });
  }
  for (const mount of sources.mounts ?? []) {
    routes.push({ path: mount.path, method: MOUNT_METHODS, handler: mount.handler, prefix: true });
  }
  return routes;
}

const MOUNT_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** The routes in the form of Bolt's HTTPReceiver customRoutes (path-to-regexp 8 syntax for prefixes). */
export function boltCustomRoutes(routes: readonly HealthRoute[]) {
  return routes.map((r) => ({
    path: r.prefix ? `${r.path}{/*rest}` : r.path,
    method: r.method,
    handler: r.handler,
  }));
}

/** The route serving `path`, if any. */
export function findRoute(routes: readonly HealthRoute[], path: string): HealthRoute | undefined {
  return routes.find((r) => r.path === path || (r.prefix && path.startsWith(`${r.path}/`)));
}

export interface HealthServer {
  server: Server;
  /** e.g. http://127.0.0.1:3000 */
  url: string;
  close(): Promise<void>;
}

/** Socket Mode has no HTTP server of its own: this one serves the health routes (and /metrics, mounts). */
export async function startHealthServer(
  sources: HealthSources,
  listen: { host: string; port: number },
): Promise<HealthServer> {
  const routes = healthRoutes(sources);
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://health').pathname;
    const route = findRoute(routes, path);
    if (!route) return sendJson(res, 404, { ok: false, reason: `no route ${path}` });
    if (!route.method.includes(req.method ?? '')) {
      const allow = route.method.join(', ');
      return sendJson(res, 405, { ok: false, reason: `method ${req.method} not allowed` }, { allow });
    }
    route.handler(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${urlHost(listen.host)}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A host to put in a URL that reaches a server bound to `host` from this machine. */
export function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
