/**
 * The bot on Redis beyond one server: a real local Redis Cluster (3 masters) and a Sentinel set-up. Watch,
 * incident store, diagnosis (BullMQ flows), lifecycle and the Slack outbox all run on it; a failing cluster
 * gets exactly one incident, posted once, with its diagnosis and plan; on the Cluster, approving the first step
 * runs it (plan and transition scripts, lifecycle jobs); through Sentinel, the bot follows a failover.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { waitFor } from '../helpers/wait.js';
import { startRedisCluster, startRedisSentinel, type RedisTopology } from '../helpers/redis-ha.js';
import { answerText, planMessage, startStack, textOf, type Stack } from './lifecycle-helpers.js';

const roots = (stack: Stack, channel: string) =>
  stack.slack.messages(channel).filter((m) => !m.ephemeral_to && /Incident `inc-/.test(textOf(m)));

async function oneIncidentWithPlan(stack: Stack, channel: string): Promise<void> {
  await waitFor('the incident in Slack', () => roots(stack, channel)[0], { timeoutMs: 60_000 });
  await waitFor(
    'the diagnosis and its plan in the thread',
    () => roots(stack, channel)[0]?.replies.some((r) => /^Remediation plan v/.test(r.text)),
    { timeoutMs: 120_000 },
  );
  expect(roots(stack, channel)).toHaveLength(1);
  const incidents = await stack.bot.store.list({ cluster: 'ha' });
  expect(incidents).toHaveLength(1);
  expect(roots(stack, channel)[0].text + JSON.stringify(roots(stack, channel)[0].blocks)).toContain(
    incidents[0].id,
  );
}

/** Every key on every node (SCAN per node: a Cluster spreads keys over its masters). */
async function keysPerNode(nodes: string[]): Promise<string[][]> {
  const out: string[][] = [];
  for (const url of nodes) {
    const client = new Redis(url);
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await client.scan(cursor, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    client.disconnect();
    out.push(keys);
  }
  return out;
}

describe('on a Redis Cluster', () => {
  let topology: RedisTopology;
  let stack: Stack;
  beforeAll(async () => {
    topology = await startRedisCluster();
    stack = await startStack([{ name: 'ha', channel: 'C0HACL', scenario: 'flannel-missing' }], {
      redisUrl: topology.url,
    });
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
    await topology?.stop();
  }, 120_000);

  it('opens one incident, diagnoses it and posts it, with every key under one hash tag', async () => {
    await oneIncidentWithPlan(stack, 'C0HACL');
    const perNode = await keysPerNode(topology.nodes);
    const all = perNode.flat();
    expect(all.length).toBeGreaterThan(0);
    // One slot: every key of the bot (BullMQ's included) on a single master, all tagged with the prefix.
    expect(perNode.filter((keys) => keys.length > 0)).toHaveLength(1);
    expect(all.every((k) => k.startsWith(`{${stack.prefix}}:`))).toBe(true);
    // Approvals and the step they start run the plan and transition scripts on the Cluster too.
    const plan = planMessage(stack.slack, 'C0HACL')!;
    const approve = async (user: string) =>
      answerText(await stack.slack.click({ user, channel: 'C0HACL', ts: plan.ts, action_id: 'approve-1' }));
    expect(await approve('UALICE')).toMatch(/recorded \(1\/2\)/);
    expect(await approve('UBOB')).toMatch(/Step 1 approved/);
    // Step 1 (a lifecycle job) installs Flannel in the simulated cluster.
    await waitFor(
      'the approved step to install Flannel',
      () => stack.sims.get('ha')!.store.get('DaemonSet', 'kube-flannel', 'kube-flannel-ds'),
      { timeoutMs: 90_000 },
    );
    // The replica's place in the hub is visible to operators.
    const ready = (await (await fetch(`${stack.bot.healthUrl}/readyz`)).json()) as Record<string, unknown>;
    expect(ready.replica).toMatchObject({ live: 1, share: 1, assigned: ['ha'], leading: ['ha'] });
  }, 240_000);
});

/** The Sentinel stack's graceful-stop deadline (the bot's default is 25 s). */
const STOP_TIMEOUT_MS = 5000;

describe('through Redis Sentinel', () => {
  let topology: RedisTopology;
  let stack: Stack;
  beforeAll(async () => {
    topology = await startRedisSentinel();
    stack = await startStack([{ name: 'ha', channel: 'C0HASE', scenario: 'flannel-missing' }], {
      redisUrl: topology.url,
      bot: { stopTimeoutMs: STOP_TIMEOUT_MS },
    });
  }, 180_000);
  afterAll(async () => {
    // The last test already stopped the bot (stop() is bounded, and a second call returns the same stop).
    await stack?.stop();
    await topology?.stop();
  }, 120_000);

  it('finds the master through the Sentinel, opens one incident, diagnoses it and posts it', async () => {
    await oneIncidentWithPlan(stack, 'C0HASE');
    // The data is on the master the Sentinel named (and replicated), not anywhere else.
    const [master] = await keysPerNode([topology.nodes[0]]);
    expect(master.some((k) => k.startsWith(`${stack.prefix}:`))).toBe(true);
  }, 240_000);

  it('follows the master the Sentinel promotes when the old one dies, and keeps counting the same incident', async () => {
    const [before] = await stack.bot.store.list({ cluster: 'ha' });
    // Replication is asynchronous: what the master acknowledged may not have reached the replica yet, and a
    // failover loses it (Redis's documented trade-off). Wait until the replica has everything written so far.
    const master = new Redis(topology.nodes[0]);
    try {
      expect(Number(await master.call('WAIT', '1', '10000'))).toBe(1);
    } finally {
      master.disconnect();
    }
    topology.processes[0].kill('SIGKILL'); // the master; the Sentinel promotes the replica
    const sentinel = new Redis({ port: (topology as RedisTopology & { sentinelPort: number }).sentinelPort });
    try {
      await waitFor(
        'the Sentinel to promote the replica',
        async () => {
          const addr = (await sentinel.call('SENTINEL', 'get-master-addr-by-name', 'mymaster')) as string[];
          return topology.nodes[1].endsWith(`:${addr[1]}`);
        },
        { timeoutMs: 60_000, intervalMs: 250 },
      );
    } finally {
      sentinel.disconnect();
    }
    await stack.sims.get('ha')!.storm(10);
    const after = await waitFor(
      'the new events counted on the new master',
      async () => {
        const [incident] = await stack.bot.store.list({ cluster: 'ha' });
        return incident && incident.counts.events >= before.counts.events + 10 ? incident : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    expect(after.id).toBe(before.id);
    expect(await stack.bot.store.list({ cluster: 'ha' })).toHaveLength(1);
    expect(roots(stack, 'C0HASE')).toHaveLength(1);
  }, 240_000);

  it('stops in bounded time even when the master it now follows stops answering', async () => {
    // After the failover every connection is on the promoted master. Frozen (SIGSTOP), it keeps its sockets open
    // and answers nothing: a graceful close's QUIT (and BullMQ's close, which sends one) waits for ever. The
    // bot's stop closes gracefully until its deadline, then closes the connections itself.
    const promoted = topology.processes[1];
    promoted.kill('SIGSTOP');
    try {
      const started = Date.now();
      await stack.bot.stop();
      // The deadline, then at most a few seconds for what the forced close ends (the bot's own bound is
      // stopTimeoutMs + 3 s; the margin is for a loaded machine).
      expect(Date.now() - started).toBeLessThan(STOP_TIMEOUT_MS + 8000);
    } finally {
      promoted.kill('SIGCONT');
    }
  }, 60_000);
});
