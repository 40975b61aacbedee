/**
 * `flannel-ops demo`: the whole loop on this machine. The Kubernetes simulator acts out a failing
 * scenario, the real bot (HTTP receiver with real signatures, or Socket Mode over the emulator's WebSocket
 * with `socket`) watches it through the real client, and the local Slack emulator shows the incident thread
 * in a browser. The only place product code meets the stand-ins.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { startBot, type Bot } from '../bot/start-bot.js';
import { parseClustersConfig } from '../config/clusters.js';
import { configureLoggingFromEnv, loadEnv, redactRedisUrl } from '../config/env.js';
import { loadRunbooks } from '../runbooks/load.js';
import { startSimulator, type Simulator } from '../sim/kube/simulator.js';
import { elsewhereChannels, startSlackEmulator, type SlackEmulator } from '../sim/slack/index.js';
import { UserError } from '../util/errors.js';
import { deleteKeysUnder, redisAnswers, startPrivateRedis, type RedisHandle } from './private-redis.js';

export const DEMO_CLUSTER = 'demo';
export const DEMO_CHANNEL = 'C0DEMO';

export interface DemoOptions {
  scenario?: string;
  scenarioFile?: string;
  /** Port of the Slack emulator's page (0 = any free port). */
  port?: number;
  readyFile?: string;
  /** Run the bot in Socket Mode (the production default) instead of behind an HTTP receiver. */
  socket?: boolean;
  runbooksDir: string;
  /** The environment, for REDIS_URL and log settings. */
  env?: NodeJS.ProcessEnv;
  log?(line: string): void;
}

export interface Demo {
  slackUrl: string;
  kubeconfig: string;
  cluster: string;
  channel: string;
  /** How the bot talks to the emulator: 'http' (signed requests to its receiver) or 'socket'. */
  mode: 'http' | 'socket';
  redis: string;
  /** Every key of this run starts with `${keyPrefix}:`; they are deleted on stop. */
  keyPrefix: string;
  scenario: { name: string; rootCause: string; description: string };
  /** Resolves once the simulated cluster has booted (controllers and kubelets have nothing left to do but wait). */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

async function demoRedis(env: NodeJS.ProcessEnv): Promise<RedisHandle> {
  const configured = env.REDIS_URL?.trim();
  if (configured) {
    if (!(await redisAnswers(configured))) {
      throw new UserError(
        `REDIS_URL=${redactRedisUrl(configured)} does not answer PING; start it or unset REDIS_URL`,
      );
    }
    return { url: configured, source: 'REDIS_URL', stop: async () => {} };
  }
  try {
    return await startPrivateRedis();
  } catch (err) {
    const fallback = 'redis://127.0.0.1:6379';
    if (await redisAnswers(fallback))
      return {
        url: fallback,
        source: `${fallback} (redis-server could not be started)`,
        stop: async () => {},
      };
    throw new UserError(
      `the demo needs Redis: install redis-server (apt-get install redis-server) or set REDIS_URL (${(err as Error).message})`,
    );
  }
}

export async function startDemo(opts: DemoOptions): Promise<Demo> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => {});
  const stops: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s().catch(() => {});
  };
  // A prefix of its own per run, so a shared Redis never shows an old demo's incidents.
  const keyPrefix = `flannel-ops-demo-${randomBytes(3).toString('hex')}`;
  try {
    const redis = await demoRedis(env);
    stops.push(() => redis.stop());
    log(`redis: ${redis.source}`);
    // Runs after the bot stopped (stops run in reverse): a shared Redis keeps nothing of a demo run.
    if (redis.pid === undefined) stops.push(() => deleteKeysUnder(redis.url, keyPrefix));

    const sim: Simulator = await startSimulator({
      scenario: opts.scenario ?? (opts.scenarioFile ? undefined : 'flannel-missing'),
      scenarioFile: opts.scenarioFile,
      port: 0,
      contextName: DEMO_CLUSTER,
    });
    stops.push(() => sim.stop());
    log(`kubernetes simulator: ${sim.url} (scenario ${sim.scenario.name})`);

    // Fresh secrets per run: the emulator signs with the same secret the bot verifies.
    const signingSecret = randomBytes(16).toString('hex');
    const botToken = `xoxb-demo-${randomBytes(8).toString('hex')}`;
    const appToken = opts.socket ? `xapp-1-demo-${randomBytes(8).toString('hex')}` : undefined;
    const port = opts.port ?? 3100;
    const slack: SlackEmulator = await startSlackEmulator({
      port,
      signingSecret,
      botToken,
      ...(appToken && { appToken }),
      // Also places the bot is not in (#random, a private channel, a DM), to try /flannel from there.
      channels: [{ id: DEMO_CHANNEL, name: 'flannel-demo' }, ...elsewhereChannels()],
    }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE')
        throw new UserError(`port ${port} is in use: pass --port with a free port (0 picks one)`);
      throw err;
    });
    stops.push(() => slack.close());

    const botEnv = loadEnv(
      {
        SLACK_BOT_TOKEN: botToken,
        ...(appToken ? { SLACK_APP_TOKEN: appToken } : { SLACK_SIGNING_SECRET: signingSecret }),
        SLACK_MODE: appToken ? 'socket' : 'http',
        SLACK_API_URL: slack.apiUrl,
        REDIS_URL: redis.url,
        // The simulated nodes run containerd: let the probes list sandboxes, as an operator may opt in to.
        FLANNEL_OPS_PROBE_CRI_SOCKET_DIR: '/run/containerd',
        FLANNEL_OPS_KEY_PREFIX: keyPrefix,
        LOG_LEVEL: env.LOG_LEVEL ?? 'warn',
        LOG_FORMAT: env.LOG_FORMAT ?? 'plain',
      },
      { require: ['slack'] },
    );
    configureLoggingFromEnv(botEnv);
    const clusters = parseClustersConfig({
      clusters: [
        {
          name: DEMO_CLUSTER,
          kubeconfig: sim.kubeconfigPath,
          channel: DEMO_CHANNEL,
          approvals: { approvers: { users: [], groups: ['oncall'] } },
          // The on-call group is paged; a short quiet period so the demo resolves within a minute of the fix.
          paging: { notify: { groups: ['oncall'] } },
          verification: { quietPeriodSeconds: 10 },
        },
      ],
    }).clusters;
    const bot: Bot = await startBot({
      env: botEnv,
      clusters,
      runbooks: loadRunbooks(opts.runbooksDir),
      httpPort: 0,
      httpHost: '127.0.0.1',
    });
    stops.push(() => bot.stop());
    if (bot.requestUrl) {
      slack.setRequestUrl(bot.requestUrl);
      log(`bot: HTTP receiver at ${bot.requestUrl}`);
    } else {
      log(`bot: Socket Mode, connected to the emulator's WebSocket (health at ${bot.healthUrl})`);
    }

    const demo: Demo = {
      slackUrl: slack.url,
      kubeconfig: sim.kubeconfigPath,
      cluster: DEMO_CLUSTER,
      channel: DEMO_CHANNEL,
      mode: appToken ? 'socket' : 'http',
      redis: redis.url,
      keyPrefix,
      scenario: {
        name: sim.scenario.name,
        rootCause: sim.scenario.rootCause,
        description: sim.scenario.description,
      },
      settled: () => sim.settle(),
      stop,
    };
    if (opts.readyFile) {
      writeFileSync(
        opts.readyFile,
        `${JSON.stringify({ slack: demo.slackUrl, kubeconfig: demo.kubeconfig, cluster: demo.cluster, channel: demo.channel, mode: demo.mode, keyPrefix })}\n`,
      );
    }
    return demo;
  } catch (err) {
    await stop();
    throw err;
  }
}
