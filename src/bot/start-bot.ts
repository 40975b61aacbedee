/**
 * The composition root of `flannel-ops run`: detection (WatchService), diagnosis (DiagnosisService and
 * its workers), the Slack outbox worker, and the Bolt app (Socket Mode by default, or the HTTP receiver,
 * which verifies Slack's signatures and refuses requests older than 5 minutes).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import type { Redis } from 'ioredis';
import type { ClusterConfig } from '../config/clusters.js';
import type { EnvWithSlack } from '../config/env.js';
import { createRedis } from '../coordination/redis-connection.js';
import {
  DEFAULT_PROBE_DEADLINE_SECONDS,
  DEFAULT_PROBE_NAMESPACE,
  DiagnosisService,
} from '../diagnosis/service.js';
import { IncidentStore } from '../incidents/store.js';
import { kubeConfigForCluster } from '../kube/kubeconfig.js';
import type { Runbook } from '../runbooks/load.js';
import { IncidentThreads } from '../slack/incident-thread.js';
import { registerActions } from '../slack/listeners/actions.js';
import { registerCommands } from '../slack/listeners/commands.js';
import { outboxWebClient, SlackOutbox } from '../slack/outbox.js';
import { UserError } from '../util/errors.js';
import { log } from '../util/log.js';
import { WatchService, type WatchServiceOptions } from '../watch/watch-service.js';
import { kubeClientsFactory } from './kube-clients.js';

const logger = log.child({ module: 'bot' });

export interface BotConfig {
  env: EnvWithSlack;
  clusters: ClusterConfig[];
  runbooks: Runbook[];
  /** Overrides env.httpPort (0 = any free port, for tests). */
  httpPort?: number;
  httpHost?: string;
  outbox?: {
    updateIntervalMs?: number;
    channelPacing?: { intervalMs: number; burst: number };
    backoffMs?: number;
  };
  watch?: Pick<WatchServiceOptions, 'flushIntervalMs' | 'streamOptions' | 'resolvePollMs'>;
  diagnosis?: {
    retry?: { attempts?: number; backoffMs?: number };
    checkTimeoutMs?: number;
    probeDeadlineSeconds?: number;
  };
}

export interface Bot {
  app: App;
  /** HTTP mode: the receiver's endpoint, e.g. http://127.0.0.1:3000/slack/events. */
  requestUrl?: string;
  botUserId: string;
  store: IncidentStore;
  outbox: SlackOutbox;
  threads: IncidentThreads;
  watch: WatchService;
  diagnosis: DiagnosisService;
  /** Graceful: stop watching and taking requests, let workers finish their jobs, close connections. */
  stop(): Promise<void>;
}

export async function startBot(config: BotConfig): Promise<Bot> {
  const { env, clusters, runbooks } = config;
  const prefix = env.keyPrefix;
  const redis: Redis = createRedis(env.redisUrl);
  const bullConnection: Redis = createRedis(env.redisUrl, { maxRetriesPerRequest: null });
  for (const conn of [redis, bullConnection]) conn.on('error', (err) => logger.debug('redis error', { err }));
  const closers: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const close of closers.splice(0).reverse()) {
      await close().catch((err) => logger.warn('error while stopping', { err }));
    }
  };
  closers.push(async () => {
    await redis.quit().catch(() => redis.disconnect());
    await bullConnection.quit().catch(() => bullConnection.disconnect());
  });

  try {
    const client = outboxWebClient(env.slackBotToken, env.slackApiUrl);
    const auth = await client.auth.test().catch((err: { data?: { error?: string }; message?: string }) => {
      throw new UserError(
        `Slack refused the bot token (auth.test: ${err?.data?.error ?? err?.message ?? 'failed'}): check SLACK_BOT_TOKEN${env.slackApiUrl ? ' and SLACK_API_URL' : ''}`,
      );
    });
    const botUserId = String(auth.user_id ?? '');
    const botId = String(auth.bot_id ?? '');

    const store = new IncidentStore({ redis, prefix });
    const diagnosis = new DiagnosisService({
      redis,
      prefix,
      store,
      runbooks,
      clients: kubeClientsFactory(clusters),
      probe: {
        namespace: DEFAULT_PROBE_NAMESPACE,
        image: env.probeImage,
        concurrency: Math.max(1, ...clusters.map((c) => c.remediation.probeConcurrency)),
        deadlineSeconds: config.diagnosis?.probeDeadlineSeconds ?? DEFAULT_PROBE_DEADLINE_SECONDS,
      },
      ...(config.diagnosis?.retry && { retry: config.diagnosis.retry }),
      ...(config.diagnosis?.checkTimeoutMs && { checkTimeoutMs: config.diagnosis.checkTimeoutMs }),
    });
    closers.push(() => diagnosis.close());

    const outbox = new SlackOutbox({
      redis,
      bullConnection,
      prefix,
      client,
      ...config.outbox,
      // threads is created right below; posts only complete once the worker runs.
      onPosted: (key, where) => void threads.onPosted(key, where),
    });
    closers.push(() => outbox.close());
    const threads = new IncidentThreads({ outbox, store, diagnosis, redis, prefix, clusters, runbooks });
    threads.attach();
    await diagnosis.waitUntilReady();
    await outbox.start();

    const watch = new WatchService({
      clusters,
      runbooks,
      store,
      kubeConfigFor: kubeConfigForCluster,
      election: { redis, keyPrefix: prefix },
      ...config.watch,
      onIncident: (e) =>
        void threads
          .onIncident(e)
          .catch((err) => logger.warn('incident rendering failed', { incident: e.incident.id, err })),
      onStatus: (s) => logger.info('cluster watch', { cluster: s.cluster, role: s.role, error: s.lastError }),
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
    if (env.slackMode === 'http') {
      const receiver = new HTTPReceiver({
        signingSecret: env.slackSigningSecret!,
        endpoints: '/slack/events',
        logLevel: LogLevel.ERROR,
      });
      app = new App({ ...common, receiver });
      register(app);
      const host = config.httpHost ?? '127.0.0.1';
      const server = (await receiver.start({
        port: config.httpPort ?? env.httpPort,
        host,
      } as never)) as Server;
      const port = (server.address() as AddressInfo).port;
      requestUrl = `http://${host}:${port}/slack/events`;
      closers.push(() => receiver.stop());
      logger.info('slack HTTP receiver listening', { url: requestUrl });
    } else {
      app = new App({ ...common, appToken: env.slackAppToken, socketMode: true });
      register(app);
      await app.start();
      closers.push(() => app.stop());
      logger.info('slack socket mode connected');
    }
    app.error(async (err) => logger.warn('slack listener error', { err }));

    watch.start();
    closers.push(() => watch.stop());

    function register(target: App) {
      registerCommands(target, {
        clusters: clusters.map((c) => c.name),
        store,
        threads: threads,
        outbox,
        statuses: () => watch.statuses,
      });
      registerActions(target, { threads: threads, outbox });
    }

    return { app, requestUrl, botUserId, store, outbox, threads, watch, diagnosis, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
