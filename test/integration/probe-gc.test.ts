/**
 * Leftover probe and action pods (the bot died mid-diagnosis, or the pod was bound to a node that never ran
 * it) are deleted once they are older than their activeDeadlineSeconds plus a grace period: by one pass
 * over the simulator's API, and by the bot itself at start-up.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { CoreV1Api } from '@kubernetes/client-node';
import { startBot, type Bot } from '../../src/bot/start-bot.js';
import { collectManagedPods } from '../../src/kube/pod-gc.js';
import { parseClustersConfig } from '../../src/config/clusters.js';
import { loadEnv } from '../../src/config/env.js';
import { kubeClientsFactory } from '../../src/kube/clients.js';
import { loadRunbooks, shippedRunbooksDir } from '../../src/runbooks/load.js';
import { startSimulator, type Simulator } from '../../src/sim/kube/simulator.js';
import { startSlackEmulator, type SlackEmulator } from '../../src/sim/slack/index.js';
import { deleteKeys, TEST_REDIS_URL, testRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const NS = 'kube-system';
const APP_NAMES = ['flannel-ops-probe', 'flannel-ops-action'];
const PREFIX = `t-podgc-${randomUUID().slice(0, 8)}`;

let sim: Simulator;
let core: CoreV1Api;

function pod(name: string, labels: Record<string, string>, deadlineSeconds: number, node = 'ghost-node') {
  sim.store.create({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, labels },
    spec: {
      nodeName: node,
      restartPolicy: 'Never',
      activeDeadlineSeconds: deadlineSeconds,
      containers: [{ name: 'probe', image: 'busybox:1.36', command: ['true'] }],
    },
  } as never);
}

const managed = (name: string) => ({
  'app.kubernetes.io/name': name,
  'app.kubernetes.io/managed-by': 'flannel-ops',
});

async function podNames(): Promise<string[]> {
  return (await core.listNamespacedPod({ namespace: NS })).items.map((p) => p.metadata!.name!).sort();
}

beforeAll(async () => {
  sim = await startSimulator({ scenario: 'healthy', port: 0, onError: () => undefined });
  await sim.settle();
  const clusters = parseClustersConfig({
    clusters: [{ name: 'sim', kubeconfig: sim.kubeconfigPath, channel: 'C0GC' }],
  }).clusters;
  core = kubeClientsFactory(clusters)('sim').core;
}, 60_000);

afterAll(async () => {
  await sim?.stop();
  const redis = testRedis();
  await deleteKeys(redis, PREFIX);
  await redis.quit();
});

describe('collecting leftover flannel-ops pods', () => {
  it('deletes managed probe and action pods past deadline + grace, and nothing else', async () => {
    pod('flannel-ops-probe-old', managed('flannel-ops-probe'), 60);
    pod('flannel-ops-action-old', managed('flannel-ops-action'), 60);
    pod('flannel-ops-probe-running', managed('flannel-ops-probe'), 7200); // a long one still in its time
    pod('someone-elses-old', { 'app.kubernetes.io/name': 'flannel-ops-probe' }, 60); // not managed by us
    pod(
      'other-app-old',
      { 'app.kubernetes.io/managed-by': 'flannel-ops', 'app.kubernetes.io/name': 'x' },
      60,
    );

    // An hour from now: the 60 s pods are overdue, the 2 h one is not.
    const result = await collectManagedPods(core, {
      namespace: NS,
      appNames: APP_NAMES,
      graceSeconds: 120,
      now: () => Date.now() + 3600_000,
    });
    expect(result).toEqual({
      deleted: expect.arrayContaining(['flannel-ops-probe-old', 'flannel-ops-action-old']),
      errors: [],
    });
    expect(result.deleted).toHaveLength(2);
    const left = await podNames();
    expect(left).toEqual(
      expect.arrayContaining(['flannel-ops-probe-running', 'someone-elses-old', 'other-app-old']),
    );
    expect(left).not.toContain('flannel-ops-probe-old');
    expect(left).not.toContain('flannel-ops-action-old');

    // Now (not an hour later), nothing is overdue.
    expect((await collectManagedPods(core, { namespace: NS, appNames: APP_NAMES })).deleted).toEqual([]);
  });
});

describe('the bot', () => {
  let slack: SlackEmulator;
  let bot: Bot | undefined;
  afterAll(async () => {
    await bot?.stop();
    await slack?.close();
  });

  it('collects leftover pods at start-up', async () => {
    pod('flannel-ops-probe-leftover', managed('flannel-ops-probe'), 1);
    slack = await startSlackEmulator({
      port: 0,
      signingSecret: 'podgc-signing-secret',
      botToken: 'xoxb-podgc',
    });
    const env = loadEnv(
      {
        SLACK_BOT_TOKEN: 'xoxb-podgc',
        SLACK_SIGNING_SECRET: 'podgc-signing-secret',
        SLACK_MODE: 'http',
        SLACK_API_URL: slack.apiUrl,
        REDIS_URL: TEST_REDIS_URL,
        FLANNEL_OPS_KEY_PREFIX: PREFIX,
        FLANNEL_OPS_PROBE_NAMESPACE: NS,
        LOG_LEVEL: 'error',
      },
      { require: ['slack'] },
    );
    // The pod's deadline (1 s) is over by the time the bot has started; no grace for the test.
    await new Promise((r) => setTimeout(r, 1100));
    bot = await startBot({
      env,
      clusters: parseClustersConfig({
        clusters: [{ name: 'sim', kubeconfig: sim.kubeconfigPath, channel: 'C0GC' }],
      }).clusters,
      runbooks: loadRunbooks(shippedRunbooksDir()),
      httpPort: 0,
      httpHost: '127.0.0.1',
      podGc: { graceSeconds: 0 },
    });
    await waitFor(
      'the leftover pod to be deleted',
      async () => !(await podNames()).includes('flannel-ops-probe-leftover'),
    );
    expect(await podNames()).toContain('flannel-ops-probe-running');
  }, 60_000);
});
