import { describe, expect, it } from '@jest/globals';
import { pickAffectedNodes, type NodeHealthFacts } from '../../src/diagnosis/affected-nodes.js';
import { newDiagnosisId, stableDiagnosisId } from '../../src/diagnosis/ids.js';
import { buildDiagnosisFlow, type DiagnosisJobData } from '../../src/diagnosis/flow.js';
import { snapshotFrom } from '../../src/diagnosis/progress.js';

const node = (name: string, extra: Partial<NodeHealthFacts> = {}): NodeHealthFacts => ({
  name,
  stuckPods: 0,
  cniNotReady: false,
  networkUnavailable: false,
  flannelReady: true,
  ...extra,
});

describe('pickAffectedNodes', () => {
  it('probes one working node as a sample on a healthy cluster, none without a Flannel DaemonSet', () => {
    const healthy = pickAffectedNodes({
      flannelDeployed: true,
      nodes: [node('b'), node('a', { ready: false }), node('c')],
    });
    expect(healthy.nodes).toEqual(['b']);
    expect(healthy.reasons.b[0]).toMatch(/^sample: .*network report/);
    // Embedded Flannel (k3s/RKE2) keeps its CNI files where the probe does not look: no sample.
    const embedded = pickAffectedNodes({
      flannelDeployed: false,
      nodes: [node('a', { flannelReady: undefined })],
    });
    expect(embedded.nodes).toEqual([]);
    expect(pickAffectedNodes({ flannelDeployed: true, nodes: [node('a')] }, { sample: false }).nodes).toEqual(
      [],
    );
  });

  it('probes the nodes whose pod IPs are wrong, though nothing else looks affected there', () => {
    const picked = pickAffectedNodes({
      flannelDeployed: true,
      nodes: [
        node('a'),
        node('b', { podIpProblems: ['3 pod(s) with IPs outside the Flannel Network'] }),
        node('c', { stuckPods: 1 }),
      ],
    });
    expect(picked.nodes).toEqual(['c', 'b']);
    expect(picked.reasons.b).toEqual(['3 pod(s) with IPs outside the Flannel Network']);
  });

  it('puts the incident nodes first, then the most stuck pods, and caps the list', () => {
    const picked = pickAffectedNodes(
      {
        flannelDeployed: true,
        nodes: [
          node('a', { stuckPods: 2 }),
          node('b', { stuckPods: 9 }),
          node('c', { cniNotReady: true }),
          node('d', { flannelReady: false }),
          node('e'),
        ],
      },
      { incidentNodes: ['c', 'gone'], max: 3 },
    );
    expect(picked.nodes).toEqual(['c', 'b', 'a']);
    expect(picked.notProbed).toEqual(['d']);
    expect(picked.reasons.b).toEqual(['9 pod(s) stuck in ContainerCreating']);
  });

  it('a node without a ready Flannel pod counts only when Flannel is deployed', () => {
    const facts = { nodes: [node('a', { flannelReady: false })] };
    expect(pickAffectedNodes({ ...facts, flannelDeployed: false }, { sample: false }).nodes).toEqual([]);
    expect(pickAffectedNodes({ ...facts, flannelDeployed: true }).nodes).toEqual(['a']);
  });
});

describe('diagnosis ids', () => {
  it('are short, URL-safe, never all digits and free of ":" (BullMQ job ids)', () => {
    for (let i = 0; i < 200; i++) {
      const id = newDiagnosisId();
      expect(id).toMatch(/^[a-z][a-z0-9]{9}$/);
    }
  });
  it('are stable per (cluster, request key)', () => {
    expect(stableDiagnosisId('prod', 'T123')).toBe(stableDiagnosisId('prod', 'T123'));
    expect(stableDiagnosisId('prod', 'T123')).not.toBe(stableDiagnosisId('staging', 'T123'));
  });
});

describe('buildDiagnosisFlow', () => {
  const data: DiagnosisJobData = {
    id: 'abc',
    cluster: 'prod',
    runbookId: 'flannel',
    nodes: ['w1', 'w2'],
    nodesNotProbed: [],
    startedAt: '2024-01-01T00:00:00Z',
    checks: [{ id: 'flannel-daemonset' }, { id: 'node-ipam', params: { x: 1 } }, { id: 'stuck-pods' }],
  };

  it('has a child per API check and a node-checks job over one probe per node', () => {
    const flow = buildDiagnosisFlow(data, { attempts: 3, backoffMs: 10 });
    expect(flow.opts?.jobId).toBe('d-abc');
    const children = flow.children ?? [];
    expect(children.map((c) => c.opts?.jobId)).toEqual([
      'd-abc-flannel-daemonset',
      'd-abc-stuck-pods',
      'd-abc-node-checks',
    ]);
    const nodeChecks = children[2];
    expect(nodeChecks.data.checks).toEqual([{ id: 'node-ipam', params: { x: 1 } }]);
    expect(nodeChecks.children?.map((c) => c.opts?.jobId)).toEqual(['d-abc-probe-w1', 'd-abc-probe-w2']);
    // A child that fails for good must not leave the parent waiting forever.
    for (const child of [...children, ...(nodeChecks.children ?? [])]) {
      expect(child.opts).toMatchObject({ ignoreDependencyOnFailure: true, attempts: 3 });
      expect(child.opts?.jobId).not.toContain(':');
    }
  });
});

describe('progress snapshots', () => {
  it('lists checks in order with their state and counts probes', () => {
    const snapshot = snapshotFrom({
      meta: JSON.stringify({
        id: 'abc',
        cluster: 'prod',
        checks: ['flannel-pods', 'node-ipam'],
        nodes: ['w1', 'w2'],
      }),
      seq: '4',
      'c:flannel-pods': JSON.stringify({ state: 'fail', summary: 'crash-looping on w1' }),
      'c:node-ipam': JSON.stringify({ state: 'pending' }),
      'p:w1': 'done',
      'p:w2': 'running',
    });
    expect(snapshot).toEqual({
      id: 'abc',
      cluster: 'prod',
      phase: 'probing',
      checks: [
        { id: 'flannel-pods', state: 'fail', summary: 'crash-looping on w1' },
        { id: 'node-ipam', state: 'pending' },
      ],
      probes: { total: 2, done: 1, failed: 0 },
      seq: 4,
    });
  });
});
