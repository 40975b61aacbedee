/**
 * From a page to a healed cluster, through Slack clicks (issue 5/9): the field report's incident
 * (flannel-missing) pages the on-call group, is diagnosed, its plan refuses a reader's click, waits for the
 * second approver of the high-risk install, runs the approved steps, verifies and resolves. The cluster is
 * read back as kubectl would show it. Plus paging escalation and acknowledgement, and the audit timeline.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { EmulatorMessage } from '../../src/sim/slack/index.js';
import { waitFor } from '../helpers/wait.js';
import {
  answerText,
  buttonsOf,
  clusterState,
  incidentRoot,
  planMessage,
  replies,
  startStack,
  textOf,
  type Stack,
} from './lifecycle-helpers.js';

const CH = 'C0DEMO';
let stack: Stack;
/** The value of step 2's Approve button, kept to replay it after the incident resolved. */
let approve2Value = '';

beforeAll(async () => {
  stack = await startStack([
    {
      name: 'demo',
      channel: CH,
      scenario: 'flannel-missing',
      extra: {
        paging: { notify: { groups: ['oncall'] }, escalation: [{ afterMinutes: 0.05 }] },
      },
      // A bare pod stuck beside the controller-owned ones: it must be listed, never deleted.
    },
  ]);
  const sim = stack.sims.get('demo')!;
  sim.store.create({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'debug-shell', namespace: 'default' },
    spec: {
      nodeName: 'worker-1',
      containers: [{ name: 'sh', image: 'busybox:1.36', command: ['sleep', '1d'] }],
    },
  });
}, 90_000);

afterAll(async () => {
  await stack?.stop();
});

const root = () => incidentRoot(stack.slack, CH);
const plan = () => planMessage(stack.slack, CH);

async function clickPlan(user: string, actionId: string) {
  const message = plan() as EmulatorMessage;
  return answerText(await stack.slack.click({ user, channel: CH, ts: message.ts, action_id: actionId }));
}

describe('approving fixes with button clicks (flannel-missing)', () => {
  it('pages the configured group, and pages again when nobody acknowledges', async () => {
    const first = await waitFor('the incident root', () => root(), { timeoutMs: 30_000 });
    expect(first.text + JSON.stringify(first.blocks)).toContain('<!subteam^S0ONCALL>');
    const again = await waitFor(
      'a second page in the thread',
      () => replies(stack.slack, CH).find((r) => /Paging again/.test(textOf(r))),
      { timeoutMs: 30_000 },
    );
    expect(textOf(again)).toContain('<!subteam^S0ONCALL>');
    expect(buttonsOf(root())).toContain('acknowledge');
  });

  it('Acknowledge records who is on it (root, timeline) and takes the button away', async () => {
    const answer = answerText(
      await stack.slack.click({ user: 'UBOB', channel: CH, ts: root()!.ts, action_id: 'acknowledge' }),
    );
    expect(answer).toMatch(/You are on incident/);
    await waitFor('the root to name Bob', () => /On it\*\\n<@UBOB>/.test(JSON.stringify(root()?.blocks)));
    expect(buttonsOf(root())).not.toContain('acknowledge');
    const [incident] = await stack.bot.store.list({ cluster: 'demo', limit: 1 });
    const timeline = await stack.bot.store.timeline(incident.id);
    expect(timeline.some((e) => e.action === 'acknowledge' && e.actor === 'UBOB')).toBe(true);
  });

  it('offers a plan whose steps say exactly what they change, with Approve/Reject per step', async () => {
    const message = await waitFor('the plan', () => plan(), { timeoutMs: 60_000 });
    const all = textOf(message);
    expect(all).toContain('Install Flannel v0.28.9 (suits Kubernetes v1.23.17)');
    expect(all).toMatch(/create DaemonSet kube-flannel\/kube-flannel-ds/);
    expect(all).toMatch(/worker-1: [^•]*logging\/fluent-bit-[a-z0-9]+ \(DaemonSet\/fluent-bit\)/);
    expect(all).toMatch(/kubectl -n [a-z-]+ delete pod [a-z0-9-]+ --grace-period=0 --force/);
    expect(all).toMatch(
      /not deleted, no controller would recreate them \(bare pods\): default\/debug-shell on worker-1/,
    );
    expect(all).toContain('Runs on each node in a short-lived privileged pod (nsenter into the host)');
    expect(all).toContain('systemctl restart kubelet');
    approve2Value =
      JSON.stringify(message.blocks).match(/"action_id":"approve-2","value":"([a-f0-9]+)"/)?.[1] ?? '';
    expect(approve2Value).toMatch(/^[a-f0-9]{24}$/);
    const buttons = buttonsOf(message);
    expect(buttons).toEqual(['approve-1', 'reject-1', 'approve-2', 'reject-2', 'approve-3', 'reject-3']);
    expect(new Set(buttons).size).toBe(buttons.length);
    await waitFor('the root to say what it needs', () =>
      /Needs 2 approvals: Install Flannel v0.28.9/.test(root()!.text),
    );
  });

  it("refuses Mallory's approval and changes nothing", async () => {
    expect(await clickPlan('UMALLORY', 'approve-1')).toMatch(/You may not approve .* members of @oncall/);
    expect(await clickPlan('UMALLORY', 'reject-1')).toMatch(/You may not approve/);
    expect(textOf(plan()!)).toContain('approvals 0/2');
  });

  it("holds Alice's approval of the high-risk install until a second person approves", async () => {
    expect(await clickPlan('UALICE', 'approve-1')).toMatch(/recorded \(1\/2\)/);
    expect(await clickPlan('UALICE', 'approve-1')).toMatch(/You already approved step 1 \(1\/2\)/);
    await waitFor('the plan to show 1/2 with Alice', () =>
      /approvals 1\/2 \(<@UALICE>\)/.test(textOf(plan()!)),
    );
    const { flannelReady } = await clusterState(stack.sims.get('demo')!);
    expect(flannelReady).toBe(false);
  });

  it("Bob's approval installs Flannel; the remaining steps run, the fix is verified and the incident resolves", async () => {
    expect(await clickPlan('UBOB', 'approve-1')).toMatch(/Step 1 approved/);
    expect(await clickPlan('UALICE', 'approve-2')).toMatch(/Step 2 approved/);
    expect(await clickPlan('UALICE', 'approve-3')).toMatch(/Step 3 approved/);
    await waitFor('the root to show Resolved', () => /^Resolved:/.test(root()?.text ?? ''), {
      timeoutMs: 120_000,
    });
    // The root and the resolution reply are two outbox messages: the reply may land a moment after the root.
    const thread = await waitFor('the resolution in the thread', () => {
      const text = replies(stack.slack, CH).map(textOf).join('\n');
      return /Resolved\*/.test(text) ? text : undefined;
    });
    expect(thread).toMatch(/Step 1\* Install Flannel v0.28.9.*: done — approved by <@UALICE>, <@UBOB>/);
    expect(thread).toContain('Verification passed');
    const state = await clusterState(stack.sims.get('demo')!);
    expect(state.flannelReady).toBe(true);
    // Only the bare pod may still wait: nobody deleted it.
    expect(state.stuck.filter((p) => p !== 'default/debug-shell')).toEqual([]);
    const bare = await stack.sims.get('demo')!.store.get('Pod', 'default', 'debug-shell');
    expect(bare).toBeDefined();
  });

  it('a replayed Approve of a decided step changes nothing and says why; the timeline shows who did what', async () => {
    // The plan message has no buttons left; a captured button value replayed with a valid signature on the
    // message's one remaining button (the verdict's Re-run) is what an attacker or a stale client could send.
    const verdict = replies(stack.slack, CH).find((r) => buttonsOf(r).includes('rerun-diagnosis'))!;
    const replay = await stack.slack.click({
      user: 'UBOB',
      channel: CH,
      ts: verdict.ts,
      action_id: 'rerun-diagnosis',
      value: approve2Value,
    });
    expect(answerText(replay)).toMatch(/is resolved: nothing to approve now/);
    const [incident] = await stack.bot.store.list({ cluster: 'demo', limit: 1 });
    const timeline = answerText(
      await stack.slack.command({ user: 'UMALLORY', channel: CH, text: `/flannel timeline ${incident.id}` }),
    );
    for (const part of [
      'UMALLORY',
      'refused',
      'UALICE',
      'recorded',
      'UBOB',
      'approved',
      '`step`',
      'started',
      '`verify`',
      'passed',
      'resolved',
    ]) {
      expect(timeline).toContain(part);
    }
  });
});
