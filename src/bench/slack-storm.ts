import { randomBytes } from 'node:crypto';
import { startBot } from '../bot/start-bot.js';
import { parseClustersConfig } from '../config/clusters.js';
import { configureLoggingFromEnv, loadEnv } from '../config/env.js';
import { loadRunbooks, shippedRunbooksDir } from '../runbooks/load.js';
import { startSimulator } from '../sim/kube/simulator.js';
import { startSlackEmulator } from '../sim/slack/index.js';
import type { BenchOptions } from './run.js';

const CHANNEL = 'C0BENCH';

export interface SlackStormFigures {
  /** From the first storm event's creation to the incident's first chat.postMessage request. */
  first_post_ms: number;
  /** Every Web API call the whole bot made from the storm's start until the thread went quiet. */
  slack_calls: number;
  slack_posts: number;
  slack_updates: number;
}

const until = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

/**
 * The storm through the whole bot (watch, incident, diagnosis, outbox) into the Slack emulator: how soon the
 * incident is posted and how many Slack calls a storm costs. A healthy cluster, so the storm's first event is
 * the first failure the bot sees.
 */
export async function runSlackStormBench(
  opts: BenchOptions & { nodes: number; events: number },
): Promise<SlackStormFigures> {
  const sim = await startSimulator({ scenario: 'healthy', nodes: opts.nodes, port: 0, startDelayMs: 10 });
  const signingSecret = randomBytes(16).toString('hex');
  const botToken = `xoxb-bench-${randomBytes(6).toString('hex')}`;
  const slack = await startSlackEmulator({
    port: 0,
    signingSecret,
    botToken,
    channels: [{ id: CHANNEL, name: 'bench' }],
  });
  const prefix = `${opts.keyPrefix}-bench-${randomBytes(4).toString('hex')}`;
  let stopBot: (() => Promise<void>) | undefined;
  try {
    await sim.settle();
    const env = loadEnv(
      {
        SLACK_BOT_TOKEN: botToken,
        SLACK_SIGNING_SECRET: signingSecret,
        SLACK_MODE: 'http',
        SLACK_API_URL: slack.apiUrl,
        REDIS_URL: opts.redisUrl,
        FLANNEL_OPS_KEY_PREFIX: prefix,
        LOG_LEVEL: 'error',
      },
      { require: ['slack'] },
    );
    configureLoggingFromEnv(env);
    const clusters = parseClustersConfig({
      clusters: [{ name: 'bench', kubeconfig: sim.kubeconfigPath, channel: CHANNEL }],
    }).clusters;
    const bot = await startBot({
      env,
      clusters,
      runbooks: loadRunbooks(shippedRunbooksDir()),
      httpPort: 0,
      httpHost: '127.0.0.1',
    });
    stopBot = () => bot.stop();
    slack.setRequestUrl(bot.requestUrl!);
    await until('the bot to watch', () => bot.watch.statuses[0]?.stream?.state === 'watching', 30_000);

    opts.log(`slack storm: ${opts.events} events through the whole bot into the Slack emulator`);
    const start = Date.now();
    await sim.storm(opts.events);
    const during = () => slack.calls().filter((c) => c.at >= start);
    await until('the incident post', () => during().some((c) => c.method === 'chat.postMessage'), 30_000);
    const firstPost = during().find((c) => c.method === 'chat.postMessage')!.at;
    await until(
      'every storm event to be counted',
      async () => ((await bot.store.list({ cluster: 'bench' }))[0]?.counts.events ?? 0) >= opts.events,
      120_000,
    );
    // Quiet: the diagnosis has finished and nothing was written to Slack for two seconds.
    await until(
      'the thread to go quiet',
      async () => {
        const incident = (await bot.store.list({ cluster: 'bench' }))[0];
        const last = during().at(-1)?.at ?? start;
        return incident?.state !== 'open' && incident?.state !== 'diagnosing' && Date.now() - last > 2000;
      },
      120_000,
    );
    const calls = during();
    return {
      first_post_ms: firstPost - start,
      slack_calls: calls.length,
      slack_posts: calls.filter((c) => c.method === 'chat.postMessage').length,
      slack_updates: calls.filter((c) => c.method === 'chat.update').length,
    };
  } finally {
    await stopBot?.();
    await slack.close();
    await sim.stop();
    const { Redis } = await import('ioredis');
    const redis = new Redis(opts.redisUrl);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  }
}
