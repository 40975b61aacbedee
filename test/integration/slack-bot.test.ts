/**
 * The bot end to end in HTTP mode: the Kubernetes simulator (flannel-missing) -> watch -> incident ->
 * diagnosis (BullMQ, real checks and probes) -> outbox -> the Slack emulator over real HTTP with real
 * signatures. Assertions read what the emulator stored, as a person in the channel would see it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { startBot, type Bot } from '../../src/bot/start-bot.js';
import { parseClustersConfig } from '../../src/config/clusters.js';
import { loadEnv } from '../../src/config/env.js';
import { loadRunbooks, shippedRunbooksDir } from '../../src/runbooks/load.js';
import { startSimulator, type Simulator } from '../../src/sim/kube/simulator.js';
import {
  signSlackRequest,
  startSlackEmulator,
  type EmulatorMessage,
  type SlackEmulator,
} from '../../src/sim/slack/index.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const BOT_TOKEN = 'xoxb-test-bot-token';
const SIGNING_SECRET = 'bot-test-signing-secret';
const CHANNEL = 'C0DEMO';
const prefix = `t-slackbot-${randomUUID().slice(0, 8)}`;
const HOSTILE_POD = 'web-<!channel>-x';
const HOSTILE_TAIL = '<!channel> <https://example.com|click> <@UALICE>';

let sim: Simulator;
let slack: SlackEmulator;
let bot: Bot;
let redis: Redis;

const text = (m: EmulatorMessage) => `${m.text}\n${JSON.stringify(m.blocks ?? [])}`;
const everything = () =>
  slack
    .messages(CHANNEL)
    .flatMap((m) => [m, ...m.replies])
    .map(text)
    .join('\n');
const incidentRoots = () => slack.messages(CHANNEL).filter((m) => /Incident `inc-/.test(text(m)));
const reportRoots = () => slack.messages(CHANNEL).filter((m) => m.text.startsWith('Diagnosis of demo'));

beforeAll(async () => {
  redis = new Redis(TEST_REDIS_URL);
  sim = await startSimulator({
    scenario: 'flannel-missing',
    port: 0,
    retryIntervalMs: 3_600_000,
    startDelayMs: 10,
  });
  await sim.settle();
  // A hostile event: mrkdwn controls in the pod name and the message, with a count that makes it the sample.
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  sim.store.create({
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'hostile.1', namespace: 'default' },
    involvedObject: {
      kind: 'Pod',
      namespace: 'default',
      name: HOSTILE_POD,
      uid: randomUUID(),
      apiVersion: 'v1',
    },
    reason: 'FailedCreatePodSandBox',
    message: `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "0123abcd": plugin type="flannel" failed (add): loadFlannelSubnetEnv failed: open /run/flannel/subnet.env: no such file or directory ${HOSTILE_TAIL}`,
    source: { component: 'kubelet', host: 'worker-1' },
    firstTimestamp: now,
    lastTimestamp: now,
    count: 100_000,
    type: 'Warning',
  });

  // The emulator returns a click's answers once the bot's response_url posts go quiet; the window only bounds
  // the wait on a loaded machine (Slack itself accepts response_url posts for 30 minutes).
  slack = await startSlackEmulator({
    signingSecret: SIGNING_SECRET,
    botToken: BOT_TOKEN,
    port: 0,
    responseWindowMs: 5000,
    // This bot's outbox writes faster than Slack allows (to keep the test short): no Slack pacing here.
    rateLimits: false,
  });
  const env = loadEnv(
    {
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_MODE: 'http',
      SLACK_API_URL: slack.apiUrl,
      REDIS_URL: TEST_REDIS_URL,
      FLANNEL_OPS_KEY_PREFIX: prefix,
      LOG_LEVEL: 'error',
    },
    { require: ['slack'] },
  );
  const clusters = parseClustersConfig({
    clusters: [
      {
        name: 'demo',
        kubeconfig: sim.kubeconfigPath,
        channel: CHANNEL,
        approvals: { approvers: { groups: ['oncall'] } },
      },
    ],
  }).clusters;
  bot = await startBot({
    env,
    clusters,
    runbooks: loadRunbooks(shippedRunbooksDir()),
    httpPort: 0,
    httpHost: '127.0.0.1',
    watch: { flushIntervalMs: 20, streamOptions: { backoff: { baseMs: 100, maxMs: 1000 } } },
    outbox: { updateIntervalMs: 300, channelPacing: { intervalMs: 100, burst: 10 }, backoffMs: 200 },
  });
  slack.setRequestUrl(bot.requestUrl!);
}, 60_000);

afterAll(async () => {
  await bot?.stop();
  await slack?.close();
  await sim?.stop();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

describe('the bot against the simulator and the Slack emulator', () => {
  it('posts the incident once, shows the diagnosis completing, the verdict and the plan', async () => {
    const root = await waitFor('the incident root message', () => incidentRoots()[0], { timeoutMs: 30_000 });
    expect(text(root)).toContain('demo');
    const verdict = await waitFor(
      'the verdict in the thread',
      () => incidentRoots()[0]?.replies.find((r) => /Verdict/.test(text(r))),
      { timeoutMs: 60_000 },
    );
    expect(text(verdict)).toContain('flannel-not-deployed');
    expect(text(verdict)).toContain('rerun-diagnosis');
    const plan = await waitFor('the plan in the thread', () =>
      incidentRoots()[0]?.replies.find((r) => /^Remediation plan v1/.test(r.text)),
    );
    expect(text(plan)).toMatch(/Step 1\./);
    expect(text(plan)).toMatch(/(low|medium|high) risk/);

    // The checks message ends with every check finished (no pending or running marker left).
    const checks = await waitFor('the checks message to finish', () =>
      incidentRoots()[0]?.replies.find(
        (r) =>
          r.text.startsWith('Diagnosis of demo: done') &&
          !/:white_circle:|:hourglass_flowing_sand:/.test(text(r)),
      ),
    );
    expect(text(checks)).toContain('`node-subnet-env`');

    await waitFor('the root to show the incident awaiting approval', () =>
      /Awaiting approval.*Needs 2 approvals/.test(incidentRoots()[0]?.text ?? ''),
    );
    expect(incidentRoots()).toHaveLength(1);
  });

  it('escapes hostile text from the cluster', async () => {
    await waitFor('the hostile event in the root message', () => everything().includes('&lt;!channel&gt;'), {
      timeoutMs: 30_000,
    });
    const all = everything();
    expect(all).toContain('&lt;https://example.com|click&gt;');
    expect(all).not.toContain('<!channel>');
    expect(all).not.toContain('<https://example.com|click>');
    expect(all).not.toContain('<@UALICE>');
  });

  it('`/flannel diagnose demo` posts a second report in a thread', async () => {
    const answer = await slack.command({ user: 'UALICE', channel: CHANNEL, text: '/flannel diagnose demo' });
    expect(answer.status).toBe(200);
    expect(JSON.stringify(answer.ack)).toMatch(
      /Running the diagnosis of `demo`… the report appears in <#C0DEMO>/,
    );
    const report = await waitFor('the report root', () => reportRoots()[0], { timeoutMs: 30_000 });
    expect(text(report)).toContain('<@UALICE>');
    const verdict = await waitFor(
      'the report verdict',
      () => reportRoots()[0]?.replies.find((r) => /Verdict/.test(text(r))),
      { timeoutMs: 60_000 },
    );
    expect(text(verdict)).toContain('flannel-not-deployed');
    await waitFor('the report root to say problems were found', () =>
      /problems found/.test(reportRoots()[0].text),
    );
    expect(incidentRoots()).toHaveLength(1);
  });

  it('"Re-run diagnosis" runs it again in the same thread; an unknown button id changes nothing and says why', async () => {
    const root = incidentRoots()[0];
    const verdicts = () => incidentRoots()[0].replies.filter((r) => /Verdict/.test(text(r)));
    const before = verdicts().length;
    // Bob is an approver (@oncall): a re-run while the plan awaits approval is his to make.
    const answer = await slack.click({
      user: 'UBOB',
      channel: CHANNEL,
      ts: verdicts()[0].ts,
      action_id: 'rerun-diagnosis',
    });
    expect(answer.status).toBe(200);
    expect(JSON.stringify(answer.responses)).toMatch(/Re-running the diagnosis/);
    await waitFor('a second verdict in the incident thread', () => verdicts().length === before + 1, {
      timeoutMs: 60_000,
    });
    expect(incidentRoots()).toHaveLength(1);
    expect(incidentRoots()[0].ts).toBe(root.ts);

    const stale = await slack.click({
      user: 'UMALLORY',
      channel: CHANNEL,
      ts: verdicts()[0].ts,
      action_id: 'rerun-diagnosis',
      value: 'ffffffffffffffffffffffff',
    });
    expect(stale.status).toBe(200);
    // The answer comes after the lifecycle refused: nothing was started.
    expect(JSON.stringify(stale.responses)).toMatch(/This button has expired/);
    expect(verdicts()).toHaveLength(before + 1);
  });

  it('answers unknown clusters and subcommands with an ephemeral listing the clusters', async () => {
    for (const line of ['/flannel diagnose nope', '/flannel frobnicate', '/flannel diagnose']) {
      const answer = await slack.command({ user: 'UBOB', channel: CHANNEL, text: line });
      expect(answer.status).toBe(200);
      const ack = answer.ack as { response_type?: string; text?: string };
      expect(ack.response_type).toBe('ephemeral');
      expect(ack.text).toContain('`demo`');
      expect(ack.text).toContain('/flannel diagnose CLUSTER [NODE]');
    }
    const help = await slack.command({ user: 'UBOB', channel: CHANNEL, text: '/flannel help' });
    expect(JSON.stringify(help.ack)).toContain('timeline');
  });

  it('status, incidents and timeline answer from the incident store', async () => {
    const incidents = await slack.command({ user: 'UBOB', channel: CHANNEL, text: '/flannel incidents' });
    const id = /inc-[a-z0-9]+/.exec(JSON.stringify(incidents.ack))?.[0];
    expect(id).toBeDefined();
    const status = await slack.command({ user: 'UBOB', channel: CHANNEL, text: '/flannel status' });
    expect(JSON.stringify(status.ack)).toMatch(/demo.*watching/);
    const timeline = await slack.command({ user: 'UBOB', channel: CHANNEL, text: `/flannel timeline ${id}` });
    expect(JSON.stringify(timeline.ack)).toMatch(/awaiting-approval/);
  });

  it('refuses forged and stale requests (401) and changes nothing', async () => {
    const before = everything();
    const body = new URLSearchParams({
      command: '/flannel',
      text: 'diagnose demo',
      user_id: 'UMALLORY',
      channel_id: CHANNEL,
      team_id: 'T0EMU',
      response_url: `${slack.url}/emulator/response/forged`,
      trigger_id: 'forged.1',
    }).toString();
    const post = (headers: object) =>
      fetch(bot.requestUrl!, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(headers as Record<string, string>),
        },
        body,
      });
    const forged = await post(signSlackRequest('not-the-secret', body));
    expect(forged.status).toBe(401);
    const stale = await post(signSlackRequest(SIGNING_SECRET, body, Date.now() - 6 * 60_000));
    expect(stale.status).toBe(401);
    const fresh = await post(signSlackRequest(SIGNING_SECRET, body + '&x=tampered'));
    expect(fresh.status).toBe(401);
    // A 401 is the whole answer: the receiver refused before any listener ran.
    expect(everything()).toBe(before);
  });

  it('an event storm of 10,000 events keeps one incident thread and a bounded number of Slack calls', async () => {
    const start = Date.now();
    const result = await sim.storm(10_000);
    expect(result.events).toBe(10_000);
    await waitFor(
      'the root to count the storm',
      async () => {
        const [incident] = await bot.store.list({ cluster: 'demo', limit: 5 });
        return incident && incident.counts.events >= 10_000;
      },
      { timeoutMs: 60_000 },
    );
    // Wait for what the storm makes the bot write: the root showing the storm's counts, and the outbox
    // having nothing left to send.
    await waitFor('the root to show the storm', () => /10,?0\d\d|1\d,?\d{3}/.test(text(incidentRoots()[0])), {
      timeoutMs: 30_000,
    });
    await waitFor('the outbox to drain', async () => {
      const counts = await bot.outbox.queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
      return Object.values(counts).every((n) => n === 0);
    });
    const elapsedS = (Date.now() - start) / 1000;
    expect(incidentRoots()).toHaveLength(1);
    const calls = slack.calls().filter((c) => c.at >= start && c.method.startsWith('chat.'));
    // The root is edited at most about once per update interval (300 ms here); nothing else is written.
    expect(calls.filter((c) => c.method === 'chat.postMessage')).toHaveLength(0);
    expect(calls.length).toBeLessThanOrEqual(Math.ceil(elapsedS / 0.3) + 3);
  });
});

describe('the health endpoints on the HTTP receiver', () => {
  it('serve /healthz and /readyz beside /slack/events, with the cluster watch status', async () => {
    expect(bot.requestUrl).toBe(`${bot.healthUrl}/slack/events`);
    expect(bot.healthUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const healthz = await fetch(`${bot.healthUrl}/healthz`);
    expect({ status: healthz.status, body: await healthz.json() }).toEqual({
      status: 200,
      body: { ok: true, redis: 'up' },
    });
    await waitFor('the watch to be open', () => bot.watch.statuses[0]?.stream?.state === 'watching');
    const readyz = await fetch(`${bot.healthUrl}/readyz`);
    const body = await readyz.text();
    expect({ status: readyz.status, body: JSON.parse(body) }).toEqual({
      status: 200,
      body: {
        ok: true,
        lifecycle: 'running',
        clusters: [
          { cluster: 'demo', role: 'leader', stream: { state: 'watching', healthy: true, failures: 0 } },
        ],
        slack: { paused: [] },
        // This replica's place in the hub: alone, it leads its one cluster.
        replica: { id: expect.any(String), live: 1, share: 1, assigned: ['demo'], leading: ['demo'] },
      },
    });
    expect(body).not.toContain(BOT_TOKEN);
  });
});
