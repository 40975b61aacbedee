/**
 * What people can trigger is bounded and scoped (issue 6/9 items 8 and 9): `/flannel diagnose` typed in any
 * channel reports in the cluster's own channel; one report per cluster and node runs at a time; per-user and
 * per-cluster limits refuse the excess ephemerally, saying when to retry.
 */
import { deleteKeys } from '../helpers/redis.js';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { waitFor } from '../helpers/wait.js';
import { answerText, startStack, type Stack } from './lifecycle-helpers.js';

const CLUSTER_CH = 'C0LIMITS';
const OTHER_CH = 'C0RANDOM';
let stack: Stack;

beforeAll(async () => {
  stack = await startStack(
    [
      {
        name: 'lim',
        channel: CLUSTER_CH,
        scenario: 'healthy',
        extra: { limits: { diagnosesPerUserPerMinute: 2, diagnosesPerClusterPerMinute: 3 } },
        // Probe pods take a while to start, so a report on a node is still running when the next request comes.
        sim: { startDelayMs: 3000 },
      },
    ],
    { extraChannels: [{ id: OTHER_CH, name: 'random' }] },
  );
}, 90_000);

afterAll(async () => {
  await stack?.stop();
});

const reports = () => stack.slack.messages(CLUSTER_CH).filter((m) => /^Diagnosis of lim:/.test(m.text));
const finished = () => reports().filter((m) => !/running/.test(m.text));
const diagnose = async (user: string, node = '') =>
  answerText(await stack.slack.command({ user, channel: OTHER_CH, text: `/flannel diagnose lim ${node}` }));

describe('limits and scoping of what people trigger', () => {
  it('a report asked for in another channel goes to the cluster channel only', async () => {
    expect(await diagnose('UALICE')).toMatch(/the report appears in <#C0LIMITS>/);
    await waitFor('the report in the cluster channel', () => finished().length === 1, { timeoutMs: 60_000 });
    expect(reports()[0].text).toMatch(/no problem found/);
    // The other channel got nothing but Alice's own ephemeral answer.
    expect(stack.slack.messages(OTHER_CH).filter((m) => !m.ephemeral_to)).toEqual([]);
  });

  it('one report per cluster and node at a time', async () => {
    // Bob's report probes worker-1 (seconds); Mallory asks for the same while it runs.
    const bob = diagnose('UBOB', 'worker-1');
    await waitFor("Bob's report to start", () => reports().length === 2);
    expect(await diagnose('UMALLORY', 'worker-1')).toMatch(
      /A diagnosis is already running .* started by <@UBOB>/,
    );
    expect(await bob).toMatch(/Running the diagnosis of `lim` \(node `worker-1`\)/);
    await waitFor("Bob's report", () => finished().length === 2, { timeoutMs: 60_000 });
  });

  it('per-user and per-cluster limits refuse the excess and say when to retry', async () => {
    // The limits refill over their minute (a GCRA: 2 per user, 3 per cluster, one back every 30 s / 20 s), so
    // what the tests above used may have partly come back by now. Start from full allowances, then ask in a
    // quick burst, each on its own node so none waits on a running one.
    await deleteKeys(stack.redis, `${stack.prefix}:ratelimit:`);
    expect(await diagnose('UALICE', 'cp-1')).toMatch(/Running the diagnosis/);
    expect(await diagnose('UALICE', 'worker-1')).toMatch(/Running the diagnosis/);
    expect(await diagnose('UALICE', 'worker-2')).toMatch(
      /You started 2 diagnoses in the last minute: try again in \d+s/,
    );
    expect(await diagnose('UBOB', 'worker-2')).toMatch(/Running the diagnosis/);
    expect(await diagnose('UMALLORY')).toMatch(
      /Cluster `lim` had 3 diagnoses in the last minute: try again in \d+s/,
    );
    // The three allowed ran to their reports; the two refusals started nothing.
    await waitFor('the three reports', () => finished().length === 5, { timeoutMs: 90_000 });
    expect(reports()).toHaveLength(5);
  }, 120_000);
});
