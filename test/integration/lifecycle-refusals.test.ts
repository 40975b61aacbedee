/**
 * What the approval flow refuses, and that a refusal changes nothing (issue 5/9, SPEC "Approvals"): re-runs of
 * an incident whose plan awaits approval are an approver's action, two quick re-run clicks start one
 * diagnosis and strand nothing, a superseded plan's button, self-approval of a high-risk step, an expired
 * plan, and a second remediation on a cluster that has one running.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shippedRunbooksDir } from '../../src/runbooks/load.js';
import type { EmulatorMessage } from '../../src/sim/slack/index.js';
import { waitFor } from '../helpers/wait.js';
import { answerText, buttonsOf, textOf, startStack, waitForState, type Stack } from './lifecycle-helpers.js';

const CH = 'C0REFUSE';
let stack: Stack;
let skewMs = 0;

/** Two runbooks that match the same failure: two incidents on one cluster (for the one-at-a-time rule). */
function twoRunbooks(): string {
  const dir = mkdtempSync(join(tmpdir(), 'flannel-ops-runbooks-'));
  cpSync(shippedRunbooksDir(), dir, { recursive: true });
  const shadow = readFileSync(join(dir, 'flannel.yaml'), 'utf8').replace(
    /^id: flannel$/m,
    'id: flannel-shadow',
  );
  writeFileSync(join(dir, 'flannel-shadow.yaml'), shadow);
  return dir;
}

beforeAll(async () => {
  stack = await startStack(
    [
      {
        name: 'demo',
        channel: CH,
        scenario: 'flannel-missing',
        // Flannel pods take a while to start, so the install step is still running when the other incident's
        // approval comes in.
        sim: { startDelayMs: 4000 },
      },
    ],
    { runbooksDir: twoRunbooks(), bot: { lifecycle: { now: () => Date.now() + skewMs } } },
  );
}, 90_000);

afterAll(async () => {
  await stack?.stop();
});

interface Thread {
  incidentId: string;
  runbook: string;
  root: EmulatorMessage;
}

function threads(): Thread[] {
  return stack.slack
    .messages(CH)
    .filter((m) => !m.ephemeral_to)
    .flatMap((m) => {
      const id = /Incident `(inc-[a-z0-9]+)`/.exec(textOf(m))?.[1];
      const runbook = /\(`(flannel(?:-shadow)?)`\)/.exec(textOf(m))?.[1];
      return id && runbook ? [{ incidentId: id, runbook, root: m }] : [];
    });
}

const thread = (runbook: string) => threads().find((t) => t.runbook === runbook);
const replies = (runbook: string) => (thread(runbook)?.root.replies ?? []).filter((r) => !r.ephemeral_to);
const plan = (runbook: string, version: number) =>
  replies(runbook).find((r) => r.text.startsWith(`Remediation plan v${version} `));
const verdicts = (runbook: string) => replies(runbook).filter((r) => /^Verdict for/.test(r.text));
const valueOf = (m: EmulatorMessage, actionId: string) =>
  new RegExp(`"action_id":"${actionId}","value":"([a-f0-9]+)"`).exec(JSON.stringify(m.blocks))?.[1] ?? '';

async function clickOn(user: string, m: EmulatorMessage, actionId: string, value?: string) {
  return answerText(
    await stack.slack.click({ user, channel: CH, ts: m.ts, action_id: actionId, ...(value && { value }) }),
  );
}

describe('refusals change nothing and say why', () => {
  let planV1Approve = '';

  it('both incidents get a plan', async () => {
    await waitFor('two plans', () => plan('flannel', 1) && plan('flannel-shadow', 1), { timeoutMs: 60_000 });
    planV1Approve = valueOf(plan('flannel', 1)!, 'approve-1');
    expect(planV1Approve).toMatch(/^[a-f0-9]{24}$/);
  });

  it("a re-run of an incident whose plan awaits approval is an approver's action", async () => {
    const answer = await clickOn('UMALLORY', verdicts('flannel')[0], 'rerun-diagnosis');
    expect(answer).toMatch(/only its approvers may replace it/);
    const incident = await stack.bot.store.get(thread('flannel')!.incidentId);
    expect(incident?.state).toBe('awaiting-approval');
    expect(incident?.extras.planVersion).toBe(1);
  });

  it('two quick re-run clicks start one diagnosis and leave the incident awaiting the new plan', async () => {
    const verdict = verdicts('flannel')[0];
    const [first, second] = await Promise.all([
      clickOn('UALICE', verdict, 'rerun-diagnosis'),
      clickOn('UALICE', verdict, 'rerun-diagnosis'),
    ]);
    const both = `${first}\n${second}`;
    expect(both).toMatch(/Re-running the diagnosis/);
    expect(both).toMatch(/A diagnosis is already running/);
    await waitFor('plan v2', () => plan('flannel', 2), { timeoutMs: 60_000 });
    const incident = await stack.bot.store.get(thread('flannel')!.incidentId);
    expect(incident?.state).toBe('awaiting-approval');
    expect(incident?.extras.planVersion).toBe(2);
    expect(verdicts('flannel')).toHaveLength(2);
  });

  it("a superseded plan's button (replayed) is refused", async () => {
    await waitFor('plan v1 to say it is superseded', () =>
      /Superseded by a newer plan/.test(textOf(plan('flannel', 1)!)),
    );
    expect(buttonsOf(plan('flannel', 1))).toEqual([]);
    const answer = await clickOn('UBOB', plan('flannel', 2)!, 'approve-1', planV1Approve);
    expect(answer).toMatch(/This plan \(v1\) was replaced by plan v2/);
  });

  it('whoever asked for the diagnosis may not approve its high-risk step; another approver may', async () => {
    const v2 = plan('flannel', 2)!;
    expect(await clickOn('UALICE', v2, 'approve-1')).toMatch(
      /another approver must approve its high-risk steps/,
    );
    expect(await clickOn('UBOB', v2, 'approve-1')).toMatch(/recorded \(1\/2\)/);
    // Medium-risk steps are not covered by the rule.
    expect(await clickOn('UALICE', v2, 'approve-3')).toMatch(/Step 3 approved: it runs after step 1/);
  });

  it('an expired plan takes no approval', async () => {
    skewMs = 31 * 60_000;
    try {
      expect(await clickOn('UALICE', plan('flannel-shadow', 1)!, 'approve-2')).toMatch(/This plan expired/);
    } finally {
      skewMs = 0;
    }
    const view = await stack.bot.lifecycle.planView(thread('flannel-shadow')!.incidentId, 1);
    expect(view?.states['restart-kubelet']?.approvals).toEqual([]);
  });

  it('one remediation per cluster at a time: an approval on the other incident waits its turn', async () => {
    const shadow = plan('flannel-shadow', 1)!;
    expect(await clickOn('UALICE', shadow, 'approve-1')).toMatch(/recorded \(1\/2\)/);
    expect(await clickOn('UBOB', shadow, 'approve-1')).toMatch(/Step 1 approved/);
    await waitForState(stack, 'demo', 'remediating');
    // Bob may approve plan v2's install (he did not ask for its diagnosis), but not while the other runs.
    const answer = await clickOn('UBOB', plan('flannel', 2)!, 'approve-1');
    expect(answer).toMatch(
      /A remediation is running on `demo` for incident `inc-[a-z0-9]+`: one at a time per cluster/,
    );
    const view = await stack.bot.lifecycle.planView(thread('flannel')!.incidentId, 2);
    expect(view?.states['reapply-manifest']?.approvals.map((a) => a.user)).toEqual(['UBOB']);
  });
});
