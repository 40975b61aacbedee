/**
 * Nothing lost, nothing run twice, with real processes (issue 5/9): the bot (`flannel-ops run`) is killed
 * with SIGKILL while Slack holds the answer of the incident's first post, while its plan awaits approval, and
 * while an approved step's privileged pod runs on a node. Each time a new bot process takes over: the incident has one root message,
 * and the step's pod was created once — the new process waits for that pod's outcome instead of running the
 * step again — and the incident still resolves.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IncidentStore } from '../../src/incidents/store.js';
import { PlanStore } from '../../src/lifecycle/plan-store.js';
import { startSimulator, type Simulator } from '../../src/sim/kube/simulator.js';
import { startSlackEmulator, type EmulatorMessage, type SlackEmulator } from '../../src/sim/slack/index.js';
import { freePort } from '../../src/util/net.js';
import { startCli, type CliProcess } from '../helpers/bot-process.js';
import { deleteKeys, TEST_REDIS_URL, testRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';
import { answerText, buttonsOf, textOf } from './lifecycle-helpers.js';

const SECRET = 'crash-test-signing-secret';
const BOT_TOKEN = 'xoxb-crash-test';
const PREFIX = `t-crash-${randomUUID().slice(0, 8)}`;
const CH = 'C0CRASH';

let sim: Simulator;
let slack: SlackEmulator;
let bot: CliProcess | undefined;
let clustersFile: string;
const redis = testRedis();
const store = new IncidentStore({ redis, prefix: PREFIX });
const plans = new PlanStore(redis, PREFIX);
/** Every action pod the simulator ever admitted: `<action>@<node>`. */
const actionPods: string[] = [];

async function startBot(): Promise<CliProcess> {
  const port = await freePort();
  const proc = startCli(['run', '--clusters', clustersFile], {
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_MODE: 'http',
    SLACK_API_URL: slack.apiUrl,
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: String(port),
    REDIS_URL: TEST_REDIS_URL,
    FLANNEL_OPS_KEY_PREFIX: PREFIX,
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'plain',
  });
  await proc.waitForHttp(`http://127.0.0.1:${port}/readyz`, 90_000);
  slack.setRequestUrl(`http://127.0.0.1:${port}/slack/events`);
  return proc;
}

beforeAll(async () => {
  // Pods start 4 s after they are bound: long enough to kill the bot while its action pod runs.
  sim = await startSimulator({ scenario: 'ipam-leak', port: 0, retryIntervalMs: 1000, startDelayMs: 4000 });
  await sim.settle();
  sim.store.subscribe((change) => {
    const pod = change.object;
    if (change.type !== 'ADDED' || pod.kind !== 'Pod') return;
    if (pod.metadata.labels?.['app.kubernetes.io/name'] !== 'flannel-ops-action') return;
    actionPods.push(
      `${pod.metadata.annotations?.['flannel-ops/action']}@${pod.metadata.annotations?.['flannel-ops/node']}`,
    );
  });
  slack = await startSlackEmulator({
    port: 0,
    signingSecret: SECRET,
    botToken: BOT_TOKEN,
    responseWindowMs: 1500,
    channels: [{ id: CH, name: 'flannel-crash' }],
  });
  const dir = mkdtempSync(join(tmpdir(), 'fo-crash-'));
  clustersFile = join(dir, 'clusters.yaml');
  writeFileSync(
    clustersFile,
    [
      'clusters:',
      '  - name: leaky',
      `    kubeconfig: ${sim.kubeconfigPath}`,
      `    channel: ${CH}`,
      '    approvals: { approvers: { groups: [oncall] } }',
      '    verification: { quietPeriodSeconds: 1 }',
      '',
    ].join('\n'),
  );
}, 120_000);

afterAll(async () => {
  await bot?.stop('SIGKILL');
  await slack?.close();
  await sim?.stop();
  await deleteKeys(redis, PREFIX);
  await redis.quit();
});

const roots = () => slack.messages(CH).filter((m) => !m.ephemeral_to && /Incident `inc-/.test(textOf(m)));
const plan = (): EmulatorMessage | undefined =>
  roots()[0]?.replies.find((r) => /^Remediation plan v1/.test(r.text));

describe('crashes', () => {
  it('a crash while Slack holds the answer of the first post leaves one root message', async () => {
    // Slack takes the post but answers only after the bot is dead.
    slack.faults.slowNext(1, 60_000, 'chat.postMessage');
    bot = await startBot();
    await waitFor('the root to reach Slack', () => roots().length === 1, { timeoutMs: 60_000 });
    await bot.stop('SIGKILL');
    bot = await startBot();
    // The diagnosis goes on in the same thread: the new process found the post and kept using it.
    await waitFor('the plan in the one thread', () => plan(), { timeoutMs: 240_000 });
    expect(roots()).toHaveLength(1);
    expect(
      slack
        .messages(CH)
        .filter((m) => !m.ephemeral_to && m.thread_ts === undefined && /Verdict/.test(m.text)),
    ).toHaveLength(0);
  }, 360_000);

  it('a crash while an approved step runs on a node: the new process reads that run, never starts another', async () => {
    const message = plan()!;
    expect(buttonsOf(message)).toContain('approve-1');
    const [incident] = await store.list({ cluster: 'leaky', limit: 1 });
    // Killed while the plan awaits approval: its buttons act just the same with the next process.
    expect(incident.state).toBe('awaiting-approval');
    await bot!.stop('SIGKILL');
    bot = await startBot();
    for (const action of buttonsOf(message).filter((b) => b.startsWith('approve-'))) {
      expect(
        answerText(await slack.click({ user: 'UALICE', channel: CH, ts: message.ts, action_id: action })),
      ).toMatch(/approved/);
    }
    await waitFor('the release pod on worker-1', () => actionPods.includes('release-leaked-ips@worker-1'), {
      timeoutMs: 60_000,
    });
    await bot!.stop('SIGKILL');
    bot = await startBot();
    await waitFor(
      'the incident to resolve',
      async () => (await store.get(incident.id))?.state === 'resolved',
      {
        timeoutMs: 240_000,
        intervalMs: 500,
      },
    );
    expect(actionPods.filter((p) => p === 'release-leaked-ips@worker-1')).toHaveLength(1);
    const view = await plans.get(incident.id, 1);
    const release = view!.states['release-leaked-ips'];
    expect(release.nodes['worker-1'].state).toBe('interrupted');
    expect(release.nodes['worker-1'].lines.join('\n')).toMatch(/not run again[\s\S]*released \d+/);
    expect(roots()).toHaveLength(1);
  }, 420_000);
});
