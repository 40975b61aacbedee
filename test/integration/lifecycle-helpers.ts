/**
 * Shared set-up of the lifecycle tests: the Kubernetes simulator, the Slack emulator over real HTTP with real
 * signatures, a real Redis, and the bot itself (startBot, HTTP receiver), plus readers of what people see.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { createRedis } from '../../src/coordination/redis-connection.js';
import { startBot, type Bot, type BotConfig } from '../../src/bot/start-bot.js';
import { parseClustersConfig } from '../../src/config/clusters.js';
import { loadEnv } from '../../src/config/env.js';
import { kubeClients } from '../../src/kube/clients.js';
import { loadRunbooks, shippedRunbooksDir } from '../../src/runbooks/load.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/sim/kube/simulator.js';
import { startSlackEmulator, type EmulatorMessage, type SlackEmulator } from '../../src/sim/slack/index.js';
import * as k8s from '@kubernetes/client-node';
import { deleteKeys, TEST_REDIS_URL } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

export const BOT_TOKEN = 'xoxb-lifecycle-test-token';
export const SIGNING_SECRET = 'lifecycle-test-signing-secret';

export interface Stack {
  sims: Map<string, Simulator>;
  slack: SlackEmulator;
  bot: Bot;
  redis: Redis;
  prefix: string;
  stop(): Promise<void>;
}

export interface ClusterSpec {
  name: string;
  channel: string;
  scenario: string;
  /** clusters.yaml entry fields beyond name, kubeconfig and channel. */
  extra?: Record<string, unknown>;
  sim?: Partial<SimulatorOptions>;
}

export async function startStack(
  clusters: ClusterSpec[],
  opts: {
    runbooksDir?: string;
    bot?: Partial<BotConfig>;
    /** Channels besides the clusters' own (e.g. one where people type commands). */
    extraChannels?: Array<{ id: string; name: string }>;
    /** Default: the test Redis (TEST_REDIS_URL). */
    redisUrl?: string;
  } = {},
): Promise<Stack> {
  const prefix = `t-life-${randomUUID().slice(0, 8)}`;
  const redisUrl = opts.redisUrl ?? TEST_REDIS_URL;
  // createRedis: the test Redis, or a Sentinel/Cluster URL (redis-ha.test.ts).
  const redis = createRedis(redisUrl);
  redis.on('error', () => undefined); // a Sentinel failover test kills the master under it
  const sims = new Map<string, Simulator>();
  for (const c of clusters) {
    sims.set(
      c.name,
      await startSimulator({
        scenario: c.scenario,
        port: 0,
        retryIntervalMs: 1000,
        startDelayMs: 10,
        ...c.sim,
      }),
    );
  }
  await Promise.all([...sims.values()].map((s) => s.settle()));
  const slack = await startSlackEmulator({
    signingSecret: SIGNING_SECRET,
    botToken: BOT_TOKEN,
    port: 0,
    // How long a click waits for the bot's response_url answers (it returns once they go quiet): room for a
    // loaded machine; Slack itself takes response_url posts for 30 minutes.
    responseWindowMs: 6000,
    // The bot's outbox here writes faster than Slack allows (to keep tests short): no Slack pacing.
    rateLimits: false,
    channels: [
      ...clusters.map((c) => ({ id: c.channel, name: `flannel-${c.name}` })),
      ...(opts.extraChannels ?? []),
    ],
  });
  const env = loadEnv(
    {
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_MODE: 'http',
      SLACK_API_URL: slack.apiUrl,
      REDIS_URL: redisUrl,
      FLANNEL_OPS_KEY_PREFIX: prefix,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
      // The simulated nodes run containerd: probes may list its sandboxes (opt-in in production).
      FLANNEL_OPS_PROBE_CRI_SOCKET_DIR: '/run/containerd',
    },
    { require: ['slack'] },
  );
  const config = parseClustersConfig({
    clusters: clusters.map((c) => ({
      name: c.name,
      kubeconfig: sims.get(c.name)!.kubeconfigPath,
      channel: c.channel,
      approvals: { approvers: { groups: ['oncall'] } },
      verification: { quietPeriodSeconds: 1 },
      ...c.extra,
    })),
  });
  const bot = await startBot({
    env,
    clusters: config.clusters,
    runbooks: loadRunbooks(opts.runbooksDir ?? shippedRunbooksDir()),
    httpPort: 0,
    httpHost: '127.0.0.1',
    watch: { flushIntervalMs: 20, streamOptions: { backoff: { baseMs: 100, maxMs: 1000 } } },
    outbox: { updateIntervalMs: 200, channelPacing: { intervalMs: 50, burst: 20 }, backoffMs: 200 },
    diagnosis: { probeDeadlineSeconds: 30 },
    lifecycle: { verifyIntervalMs: 300, ...opts.bot?.lifecycle },
    ...opts.bot,
  });
  slack.setRequestUrl(bot.requestUrl!);
  return {
    sims,
    slack,
    bot,
    redis,
    prefix,
    async stop() {
      await bot.stop();
      await slack.close();
      for (const sim of sims.values()) await sim.stop();
      await deleteKeys(redis, prefix).catch(() => undefined);
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

export const textOf = (m: EmulatorMessage) => `${m.text}\n${JSON.stringify(m.blocks ?? [])}`;

/** The incident root (the first top-level message of the bot with an incident id). */
export function incidentRoot(slack: SlackEmulator, channel: string): EmulatorMessage | undefined {
  return slack.messages(channel).find((m) => !m.ephemeral_to && /Incident `inc-/.test(textOf(m)));
}

export function replies(slack: SlackEmulator, channel: string): EmulatorMessage[] {
  return (incidentRoot(slack, channel)?.replies ?? []).filter((r) => !r.ephemeral_to);
}

/** The newest plan message (highest version) in the incident thread. */
export function planMessage(
  slack: SlackEmulator,
  channel: string,
  version?: number,
): EmulatorMessage | undefined {
  const plans = replies(slack, channel).filter((r) => /^Remediation plan v\d+/.test(r.text));
  if (version !== undefined) return plans.find((p) => p.text.startsWith(`Remediation plan v${version} `));
  return plans.sort((a, b) => planVersion(b) - planVersion(a))[0];
}

export function planVersion(m: EmulatorMessage): number {
  return Number(/^Remediation plan v(\d+)/.exec(m.text)?.[1] ?? 0);
}

export function buttonsOf(m: EmulatorMessage | undefined): string[] {
  return (m?.blocks ?? []).flatMap((b) =>
    (b as { type?: string; elements?: Array<{ action_id?: string }> }).type === 'actions'
      ? ((b as { elements: Array<{ action_id?: string }> }).elements ?? []).map((e) => e.action_id ?? '')
      : [],
  );
}

/** What the bot answered a click or command (its response_url posts and ack), as text. */
export function answerText(answer: { ack?: unknown; responses: unknown[] }): string {
  return JSON.stringify([answer.ack ?? null, ...answer.responses]);
}

export async function click(
  stack: Stack,
  channel: string,
  user: string,
  message: EmulatorMessage,
  actionId: string,
) {
  return stack.slack.click({ user, channel, ts: message.ts, action_id: actionId });
}

export function clientsOf(sim: Simulator) {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(sim.kubeconfigPath);
  return kubeClients(kc);
}

/** The cluster as kubectl would show it: is every Flannel pod ready, is any pod stuck in ContainerCreating? */
export async function clusterState(sim: Simulator): Promise<{ flannelReady: boolean; stuck: string[] }> {
  const kube = clientsOf(sim);
  const ds = (await kube.apps.listDaemonSetForAllNamespaces({ labelSelector: 'app=flannel' })).items;
  const flannelReady =
    ds.length > 0 &&
    ds.every(
      (d) =>
        (d.status?.desiredNumberScheduled ?? 0) > 0 &&
        d.status?.numberReady === d.status?.desiredNumberScheduled,
    );
  const pods = (await kube.core.listPodForAllNamespaces()).items;
  const stuck = pods
    .filter((p) =>
      [...(p.status?.containerStatuses ?? []), ...(p.status?.initContainerStatuses ?? [])].some(
        (c) => c.state?.waiting?.reason === 'ContainerCreating',
      ),
    )
    .map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`);
  return { flannelReady, stuck };
}

export async function waitForState(stack: Stack, cluster: string, state: string, timeoutMs = 60_000) {
  return waitFor(
    `an incident of ${cluster} in state ${state}`,
    async () => (await stack.bot.store.list({ cluster, limit: 5 })).find((i) => i.state === state),
    { timeoutMs, intervalMs: 200 },
  );
}
