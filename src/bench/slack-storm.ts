import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { IncidentStore } from '../incidents/store.js';
import { startSimulator } from '../sim/kube/simulator.js';
import { startSlackEmulator } from '../sim/slack/index.js';
import type { BenchOptions } from './run.js';
import { freePort } from '../util/net.js';

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

/** The bot's /readyz: the watch of cluster "bench" is open. */
async function watching(url: string): Promise<boolean> {
  try {
    const res = await fetch(url);
    const body = (await res.json()) as { clusters?: Array<{ stream?: { state?: string } }> };
    return res.ok && body.clusters?.[0]?.stream?.state === 'watching';
  } catch {
    return false;
  }
}

/**
 * The storm through the whole bot into the Slack emulator: the real `flannel-ops run` (compiled, HTTP mode) in a
 * process of its own, so the simulator's and emulator's work does not share its event loop. Measures how soon
 * the incident is posted and how many Slack calls a storm costs. A healthy cluster, so the storm's first event
 * is the first failure the bot sees.
 */
export async function runSlackStormBench(
  opts: BenchOptions & { nodes: number; events: number; root: string },
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
  const dir = mkdtempSync(join(tmpdir(), 'flannel-ops-bench-bot-'));
  const redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: null });
  const store = new IncidentStore({ redis, prefix });
  let bot: ReturnType<typeof spawn> | undefined;
  let botStderr = '';
  try {
    await sim.settle();
    const clustersFile = join(dir, 'clusters.yaml');
    writeFileSync(
      clustersFile,
      `clusters:\n  - name: bench\n    kubeconfig: ${sim.kubeconfigPath}\n    channel: ${CHANNEL}\n`,
    );
    const port = await freePort();
    bot = spawn(
      process.execPath,
      [join(opts.root, 'bin', 'flannel-ops.js'), 'run', '--clusters', clustersFile],
      {
        cwd: opts.root,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: {
          ...process.env,
          FLANNEL_OPS_COMPILED: '1',
          SLACK_BOT_TOKEN: botToken,
          SLACK_SIGNING_SECRET: signingSecret,
          SLACK_MODE: 'http',
          SLACK_API_URL: slack.apiUrl,
          HTTP_HOST: '127.0.0.1',
          HTTP_PORT: String(port),
          REDIS_URL: opts.redisUrl,
          FLANNEL_OPS_KEY_PREFIX: prefix,
          LOG_LEVEL: 'error',
        },
      },
    );
    bot.stderr!.on('data', (d: Buffer) => (botStderr = (botStderr + d.toString()).slice(-2000)));
    const exited = () => bot?.exitCode !== null;
    await until(
      'the bot to watch',
      async () => {
        if (exited()) throw new Error(`bench: flannel-ops run exited: ${botStderr.trim()}`);
        return watching(`http://127.0.0.1:${port}/readyz`);
      },
      60_000,
    );
    slack.setRequestUrl(`http://127.0.0.1:${port}/slack/events`);

    opts.log(`slack storm: ${opts.events} events through flannel-ops run into the Slack emulator`);
    const start = Date.now();
    await sim.storm(opts.events);
    const during = () => slack.calls().filter((c) => c.at >= start);
    await until('the incident post', () => during().some((c) => c.method === 'chat.postMessage'), 30_000);
    const firstPost = during().find((c) => c.method === 'chat.postMessage')!.at;
    const incident = async () => (await store.list({ cluster: 'bench' }))[0];
    await until(
      'every storm event to be counted',
      async () => ((await incident())?.counts.events ?? 0) >= opts.events,
      120_000,
    );
    // Quiet: the diagnosis has finished and nothing was written to Slack for two seconds.
    await until(
      'the thread to go quiet',
      async () => {
        const state = (await incident())?.state;
        const last = during().at(-1)?.at ?? start;
        return state !== 'open' && state !== 'diagnosing' && Date.now() - last > 2000;
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
    if (bot && bot.exitCode === null) {
      bot.kill('SIGTERM');
      await new Promise((r) => bot!.once('exit', r));
    }
    await slack.close();
    await sim.stop();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}
