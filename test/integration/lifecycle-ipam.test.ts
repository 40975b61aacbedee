/**
 * Leaked host-local reservations (scenario ipam-leak) released through an approved step: the node action runs
 * its host script in a privileged pod on the node, under host-local's lock; an IP that became a pod's between
 * the preview and the run is kept; the node heals and the incident resolves.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { waitFor } from '../helpers/wait.js';
import {
  answerText,
  clientsOf,
  clusterState,
  incidentRoot,
  planMessage,
  replies,
  startStack,
  textOf,
  type Stack,
} from './lifecycle-helpers.js';

const CH = 'C0IPAM';
let stack: Stack;

beforeAll(async () => {
  stack = await startStack([{ name: 'leaky', channel: CH, scenario: 'ipam-leak' }]);
}, 90_000);

afterAll(async () => {
  await stack?.stop();
});

describe('releasing leaked IPs', () => {
  it("keeps an IP that became a pod's after the preview, releases the leaked ones, and heals the node", async () => {
    const plan = await waitFor('the plan', () => planMessage(stack.slack, CH), { timeoutMs: 60_000 });
    const text = textOf(plan);
    expect(text).toMatch(/Release \d+ leaked IP reservations? on worker-1/);
    expect(text).toContain('flock');
    const [incident] = await stack.bot.store.list({ cluster: 'leaky', limit: 1 });
    const view = await stack.bot.lifecycle.planView(incident.id, 1);
    const release = view!.plan.steps.find((s) => s.action === 'release-leaked-ips')!;
    const planned = release.nodePreviews!['worker-1'].data!.ips as string[];
    expect(planned.length).toBeGreaterThan(5);
    const host = stack.sims.get('leaky')!.hosts.get('worker-1')!;
    const reservation = (ip: string) => host.exists(`/var/lib/cni/networks/cbr0/${ip}`);
    expect(planned.every(reservation)).toBe(true);

    // Between the preview and the run, one planned reservation is freed (by hand, say) and a stuck pod's
    // retry takes that IP: the API now says it is a pod's.
    const taken = planned[0];
    host.remove(`/var/lib/cni/networks/cbr0/${taken}`);
    const kube = clientsOf(stack.sims.get('leaky')!);
    const holder = await waitFor(
      `a pod to get ${taken}`,
      async () =>
        (await kube.core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=worker-1' })).items.find(
          (p) => p.status?.podIP === taken,
        ),
      { timeoutMs: 20_000 },
    );
    expect(reservation(taken)).toBe(true);

    for (const [index, step] of view!.plan.steps.entries()) {
      const action = `approve-${index + 1}`;
      expect(
        answerText(await stack.slack.click({ user: 'UALICE', channel: CH, ts: plan.ts, action_id: action })),
      ).toMatch(new RegExp(`Step ${step.index} approved`));
    }
    await waitFor(
      'the root to show Resolved',
      () => /^Resolved:/.test(incidentRoot(stack.slack, CH)?.text ?? ''),
      {
        timeoutMs: 120_000,
      },
    );
    expect(reservation(taken)).toBe(true);
    expect(reservation('lock')).toBe(true);
    const thread = replies(stack.slack, CH).map(textOf).join('\n');
    expect(thread).toContain(`kept 1: ${taken} (pod-ip)`);
    expect(thread).toContain(`released ${planned.length - 1}:`);
    // The freed range is in use again — by the pods that were stuck, and by nothing else.
    const pods = (
      await clientsOf(stack.sims.get('leaky')!).core.listPodForAllNamespaces({
        fieldSelector: 'spec.nodeName=worker-1',
      })
    ).items;
    const podIps = new Set(pods.map((p) => p.status?.podIP));
    expect(planned.slice(1).filter((ip) => reservation(ip) && !podIps.has(ip))).toEqual([]);
    expect((await clusterState(stack.sims.get('leaky')!)).stuck).toEqual([]);
  });
});
