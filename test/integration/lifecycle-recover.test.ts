/**
 * A state is never entered without the work that leaves it (issue 5/9): the coordinator's recovery sweep
 * repairs what a crash between two writes leaves behind — an incident marked diagnosing whose diagnosis flow
 * was never added, and one waiting for a diagnosis that finished while nobody settled it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { newDiagnosisId } from '../../src/diagnosis/ids.js';
import type { DiagnosisRun } from '../../src/lifecycle/types.js';
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

/**
 * The incident once it awaits approval of plan v`version` or a later one. With `sweep`, each look first runs
 * the recovery sweep, as the bot's periodic one would (a sweep that lost a race to running work repairs it the
 * next time round).
 */
async function awaiting(version: number, sweep = false) {
  return waitFor(
    `the incident awaiting approval of plan v${version}`,
    async () => {
      if (sweep) await stack.bot.lifecycle.reconcile();
      const [incident] = await stack.bot.store.list({ cluster: 'rec', limit: 1 });
      return incident?.state === 'awaiting-approval' && Number(incident.extras.planVersion) >= version
        ? incident
        : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 1000 },
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
    await awaiting(2, true);
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
    const settled = await awaiting(version + 1, true);
    expect(settled.extras.planVersion).toBe(version + 1);
    expect((settled.extras.verdict as { diagnosis: string }).diagnosis).toBe(finished);
  }, 150_000);
});
