/**
 * The per-cluster probe cap (clusters.yaml remediation.probeConcurrency) holds in the running bot: a cluster
 * with many affected nodes and a cap of 1 never has two probe pods running at once, and its queue of probes
 * does not hold up another cluster's diagnosis. Probe pods are seen in the simulators' own stores.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PROBE_APP_LABEL } from '../../src/checks/probe/pod.js';
import type { Simulator } from '../../src/sim/kube/simulator.js';
import { waitFor } from '../helpers/wait.js';
import { startStack, textOf, type Stack } from './lifecycle-helpers.js';

let stack: Stack;

/** Probe pods created, and the most running (not yet being deleted) at any one moment. */
function trackProbes(sim: Simulator) {
  const running = new Set<string>();
  const seen = new Set<string>();
  let max = 0;
  sim.store.subscribe(({ type, object, resource }) => {
    if (resource.kind !== 'Pod') return;
    const labels = object.metadata.labels ?? {};
    if (labels['app.kubernetes.io/name'] !== PROBE_APP_LABEL) return;
    const name = object.metadata.name;
    if (type === 'DELETED' || object.metadata.deletionTimestamp) running.delete(name);
    else {
      running.add(name);
      seen.add(name);
    }
    max = Math.max(max, running.size);
  });
  return { created: () => seen.size, max: () => max };
}

const planPosted = (channel: string) =>
  stack.slack
    .messages(channel)
    .find((m) => !m.ephemeral_to && /Incident `inc-/.test(textOf(m)))
    ?.replies.some((r) => /^Remediation plan v/.test(r.text));

beforeAll(async () => {
  stack = await startStack([
    {
      name: 'capped',
      channel: 'C0CAPPED',
      scenario: 'flannel-missing',
      sim: { nodes: 6 },
      extra: { remediation: { probeConcurrency: 1 } },
    },
    { name: 'other', channel: 'C0OTHER', scenario: 'flannel-missing' },
  ]);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

describe('per-cluster probe cap', () => {
  it('runs one probe pod at a time on the capped cluster while the other cluster is diagnosed too', async () => {
    const capped = trackProbes(stack.sims.get('capped')!);
    const other = trackProbes(stack.sims.get('other')!);
    await waitFor(
      'both diagnoses to finish with a plan',
      () => planPosted('C0CAPPED') && planPosted('C0OTHER'),
      {
        timeoutMs: 180_000,
      },
    );
    // The cap mattered: several nodes were probed, never two at once.
    expect(capped.created()).toBeGreaterThan(1);
    expect(capped.max()).toBe(1);
    expect(other.created()).toBeGreaterThan(0);
  }, 240_000);
});
