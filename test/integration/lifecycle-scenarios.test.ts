/**
 * Every built-in scenario through the whole loop (issue 5/9): one bot watching one simulated cluster per
 * scenario, each in its own channel. Where an incident opens, scripted approvers approve every step of every
 * plan version until the incident resolves — then a fresh diagnosis must call the cluster healthy — or until
 * only a fix a person must make is left, which the thread must spell out. Healthy clusters open nothing and
 * a report says so.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BUILTIN_SCENARIOS } from '../../src/sim/kube/scenario/builtin-names.js';
import type { EmulatorMessage } from '../../src/sim/slack/index.js';
import { waitFor } from '../helpers/wait.js';
import { answerText, buttonsOf, startStack, textOf, type Stack } from './lifecycle-helpers.js';

const channelOf = (i: number) => `C0SCN${String(i).padStart(2, '0')}`;
const clusters = BUILTIN_SCENARIOS.map((scenario, i) => ({
  name: scenario,
  channel: channelOf(i),
  scenario,
}));
let stack: Stack;

beforeAll(async () => {
  stack = await startStack(
    clusters.map((c) => ({
      ...c,
      extra: { limits: { diagnosesPerUserPerMinute: 100, diagnosesPerClusterPerMinute: 30 } },
    })),
  );
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

const roots = (channel: string) =>
  stack.slack.messages(channel).filter((m) => !m.ephemeral_to && /Incident `inc-/.test(textOf(m)));

/** The newest plan message of the channel's incident that still has buttons. */
function openPlan(channel: string): EmulatorMessage | undefined {
  return roots(channel)[0]
    ?.replies.filter(
      (r) => /^Remediation plan v\d+/.test(r.text) && buttonsOf(r).some((b) => b.startsWith('approve-')),
    )
    .at(-1);
}

async function report(cluster: string, channel: string): Promise<string> {
  const before = stack.slack
    .messages(channel)
    .filter((m) => m.text.startsWith(`Diagnosis of ${cluster}:`)).length;
  const answer = answerText(
    await stack.slack.command({ user: 'UBOB', channel, text: `/flannel diagnose ${cluster}` }),
  );
  expect(answer).toMatch(/Running the diagnosis|Starting the diagnosis/);
  const done = await waitFor(
    `the report on ${cluster}`,
    () =>
      stack.slack
        .messages(channel)
        .filter((m) => m.text.startsWith(`Diagnosis of ${cluster}:`) && !/running/.test(m.text))
        .at(before),
    { timeoutMs: 90_000, intervalMs: 250 },
  );
  // The root says "done" first; its verdict is a reply of its own, posted after it (later under load).
  const report = await waitFor(
    `the verdict of the report on ${cluster}`,
    () => {
      const root = stack.slack.messages(channel).find((m) => m.ts === done.ts);
      return root?.replies.some((r) => textOf(r).includes(`Verdict for ${cluster}`)) ? root : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 250 },
  );
  return `${report.text}\n${report.replies.map(textOf).join('\n')}`;
}

/** Approves every step of every plan until the incident resolves or waits for a person. */
async function driveToTheEnd(cluster: string, channel: string): Promise<{ outcome: string; thread: string }> {
  const deadline = Date.now() + 240_000;
  for (;;) {
    const [incident] = await stack.bot.store.list({ cluster, limit: 1 });
    if (incident?.state === 'resolved') break;
    const plan = openPlan(channel);
    if (incident?.state === 'awaiting-approval' && plan) {
      for (const action of buttonsOf(plan).filter((b) => b.startsWith('approve-'))) {
        for (const user of ['UALICE', 'UBOB']) {
          await stack.slack.click({ user, channel, ts: plan.ts, action_id: action }).catch(() => undefined);
        }
      }
    } else if (
      incident?.state === 'awaiting-approval' &&
      roots(channel)[0]?.text.includes('Needs a person')
    ) {
      break;
    }
    if (Date.now() > deadline)
      throw new Error(`${cluster} did not finish: ${incident?.state} — ${roots(channel)[0]?.text}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  // The store resolves first; the root message is re-rendered through the outbox a moment later.
  const [final] = await stack.bot.store.list({ cluster, limit: 1 });
  const root =
    final?.state === 'resolved'
      ? await waitFor(`the resolved root of ${cluster}`, () =>
          roots(channel).find((m) => /^Resolved/.test(m.text)),
        )
      : roots(channel)[0];
  return { outcome: root.text, thread: root.replies.map(textOf).join('\n') };
}

describe('every built-in scenario through the whole loop', () => {
  it.concurrent.each(clusters.map((c, i) => [c.scenario, i] as const))(
    '%s',
    async (scenario, i) => {
      const channel = channelOf(i);
      const rootCause = stack.sims.get(scenario)!.scenario.rootCause;
      if (rootCause === 'none') {
        expect(await report(scenario, channel)).toMatch(/no problem found/);
        expect(roots(channel)).toEqual([]);
        return;
      }
      const opened = await waitFor(`an incident on ${scenario}`, () => roots(channel)[0], {
        timeoutMs: 30_000,
      }).catch(() => undefined);
      if (!opened) {
        // The failure shows no sandbox error (nothing stuck yet): the on-demand report must still name it.
        const text = await report(scenario, channel);
        expect(text).toContain(rootCause);
        return;
      }
      await waitFor(
        `a plan on ${scenario}`,
        () => roots(channel)[0]?.replies.some((r) => /^Remediation plan v/.test(r.text)),
        {
          timeoutMs: 90_000,
        },
      );
      const { outcome, thread } = await driveToTheEnd(scenario, channel);
      if (/^Resolved/.test(outcome)) {
        expect(thread).toContain('Verification passed');
        expect(await report(scenario, channel)).toMatch(/no problem found/);
      } else {
        // Left to a person: the thread names the fix as commands or config lines.
        expect(outcome).toMatch(/Needs a person/);
        expect(thread).toMatch(/The fix to make:/);
      }
    },
    180_000,
  );
});
