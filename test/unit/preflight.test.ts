import { describe, expect, it } from '@jest/globals';
import type { AffectedNodeFacts, NodeHealthFacts } from '../../src/diagnosis/affected-nodes.js';
import type { DiagnosisDocument } from '../../src/diagnosis/assemble.js';
import { formatPreflight, judgePreflight, pickPreflightNodes } from '../../src/diagnosis/preflight.js';
import { parseClustersConfig } from '../../src/config/clusters.js';
import { desiredSchedulers } from '../../src/lifecycle/schedules.js';

const node = (name: string, extra: Partial<NodeHealthFacts> = {}): NodeHealthFacts => ({
  name,
  stuckPods: 0,
  cniNotReady: false,
  networkUnavailable: false,
  ready: true,
  flannelReady: true,
  ...extra,
});

describe('pickPreflightNodes', () => {
  const many: AffectedNodeFacts = {
    flannelDeployed: true,
    nodes: Array.from({ length: 10 }, (_, i) => node(`worker-${i}`)),
  };

  it('samples working nodes spread over the cluster, not just the first ones', () => {
    expect(pickPreflightNodes(many, { sample: 3 }).nodes).toEqual(['worker-0', 'worker-3', 'worker-6']);
  });

  it('probes the affected nodes first, then the sample beside them', () => {
    const facts = { ...many, nodes: many.nodes.map((n, i) => (i === 7 ? { ...n, stuckPods: 4 } : n)) };
    const picked = pickPreflightNodes(facts, { sample: 2 }).nodes;
    expect(picked[0]).toBe('worker-7');
    expect(picked).toHaveLength(3);
    expect(new Set(picked).size).toBe(3);
  });

  it('takes no sample without a Flannel DaemonSet (missing, or embedded in k3s) or from nodes that do not work', () => {
    expect(pickPreflightNodes({ ...many, flannelDeployed: false }, { sample: 3 }).nodes).toEqual([]);
    const broken = {
      flannelDeployed: true,
      nodes: [node('a', { ready: false }), node('b', { flannelReady: false })],
    };
    // `b` has no ready Flannel pod: it is affected (probed for that), never a sample.
    expect(pickPreflightNodes(broken, { sample: 3 }).nodes).toEqual(['b']);
  });
});

const doc = (over: Partial<DiagnosisDocument>): DiagnosisDocument =>
  ({
    id: 'd1',
    cluster: 'prod',
    runbookId: 'flannel',
    nodes: ['worker-1'],
    startedAt: '',
    finishedAt: '',
    healthy: true,
    causes: [],
    checks: [
      { id: 'flannel-daemonset', status: 'ok', summary: 'ready on 3/3 nodes', evidence: [], findings: [] },
      { id: 'node-cni-plugins', status: 'ok', summary: 'all plugins', evidence: [], findings: [] },
    ],
    plan: [],
    network: { warnings: [] },
    ...over,
  }) as unknown as DiagnosisDocument;

describe('judgePreflight', () => {
  it('ready: exit 0; each requirement from its checks (none run: skipped)', () => {
    const r = judgePreflight(doc({}));
    expect(r).toMatchObject({ verdict: 'ready', exitCode: 0, cluster: 'prod', nodesProbed: ['worker-1'] });
    const status = Object.fromEntries(r.requirements.map((q) => [q.id, q.status]));
    expect(status).toEqual({
      'flannel-deployed': 'ok',
      'flannel-ready': 'ok',
      'pod-network': 'skipped',
      'node-cni': 'ok',
      'pods-start': 'skipped',
    });
  });

  it('a cause or a failed check: not ready (1); the worst check decides its requirement', () => {
    const r = judgePreflight(
      doc({
        healthy: false,
        causes: [{ id: 'cni-plugin-missing', summary: 'bridge missing', nodes: ['worker-1'] }] as never,
        checks: [
          { id: 'flannel-daemonset', status: 'ok', summary: '', evidence: [], findings: [] },
          { id: 'node-cni-config', status: 'warn', summary: '', evidence: [], findings: [] },
          { id: 'node-cni-plugins', status: 'fail', summary: 'bridge missing', evidence: [], findings: [] },
        ],
      }),
    );
    expect(r).toMatchObject({ verdict: 'not-ready', exitCode: 1 });
    expect(r.requirements.find((q) => q.id === 'node-cni')?.status).toBe('fail');
    expect(formatPreflight(r)).toMatch(/^NOT READY: cluster prod is not ready for pods\n/);
    expect(formatPreflight(r)).toContain('1. cni-plugin-missing: bridge missing (nodes: worker-1)');
  });

  it('a check that could not run and nothing found: could not tell (2)', () => {
    const r = judgePreflight(
      doc({
        healthy: false,
        checks: [
          {
            id: 'node-cni-plugins',
            status: 'error',
            summary: 'probe pod failed',
            evidence: [],
            findings: [],
          },
        ],
      }),
    );
    expect(r).toMatchObject({ verdict: 'unknown', exitCode: 2 });
    expect(r.requirements.find((q) => q.id === 'node-cni')?.status).toBe('unknown');
  });
});

describe('desiredSchedulers', () => {
  it('one scheduler per configured schedule: diagnosis when set, backups unless off', () => {
    const { clusters } = parseClustersConfig({
      clusters: [
        { name: 'prod', channel: 'C0PROD', schedule: '*/30 * * * *' },
        { name: 'lab', channel: 'C0LAB', backups: { schedule: 'off' } },
      ],
    });
    expect(Object.fromEntries(desiredSchedulers(clusters))).toEqual({
      'diagnose-prod': { kind: 'diagnosis', cluster: 'prod', pattern: '*/30 * * * *' },
      'backup-prod': { kind: 'backup', cluster: 'prod', pattern: '0 3 * * *' },
    });
  });
});
