/**
 * A state is never entered without the work that leaves it (issue 5/9): the coordinator's recovery sweep
 * repairs what a crash between two writes leaves behind — an incident marked diagnosing whose diagnosis flow
 * was never added, and one waiting for a diagnosis that finished while nobody settled it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { newDiagnosisId } from '../../src/diagnosis/ids.js';
import type { DiagnosisRun, LifecycleEvent } from '../../src/lifecycle/types.js';
import { waitFor } from '../helpers/wait.js';
import { startStack, type Stack } from './lifecycle-helpers.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack([{ name: 'rec', channel: 'C0RECOVER', scenario: 'subnet-env-deleted' }], {
    // Only the explicit sweeps below run.
    bot: { lifecycle: { reconcileIntervalMs: 0, verifyIntervalMs: 300 } },
  });
}, 90_000);

afterAll(async () => {
  await stack?.stop();
});

/** The incident once it awaits approval of plan v`version` or a later one. */
async function awaiting(version: number) {
  return waitFor(
    `the incident awaiting approval of plan v${version}`,
    async () => {
      const [incident] = await stack.bot.store.list({ cluster: 'rec', limit: 1 });
      return incident?.state === 'awaiting-approval' && Number(incident.extras.planVersion) >= version
        ? incident
        : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}

/** What a crash right after the state change (before the diagnosis flow was added) leaves in Redis. */
async function crashAfterTransition(incidentId: string, run: DiagnosisRun) {
  await stack.bot.store.transition(incidentId, 'diagnosing', {
    actor: 'UALICE',
    reason: 're-run diagnosis',
    expectState: 'awaiting-approval',
    extras: { diagnosisRun: run },
  });
}

/**
 * Holds the settle job that offers plan v`version` right after it moved the incident on (in the sinks, while
 * it posts the plan): its job stays active, as when the process dies there before the job is marked done.
 */
function holdPlanOffer(version: number) {
  let release!: () => void;
  let reached!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const reachedP = new Promise<void>((r) => (reached = r));
  stack.bot.lifecycle.addSink({
    name: `hold-plan-v${version}`,
    async handle(e: LifecycleEvent) {
      if (e.type !== 'plan' || e.view.plan.version !== version) return;
      reached();
      await released;
    },
  });
  return { reached: reachedP, release };
}

const longAgo = () => new Date(Date.now() - 60_000).toISOString();

describe('recovery of what a crash left half done', () => {
  it('a diagnosing incident whose flow was never added gets its diagnosis and the next plan', async () => {
    const incident = await awaiting(1);
    await crashAfterTransition(incident.id, {
      id: newDiagnosisId(),
      purpose: 'incident',
      by: 'UALICE',
      at: longAgo(),
    });
    // One sweep adds the flow; its settle job offers the next plan.
    await stack.bot.lifecycle.reconcile();
    await awaiting(2);
  }, 150_000);

  it('a diagnosing incident whose diagnosis finished unseen settles from the stored result', async () => {
    const incident = await awaiting(2);
    const version = Number(incident.extras.planVersion);
    // The run it waits for is the one that made the current plan: finished long ago, its settle job done.
    const finished = (incident.extras.verdict as { diagnosis: string }).diagnosis;
    expect(await stack.bot.diagnosis.getResult(finished)).toBeDefined();
    await crashAfterTransition(incident.id, {
      id: finished,
      purpose: 'incident',
      by: 'UALICE',
      at: longAgo(),
    });
    // ONE sweep settles it, even though the settle job that made the current plan may still be finishing (a
    // user would otherwise wait for the next periodic sweep, 60 s later).
    await stack.bot.lifecycle.reconcile();
    const [settled] = await stack.bot.store.list({ cluster: 'rec', limit: 1 });
    expect(settled?.state).toBe('awaiting-approval');
    expect(settled?.extras.planVersion).toBe(version + 1);
    expect((settled?.extras.verdict as { diagnosis: string }).diagnosis).toBe(finished);
  }, 150_000);

  it('one sweep settles it even while the settle job that made the current plan is still running', async () => {
    const incident = await awaiting(3);
    const version = Number(incident.extras.planVersion);
    const run: DiagnosisRun = { id: newDiagnosisId(), purpose: 'incident', by: 'UALICE', at: longAgo() };
    const held = holdPlanOffer(version + 1);
    try {
      await crashAfterTransition(incident.id, run);
      await stack.bot.lifecycle.reconcile();
      // The run's settle job offered plan v+1 and is still active, then the incident is left diagnosing for
      // that same finished run (what a crash between the job's writes leaves behind).
      await held.reached;
      await crashAfterTransition(incident.id, { ...run, at: longAgo() });
      await stack.bot.lifecycle.reconcile();
      const [settled] = await stack.bot.store.list({ cluster: 'rec', limit: 1 });
      expect(settled?.state).toBe('awaiting-approval');
      expect(settled?.extras.planVersion).toBe(version + 2);
      expect((settled?.extras.verdict as { diagnosis: string }).diagnosis).toBe(run.id);
    } finally {
      held.release();
    }
  }, 150_000);
});
