/**
 * The composition root of `flannel-ops run`: detection (WatchService), diagnosis (DiagnosisService and
 * its workers), the Slack outbox worker, and the Bolt app (Socket Mode by default, or the HTTP receiver,
 * which verifies Slack's signatures and refuses requests older than 5 minutes).
 */
import type { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, LogLevel } from '@slack/bolt';
import type { Redis } from 'ioredis';
import type { ClusterConfig } from '../config/clusters.js';
import { envSecrets, type EnvWithSlack } from '../config/env.js';
import { createRedis, trackConnections } from '../coordination/redis-connection.js';
import { waitForRedis } from '../coordination/redis-startup.js';
import { DEFAULT_PROBE_DEADLINE_SECONDS, DiagnosisService } from '../diagnosis/service.js';
import { IncidentStore } from '../incidents/store.js';
import { kubeConfigForCluster } from '../kube/kubeconfig.js';
import type { Runbook } from '../runbooks/load.js';
import { IncidentLifecycle } from '../lifecycle/coordinator.js';
import { RedisStreamSink } from '../lifecycle/event-stream.js';
import { backupFlannelNow, BackupStore, DEFAULT_BACKUPS_KEPT } from '../remediations/backups.js';
import { ClusterSchedules } from '../lifecycle/schedules.js';
import { SlackDirectory } from '../slack/directory.js';
import { registerActions } from '../slack/listeners/actions.js';
import { registerCommands } from '../slack/listeners/commands.js';
import { outboxWebClient, SlackOutbox } from '../slack/outbox.js';
import { createSlackReceiver } from '../slack/receiver.js';
import { slackStartupError } from '../slack/startup-errors.js';
import { SlackThreadSink } from '../slack/thread-sink.js';
import { log } from '../util/log.js';
import { listenUserError } from '../util/net.js';
import { WatchService, type WatchServiceOptions } from '../watch/watch-service.js';
import {
  boltCustomRoutes,
  healthRoutes,
  redisProblem,
  startHealthServer,
  urlHost,
  type BotLifecycle,
  type HealthSources,
  type SlackSocketState,
} from './health.js';
import { BotMetrics, METRICS_CONTENT_TYPE } from '../observability/metrics.js';
import { botQueues } from '../observability/queues.js';
import { kubeClientsFactory } from '../kube/clients.js';
import { startPodGarbageCollector, type PodGarbageCollector } from '../kube/pod-gc.js';
import { PROBE_APP_LABEL } from '../checks/probe/pod.js';
import { ACTION_APP_LABEL } from '../remediations/node-pod.js';

const logger = log.child({ module: 'bot' });

export interface BotConfig {
  env: EnvWithSlack;
  clusters: ClusterConfig[];
  runbooks: Runbook[];
  /** Overrides env.httpPort (0 = any free port, for tests). */
  httpPort?: number;
  /** Overrides env.httpHost (the demo and tests pass 127.0.0.1). */
  httpHost?: string;
  outbox?: {
    updateIntervalMs?: number;
    channelPacing?: { intervalMs: number; burst: number };
    backoffMs?: number;
    maxPauseMs?: number;
  };
  watch?: Pick<WatchServiceOptions, 'flushIntervalMs' | 'streamOptions'>;
  /** Leftover probe/action pod collection (defaults: 120 s past a pod's deadline, every 5 min). */
  podGc?: { graceSeconds?: number; intervalMs?: number };
  diagnosis?: {
    retry?: { attempts?: number; backoffMs?: number };
    checkTimeoutMs?: number;
    probeDeadlineSeconds?: number;
  };
  lifecycle?: { reconcileIntervalMs?: number; verifyIntervalMs?: number; now?: () => number };
  /** Tests: every configured schedule runs every this many ms instead of its cron expression. */
  schedules?: { everyMs?: number };
  /**
   * How long stop() closes gracefully before it closes every Redis connection forcibly (default 25 s: active
   * diagnosis jobs get 15 s plus a cancel grace, and Kubernetes kills the pod 30 s after SIGTERM).
   */
  stopTimeoutMs?: number;
}

export const DEFAULT_STOP_TIMEOUT_MS = 25_000;
/** After the forced close, how long the remaining stop steps may still take before they are left behind. */
const FORCED_GRACE_MS = 3000;

/** True when `promise` settled within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface Bot {
  app: App;
  /** HTTP mode: the receiver's endpoint, e.g. http://127.0.0.1:3000/slack/events. */
  requestUrl?: string;
  /** Base URL of the server answering GET /healthz and /readyz (both modes), e.g. http://127.0.0.1:3000. */
  healthUrl: string;
  botUserId: string;
  store: IncidentStore;
  outbox: SlackOutbox;
  lifecycle: IncidentLifecycle;
  watch: WatchService;
  diagnosis: DiagnosisService;
  /** This bot's Prometheus registry (served at GET /metrics). */
  metrics: BotMetrics;
  /**
   * Graceful: stop watching and taking requests, let workers finish their jobs, close connections. Bounded:
   * past stopTimeoutMs every Redis connection is closed forcibly (a dead or frozen server never answers the
   * QUIT a graceful close waits for), so it ends within about stopTimeoutMs + a few seconds.
   */
  stop(): Promise<void>;
}

export async function startBot(config: BotConfig): Promise<Bot> {
  const { env, clusters, runbooks } = config;
  const prefix = env.keyPrefix;
  const listen = { host: config.httpHost ?? env.httpHost, port: config.httpPort ?? env.httpPort };
  await waitForRedisAtStartup(env, listen);
  const redis: Redis = createRedis(env.redisUrl);
  const bullConnection: Redis = createRedis(env.redisUrl, { maxRetriesPerRequest: null });
  for (const conn of [redis, bullConnection]) conn.on('error', (err) => logger.debug('redis error', { err }));
  const closers: Array<() => Promise<unknown>> = [];
  let phase: BotLifecycle = 'starting';
  let watch: WatchService | undefined;
  const metrics = new BotMetrics();
  const health: HealthSources = {
    redis,
    lifecycle: () => phase,
    statuses: () => watch?.statuses ?? [],
    replica: () => watch?.replica,
    secrets: envSecrets(env),
    metrics: { contentType: METRICS_CONTENT_TYPE, scrape: () => metrics.scrape() },
  };
  // Every connection the bot's parts open is one of these or duplicated from them (BullMQ duplicates its own).
  const connections = trackConnections([redis, bullConnection]);
  const stopTimeoutMs = config.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
  const closeAll = async () => {
    phase = 'stopping';
    const deadline = Date.now() + stopTimeoutMs;
    const steps = closers.splice(0).reverse();
    const run = (close: () => Promise<unknown>) =>
      close().catch((err) => logger.warn('error while stopping', { err }));
    while (steps.length > 0) {
      const close = steps.shift()!;
      const step = run(close);
      if (await settlesWithin(step, deadline - Date.now())) continue;
      // Typically a close waiting on a master that died (its reconnects) or stopped answering (its QUIT):
      // closing the connections fails what waits on them. The steps left run at once, each already late.
      logger.warn('graceful stop ran out of time; closing the Redis connections forcibly', {
        stopTimeoutMs,
        waitingOn: close.toString().slice(0, 80),
      });
      connections.closeForGood();
      const pending = new Set<string>();
      const rest = [[close, step] as const, ...steps.splice(0).map((c) => [c, run(c)] as const)].map(
        ([c, p]) => {
          const name = c.toString().slice(0, 80);
          pending.add(name);
          return p.finally(() => pending.delete(name));
        },
      );
      if (!(await settlesWithin(Promise.all(rest), FORCED_GRACE_MS)))
        logger.warn('stop steps still running after the forced close; not waiting for them', {
          graceMs: FORCED_GRACE_MS,
          steps: [...pending],
        });
    }
    // Nothing left connected or reconnecting in the background (it would keep the process up).
    connections.closeForGood();
  };
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= closeAll());
  closers.push(async () => {
    await redis.quit().catch(() => redis.disconnect());
    await bullConnection.quit().catch(() => bullConnection.disconnect());
  });

  try {
    const client = outboxWebClient(env.slackBotToken, env.slackApiUrl);
    const auth = await client.auth.test().catch((err: unknown) => {
      throw slackStartupError(err, 'auth.test', 'SLACK_BOT_TOKEN', env.slackApiUrl);
    });
    const botUserId = String(auth.user_id ?? '');
    const botId = String(auth.bot_id ?? '');

    const store = new IncidentStore({ redis, prefix });
    const queues = botQueues(bullConnection, prefix);
    closers.push(() => queues.close());
    metrics.setSources({
      activeIncidents: () => store.list({ state: 'active', limit: 10_000 }),
      queues: queues.all,
      redisProblem: () => redisProblem(redis, 1000),
      statuses: () => watch?.statuses ?? [],
    });
    if (env.admin) {
      // Loaded only when turned on: Bull Board and its UI are the heaviest modules of the bot.
      const { QUEUE_BOARD_PATH, queueBoardHandler } = await import('../observability/queue-board.js');
      health.mounts = [{ path: QUEUE_BOARD_PATH, handler: queueBoardHandler(queues.all, env.admin) }];
    }
    const diagnosis = new DiagnosisService({
      redis,
      prefix,
      store,
      runbooks,
      clients: kubeClientsFactory(clusters, { shareReads: true }),
      probe: {
        namespace: env.probeNamespace,
        image: env.probeImage,
        ...(env.probeCriSocketDir && { criSocketDir: env.probeCriSocketDir }),
        // Each cluster is capped at its probeConcurrency across replicas; the process has room for several.
        concurrency: Math.min(
          50,
          clusters.reduce((n, c) => n + c.remediation.probeConcurrency, 0),
        ),
        clusterLimit: (cluster: string) =>
          clusters.find((c) => c.name === cluster)?.remediation.probeConcurrency,
        deadlineSeconds: config.diagnosis?.probeDeadlineSeconds ?? DEFAULT_PROBE_DEADLINE_SECONDS,
      },
      ...(config.diagnosis?.retry && { retry: config.diagnosis.retry }),
      ...(config.diagnosis?.checkTimeoutMs && { checkTimeoutMs: config.diagnosis.checkTimeoutMs }),
      observer: metrics.diagnosis,
    });

    const outbox = new SlackOutbox({
      redis,
      bullConnection,
      prefix,
      client,
      maxPauseMs: env.slackMaxRetryAfterMs,
      ...metrics.slack,
      ...config.outbox,
    });
    closers.push(() => outbox.close());
    health.slackPauses = () => outbox.pauses();
    const keepOf = (c: string) => clusters.find((x) => x.name === c)?.backups.keep ?? DEFAULT_BACKUPS_KEPT;
    const backups = new BackupStore(redis, prefix, keepOf);
    const lifecycle = new IncidentLifecycle({
      redis,
      bullConnection,
      prefix,
      store,
      diagnosis,
      clusters,
      runbooks,
      clients: kubeClientsFactory(clusters),
      nodeActions: { namespace: env.probeNamespace, image: env.probeImage },
      directory: new SlackDirectory(client),
      backups,
      onClick: metrics.click,
      ...config.lifecycle,
    });
    lifecycle.addSink(
      new SlackThreadSink({
        outbox,
        clusters,
        runbooks,
        issueButton: (target) => lifecycle.issueButton(target),
      }),
    );
    lifecycle.addSink(new RedisStreamSink(redis, prefix));
    lifecycle.addSink(metrics.sink);
    closers.push(() => lifecycle.close());
    // Stop order (closers run in reverse): inputs, then diagnoses and in-flight incident handling, then the
    // lifecycle and the outbox they feed, then Redis.
    const handling = inFlight();
    closers.push(() => handling.settled());
    closers.push(() => diagnosis.close());
    diagnosis.on('progress', (p) => void lifecycle.progress(p));
    await diagnosis.waitUntilReady();
    await outbox.start();
    await lifecycle.start();
    // clusters.yaml `schedule:` and `backups.schedule`: BullMQ job schedulers, each run done by one replica.
    const kube = kubeClientsFactory(clusters);
    const schedules = new ClusterSchedules({
      bullConnection,
      prefix,
      clusters,
      lifecycle,
      backup: (c) => backupFlannelNow(kube(c), backups, c, 'scheduled backup'),
      ...(config.schedules?.everyMs && { everyMs: config.schedules.everyMs }),
    });
    closers.push(() => schedules.close());
    await schedules.start();

    watch = new WatchService({
      clusters,
      runbooks,
      store,
      kubeConfigFor: kubeConfigForCluster,
      election: { redis, keyPrefix: prefix },
      ...config.watch,
      observer: metrics.watch,
      onIncident: (e) =>
        void handling.track(
          lifecycle
            .detected(e)
            .catch((err) => logger.warn('incident handling failed', { incident: e.incident.id, err })),
        ),
      onStatus: (s) => {
        metrics.status(s);
        logger.info('cluster watch', { cluster: s.cluster, role: s.role, error: s.lastError });
      },
      onReplica: (r) => logger.info('hub replica', { ...r }),
      onError: (cluster, err) => logger.debug('watch error', { cluster, err }),
    });

    const clientOptions = env.slackApiUrl ? { slackApiUrl: env.slackApiUrl } : {};
    const common = {
      token: env.slackBotToken,
      botId,
      botUserId,
      tokenVerificationEnabled: false, // auth.test ran above
      clientOptions,
      logLevel: LogLevel.ERROR,
    };
    let app: App;
    let requestUrl: string | undefined;
    let healthUrl: string;
    if (env.slackMode === 'http') {
      const receiver = createSlackReceiver({
        signingSecret: env.slackSigningSecret!,
        customRoutes: boltCustomRoutes(healthRoutes(health)),
      });
      app = new App({ ...common, receiver });
      register(app);
      const server = (await receiver.start(listen as never)) as Server;
      const port = (server.address() as AddressInfo).port;
      healthUrl = `http://${urlHost(listen.host)}:${port}`;
      requestUrl = `${healthUrl}/slack/events`;
      closers.push(() => receiver.stop());
      logger.info('slack HTTP receiver listening', { url: requestUrl, host: listen.host });
    } else {
      // Socket Mode opens no port for Slack; the health endpoints get a server of their own.
      const healthServer = await startHealthServer(health, listen);
      closers.push(() => healthServer.close());
      healthUrl = healthServer.url;
      logger.info('health endpoints listening', { url: healthUrl, host: listen.host });
      app = new App({ ...common, appToken: env.slackAppToken, socketMode: true });
      trackSocket(app, health);
      register(app);
      await app.start().catch((err: unknown) => {
        throw slackStartupError(err, 'apps.connections.open', 'SLACK_APP_TOKEN', env.slackApiUrl);
      });
      closers.push(() => app.stop());
      logger.info('slack socket mode connected');
    }
    app.error(async (err) => logger.warn('slack listener error', { err }));

    const podGc = startManagedPodGc(clusters, env.probeNamespace, config.podGc);
    closers.push(() => podGc.stop());

    const started = watch;
    started.start();
    closers.push(() => started.stop());
    phase = 'running';

    function register(target: App) {
      const channelOf = (name: string) => clusters.find((c) => c.name === name)?.channel;
      registerCommands(target, {
        clusters: clusters.map((c) => c.name),
        store,
        lifecycle,
        channelOf,
        statuses: () => watch?.statuses ?? [],
      });
      registerActions(target, { lifecycle, channelOf });
    }

    return {
      app,
      requestUrl,
      healthUrl,
      botUserId,
      store,
      outbox,
      lifecycle,
      watch: started,
      diagnosis,
      metrics,
      stop,
    };
  } catch (err) {
    await stop();
    throw listenUserError(err, listen) ?? err;
  }
}

/** Permanent Redis problems end the start at once; transient ones are retried while /healthz says why. */
async function waitForRedisAtStartup(
  env: EnvWithSlack,
  listen: { host: string; port: number },
): Promise<void> {
  await waitForRedis(env.redisUrl, {
    timeoutMs: env.redisStartupTimeoutMs,
    listen,
    onWaiting: (reason, attempt) => logger.warn('waiting for Redis', { reason, attempt }),
  });
}

/** Promises still running (incident handling), so stop() waits for them before closing what they use. */
function inFlight() {
  const pending = new Set<Promise<unknown>>();
  return {
    track(p: Promise<unknown>) {
      pending.add(p);
      void p.finally(() => pending.delete(p));
    },
    async settled() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}

/** Deletes probe and action pods left behind (a crash mid-diagnosis, a node that never ran them). */
function startManagedPodGc(
  clusters: readonly ClusterConfig[],
  namespace: string,
  options: BotConfig['podGc'] = {},
): PodGarbageCollector {
  const clients = kubeClientsFactory(clusters);
  return startPodGarbageCollector({
    targets: clusters.map((c) => ({
      cluster: c.name,
      core: () => clients(c.name).core,
    })),
    namespace,
    appNames: [PROBE_APP_LABEL, ACTION_APP_LABEL],
    ...options,
    onResult: (cluster, { deleted, errors }) => {
      if (deleted.length) logger.info('deleted leftover flannel-ops pods', { cluster, pods: deleted });
      for (const error of errors) logger.warn('leftover pod collection failed', { cluster, error });
    },
  });
}

/** Follows the Socket Mode client's state (connecting, connected, reconnecting...) for /readyz. */
function trackSocket(app: App, health: HealthSources): void {
  // Bolt keeps its SocketModeReceiver private; its client is an EventEmitter of @slack/socket-mode's states.
  const client = (app as unknown as { receiver?: { client?: EventEmitter } }).receiver?.client;
  if (!client) return;
  let socket: SlackSocketState = { state: 'connecting', since: new Date().toISOString() };
  const set = (state: SlackSocketState['state']) => {
    if (socket.state !== state) socket = { state, since: new Date().toISOString() };
    if (state !== 'connected') logger.info('slack socket', { state });
  };
  client.on('connected', () => set('connected'));
  // 'close': the WebSocket went away; the client waits a few seconds before it emits 'reconnecting'.
  client.on('close', () => set('reconnecting'));
  client.on('reconnecting', () => set('reconnecting'));
  client.on('disconnected', () => set('disconnected'));
  health.slackSocket = () => socket;
}
