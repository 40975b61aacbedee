/**
 * The bot on Redis beyond one server: a real local Redis Cluster (3 masters) and a Sentinel set-up. Watch,
 * incident store, diagnosis (BullMQ flows), lifecycle and the Slack outbox all run on it; a failing cluster
 * gets exactly one incident, posted once, with its diagnosis and plan.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { waitFor } from '../helpers/wait.js';
import { startRedisCluster, startRedisSentinel, type RedisTopology } from '../helpers/redis-ha.js';
import { startStack, textOf, type Stack } from './lifecycle-helpers.js';

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
  });

  it('opens one incident, diagnoses it and posts it, with every key under one hash tag', async () => {
    await oneIncidentWithPlan(stack, 'C0HACL');
    const perNode = await keysPerNode(topology.nodes);
    const all = perNode.flat();
    expect(all.length).toBeGreaterThan(0);
    // One slot: every key of the bot (BullMQ's included) on a single master, all tagged with the prefix.
    expect(perNode.filter((keys) => keys.length > 0)).toHaveLength(1);
    expect(all.every((k) => k.startsWith(`{${stack.prefix}}:`))).toBe(true);
  }, 240_000);
});

describe('through Redis Sentinel', () => {
  let topology: RedisTopology;
  let stack: Stack;
  beforeAll(async () => {
    topology = await startRedisSentinel();
    stack = await startStack([{ name: 'ha', channel: 'C0HASE', scenario: 'flannel-missing' }], {
      redisUrl: topology.url,
    });
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
    await topology?.stop();
  });

  it('finds the master through the Sentinel, opens one incident, diagnoses it and posts it', async () => {
    await oneIncidentWithPlan(stack, 'C0HASE');
    // The data is on the master the Sentinel named (and replicated), not anywhere else.
    const [master] = await keysPerNode([topology.nodes[0]]);
    expect(master.some((k) => k.startsWith(`${stack.prefix}:`))).toBe(true);
  }, 240_000);
});
