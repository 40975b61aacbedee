/**
 * The remediation actions' pure decisions: which Flannel to apply where and with what configuration, the host
 * scripts node actions run (only validated data reaches them), and the plan message people approve from.
 */
import { describe, expect, it } from '@jest/globals';
import {
  decideManifest,
  headlineOf,
  type ManifestFacts,
} from '../../src/remediations/actions/reapply-flannel-manifest.js';
import { IPAM_DIR, releaseScript } from '../../src/remediations/actions/release-leaked-ips.js';
import { removeNetnsScript } from '../../src/remediations/actions/remove-leftover-netns.js';
import { nsenterCommand, shQuote } from '../../src/remediations/node-pod.js';
import type { PlannedStep, PlanView } from '../../src/lifecycle/types.js';
import { renderPlan } from '../../src/slack/render/plan.js';
import { MAX_BLOCKS, MAX_MESSAGE_CHARS } from '../../src/slack/render/blocks.js';
import { outcomeText } from '../../src/slack/render/outcomes.js';

const facts = (over: Partial<ManifestFacts> = {}): ManifestFacts => ({
  kubernetesVersion: 'v1.33.4',
  leftovers: [],
  leftoverNamespaces: [],
  podCIDRs: ['10.244.0.0/24', '10.244.1.0/24'],
  ...over,
});

describe('which Flannel manifest to apply', () => {
  it('installs the newest release that suits the cluster when none ever ran, Network from the podCIDRs', () => {
    const out = decideManifest(facts());
    if ('blocker' in out) throw new Error(out.blocker);
    expect(headlineOf(out.decision)).toBe('Install Flannel v0.28.9 (suits Kubernetes v1.33.4)');
    expect(out.decision).toMatchObject({
      namespace: 'kube-flannel',
      network: '10.244.0.0/16',
      mode: 'install',
    });
    expect(out.notes.join('\n')).toContain("Network 10.244.0.0/16 is taken from the nodes' podCIDRs");
  });

  it('pins the running version and keeps a valid net-conf.json verbatim', () => {
    const netConf = '{ "Network": "10.42.0.0/16", "Backend": { "Type": "host-gw" } }';
    const out = decideManifest(
      facts({
        daemonSet: {
          namespace: 'kube-flannel',
          name: 'kube-flannel-ds',
          image: 'docker.io/flannel/flannel:v0.24.2',
        },
        configMap: {
          namespace: 'kube-flannel',
          name: 'kube-flannel-cfg',
          data: { 'net-conf.json': netConf },
        },
      }),
    );
    if ('blocker' in out) throw new Error(out.blocker);
    expect(headlineOf(out.decision)).toBe('Re-apply Flannel v0.24.2 (the running version)');
    expect(out.decision.netConf).toBe(netConf);
    expect(out.decision.network).toBeUndefined();
  });

  it('re-installs a legacy kube-system install in place, never a second one in kube-flannel', () => {
    const out = decideManifest(
      facts({
        kubernetesVersion: 'v1.24.17',
        leftovers: ['configmap kube-system/kube-flannel-cfg', 'serviceaccount kube-system/flannel'],
        leftoverNamespaces: ['kube-system'],
        configMap: {
          namespace: 'kube-system',
          name: 'kube-flannel-cfg',
          data: { 'net-conf.json': '{not json' },
        },
      }),
    );
    if ('blocker' in out) throw new Error(out.blocker);
    expect(out.decision).toMatchObject({
      namespace: 'kube-system',
      mode: 'reinstall',
      network: '10.244.0.0/16',
    });
    expect(out.notes.join('\n')).toMatch(/net-conf.json is not valid JSON/);
  });

  it('refuses embedded Flannel and releases it does not know', () => {
    expect(decideManifest(facts({ embedded: 'k3s' }))).toEqual({
      blocker: 'Flannel is embedded in k3s (no DaemonSet to apply): restart the k3s agent instead',
    });
    const unknown = decideManifest(
      facts({
        daemonSet: {
          namespace: 'kube-flannel',
          name: 'kube-flannel-ds',
          image: 'example.com/my/flannel:latest',
        },
      }),
    );
    expect('blocker' in unknown && unknown.blocker).toMatch(/no Flannel release flannel-ops knows/);
  });
});

describe('host scripts of node actions', () => {
  it("releases only addresses, under host-local's lock, keeping pod IPs and live sandboxes", () => {
    const script = releaseScript('cbr0', ['10.244.1.5', '10.244.1.6'], ['10.244.1.7']);
    expect(script).toContain(`dir=${IPAM_DIR}/cbr0`);
    expect(script).toContain('flock "$dir/lock"');
    expect(script).toContain('keep=" 10.244.1.7 "');
    expect(script).toMatch(/crictl pods -q --no-trunc/);
    expect(script.trim().endsWith('10.244.1.5 10.244.1.6')).toBe(true);
    expect(() => releaseScript('cbr0', ['lock'], [])).toThrow(/not an IPv4 address: lock/);
    expect(() => releaseScript('cbr0', ['last_reserved_ip.0'], [])).toThrow(/not an IPv4 address/);
    expect(() => releaseScript('cbr0; rm -rf /', ['10.0.0.1'], [])).toThrow(/not a CNI network name/);
  });

  it('removes only well-formed namespace names, each re-checked against the sandboxes', () => {
    expect(removeNetnsScript(['cni-1111'])).toMatch(/crictl inspectp[\s\S]*ip netns delete "\$ns"/);
    expect(() => removeNetnsScript(['../etc'])).toThrow(/not a network namespace name/);
    expect(() => removeNetnsScript(['a b'])).toThrow(/not a network namespace name/);
  });

  it('enters the host through nsenter, the host script quoted whatever it contains', () => {
    expect(shQuote(`it's`)).toBe(`'it'\\''s'`);
    expect(nsenterCommand(`echo 'x'`)).toBe(`exec nsenter -t 1 -m -u -i -n -p -- sh -c 'echo '\\''x'\\'''`);
  });
});

const planStep = (index: number, over: Partial<PlannedStep> = {}): PlannedStep => ({
  id: `step-${index}`,
  step: `step-${index}`,
  index,
  action: 'restart-kubelet',
  risk: 'medium',
  title: `Step ${index}`,
  reportOnly: false,
  causes: ['flannel-not-deployed'],
  required: 1,
  nodes: ['worker-1', 'worker-2'],
  preview: {
    headline: `Restart kubelet <!channel> ${index}`,
    lines: Array.from({ length: 30 }, (_, i) => `line ${i} <https://evil.example|click> ${'x'.repeat(200)}`),
    commands: ['systemctl restart kubelet'],
    via: 'node-pod',
  },
  ...over,
});

function planView(steps: PlannedStep[], over: Partial<PlanView['plan']> = {}): PlanView {
  return {
    plan: {
      incidentId: 'inc-abc12345',
      cluster: 'prod',
      version: 2,
      diagnosisId: 'd1',
      createdAt: '2026-01-01T00:00:00Z',
      expiresAt: '2999-01-01T00:00:00Z',
      approvers: { users: [], groups: ['oncall'] },
      headline: 'Flannel is not deployed',
      causes: [],
      steps,
      notOffered: [],
      ...over,
    },
    states: Object.fromEntries(
      steps.map((s) => [s.id, { state: 'awaiting' as const, approvals: [], nodes: {}, lines: [] }]),
    ),
  };
}

const buttonsOf = (blocks: unknown[]) =>
  blocks.flatMap((b) =>
    (b as { type: string }).type === 'actions'
      ? (b as { elements: Array<{ action_id: string; value: string; confirm?: unknown }> }).elements
      : [],
  );

describe('the plan message', () => {
  it('keeps Slack limits, unique action ids, opaque values, and escapes what it quotes', () => {
    const steps = Array.from({ length: 9 }, (_, i) =>
      planStep(i + 1, i === 0 ? { risk: 'high', required: 2 } : {}),
    );
    const buttons = Object.fromEntries(
      steps.map((s) => [
        s.id,
        { approve: `a${s.index}`.padEnd(24, '0'), reject: `r${s.index}`.padEnd(24, '0') },
      ]),
    );
    const message = renderPlan(planView(steps), buttons, { current: true });
    expect(message.blocks.length).toBeLessThanOrEqual(MAX_BLOCKS);
    expect(JSON.stringify(message.blocks).length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS + 1000);
    const all = buttonsOf(message.blocks);
    // Every step keeps its buttons, however long the plan.
    expect(all.filter((b) => b.action_id.startsWith('approve-'))).toHaveLength(9);
    expect(new Set(all.map((b) => b.action_id)).size).toBe(all.length);
    expect(all.every((b) => /^[ar]\d0+$/.test(b.value))).toBe(true);
    expect(all.find((b) => b.action_id === 'approve-1')?.confirm).toBeDefined();
    expect(all.find((b) => b.action_id === 'approve-2')?.confirm).toBeUndefined();
    const text = JSON.stringify(message.blocks);
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<https://evil.example|click>');
  });

  it('shows no buttons on a superseded or expired plan, or where nobody may approve', () => {
    const steps = [planStep(1)];
    const buttons = { 'step-1': { approve: 'a'.repeat(24), reject: 'b'.repeat(24) } };
    expect(buttonsOf(renderPlan(planView(steps), buttons, { current: false }).blocks)).toEqual([]);
    expect(
      buttonsOf(
        renderPlan(planView(steps, { expiresAt: '2000-01-01T00:00:00Z' }), buttons, { current: true }).blocks,
      ),
    ).toEqual([]);
    const nobody = renderPlan(planView(steps, { approvers: { users: [], groups: [] } }), buttons, {
      current: true,
    });
    expect(buttonsOf(nobody.blocks)).toEqual([]);
    expect(JSON.stringify(nobody.blocks)).toContain('nobody may approve on this cluster');
  });

  it('answers every refusal in words, without echoing markup', () => {
    const text = outcomeText(
      { ok: false, refusal: { code: 'unknown-cluster', cluster: '<!here>', known: ['prod'] } },
      () => undefined,
    );
    expect(text).not.toContain('<!here>');
    expect(
      outcomeText(
        {
          ok: false,
          refusal: { code: 'rate-limited', scope: 'user', cluster: 'prod', retryAfterSeconds: 12, limit: 3 },
        },
        () => undefined,
      ),
    ).toBe(':no_entry: You started 3 diagnoses in the last minute: try again in 12s.');
  });
});
