/**
 * Scheduled work from clusters.yaml through the real bot (startBot: BullMQ job schedulers on real Redis, the
 * simulator over HTTP, the Slack emulator): a scheduled diagnosis posts to the cluster's channel only when
 * something is wrong, and only news; scheduled backups keep a version only when Flannel's configuration
 * changed. Schedules run every second here (BotConfig.schedules.everyMs) instead of their cron expression.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Queue } from 'bullmq';
import { mergePatch } from '../../src/remediations/actions/common.js';
import { BackupStore } from '../../src/remediations/backups.js';
import { LIFECYCLE_QUEUE } from '../../src/lifecycle/jobs.js';
import { SCHEDULES_QUEUE } from '../../src/lifecycle/schedules.js';
import { waitFor } from '../helpers/wait.js';
import { startStack, textOf, type Stack } from './lifecycle-helpers.js';

let stack: Stack;
let lifecycleQueue: Queue;
let schedulesQueue: Queue;

// `containerd-net-leftover` is broken but opens no incident (no sandbox failure): only a schedule finds it.
const BROKEN = { name: 'quiet-broken', channel: 'C0SCHBAD', scenario: 'containerd-net-leftover' };
const HEALTHY = { name: 'fine', channel: 'C0SCHOK', scenario: 'healthy' };
const BACKED_UP = { name: 'backed-up', channel: 'C0SCHBAK', scenario: 'healthy' };

beforeAll(async () => {
  stack = await startStack(
    [
      { ...BROKEN, extra: { schedule: '*/30 * * * *', backups: { schedule: 'off' } } },
      { ...HEALTHY, extra: { schedule: '*/30 * * * *', backups: { schedule: 'off' } } },
      { ...BACKED_UP, extra: { backups: { schedule: '0 3 * * *', keep: 3 } } },
    ],
    { bot: { schedules: { everyMs: 1500 } } },
  );
  lifecycleQueue = new Queue(LIFECYCLE_QUEUE, { connection: stack.redis, prefix: stack.prefix });
  schedulesQueue = new Queue(SCHEDULES_QUEUE, { connection: stack.redis, prefix: stack.prefix });
}, 180_000);

afterAll(async () => {
  await lifecycleQueue?.close();
  await schedulesQueue?.close();
  await stack?.stop();
});

/** Settle jobs of scheduled diagnoses of `cluster` that have finished. */
async function settledScheduled(cluster: string): Promise<number> {
  const jobs = await lifecycleQueue.getJobs(['completed']);
  return jobs.filter(
    (j) => j.name === 'settle' && j.data.purpose === 'scheduled' && j.data.cluster === cluster,
  ).length;
}

async function completedBackups(cluster: string): Promise<number> {
  const jobs = await schedulesQueue.getJobs(['completed']);
  return jobs.filter((j) => j.name === 'scheduled-backup' && j.data.cluster === cluster).length;
}

const posts = (channel: string) => stack.slack.messages(channel).filter((m) => !m.ephemeral_to);

describe('scheduled diagnosis', () => {
  it('a broken cluster that opened no incident: one post naming the cause; the next runs post nothing new', async () => {
    const post = await waitFor(
      'the scheduled diagnosis post',
      () =>
        posts(BROKEN.channel).find((m) =>
          /^Scheduled diagnosis of quiet-broken: problems found/.test(m.text),
        ),
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    expect(textOf(post)).toMatch(/Scheduled diagnosis of cluster \*quiet-broken\*: problems found/);
    const thread = await waitFor(
      'the verdict in its thread',
      () =>
        posts(BROKEN.channel)
          .find((m) => m.ts === post.ts)
          ?.replies.find((r) => /^Verdict for quiet-broken/.test(r.text)),
      { timeoutMs: 30_000 },
    );
    expect(textOf(thread)).toContain('cni-config-conflict');
    // Two more scheduled runs settle: the same finding is not posted again.
    const settled = await settledScheduled(BROKEN.name);
    await waitFor(
      'two more scheduled runs',
      async () => (await settledScheduled(BROKEN.name)) >= settled + 2,
      {
        timeoutMs: 120_000,
        intervalMs: 500,
      },
    );
    expect(posts(BROKEN.channel).filter((m) => /^Scheduled diagnosis/.test(m.text))).toHaveLength(1);
    expect(posts(BROKEN.channel).filter((m) => /Incident `inc-/.test(textOf(m)))).toHaveLength(0);
  }, 300_000);

  it('a healthy cluster: scheduled runs finish and post nothing', async () => {
    await waitFor(
      'two scheduled runs on the healthy cluster',
      async () => (await settledScheduled(HEALTHY.name)) >= 2,
      {
        timeoutMs: 120_000,
        intervalMs: 500,
      },
    );
    expect(posts(HEALTHY.channel)).toEqual([]);
  }, 180_000);
});

describe('scheduled backups', () => {
  it('keeps one version while nothing changes, a new one after a change, at most `keep`', async () => {
    const store = new BackupStore(stack.redis, stack.prefix);
    const first = await waitFor(
      'the first scheduled backup',
      async () => (await store.list(BACKED_UP.name))[0],
      {
        timeoutMs: 60_000,
        intervalMs: 250,
      },
    );
    expect(first.reason).toBe('scheduled backup');
    expect(first.objects.map((o) => `${String(o.kind)} ${(o.metadata as { name: string }).name}`)).toEqual([
      'ConfigMap kube-flannel-cfg',
      'DaemonSet kube-flannel-ds',
    ]);
    const done = await completedBackups(BACKED_UP.name);
    await waitFor(
      'two more scheduled backup runs',
      async () => (await completedBackups(BACKED_UP.name)) >= done + 2,
      {
        timeoutMs: 60_000,
        intervalMs: 250,
      },
    );
    expect((await store.list(BACKED_UP.name)).map((b) => b.id)).toEqual([first.id]);

    // Change the ConfigMap four times: each change is a version; only the newest 3 are kept.
    const sim = stack.sims.get(BACKED_UP.name)!;
    const { CoreV1Api, KubeConfig } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    kc.loadFromFile(sim.kubeconfigPath);
    const core = kc.makeApiClient(CoreV1Api);
    for (let i = 1; i <= 4; i++) {
      const before = (await store.list(BACKED_UP.name))[0].id;
      await core.patchNamespacedConfigMap(
        {
          namespace: 'kube-flannel',
          name: 'kube-flannel-cfg',
          body: { metadata: { labels: { drill: `v${i}` } } },
        },
        mergePatch(),
      );
      await waitFor(
        `the backup of change ${i}`,
        async () => (await store.list(BACKED_UP.name))[0]?.id !== before,
        {
          timeoutMs: 60_000,
          intervalMs: 250,
        },
      );
    }
    const kept = await store.list(BACKED_UP.name);
    expect(kept).toHaveLength(3);
    expect(
      kept.map((b) => (b.objects[0].metadata as { labels?: Record<string, string> }).labels?.drill),
    ).toEqual(['v4', 'v3', 'v2']);
  }, 300_000);
});
