/** evaluate() of node-podcidrs, node-conditions and node-annotations from plain facts. */
import { describe, expect, it } from '@jest/globals';
import { evaluateNodePodCidrs } from '../../src/checks/api/node-podcidrs.js';
import { evaluateNodeConditions, type NodeConditionsFacts } from '../../src/checks/api/node-conditions.js';
import { evaluateNodeAnnotations } from '../../src/checks/api/node-annotations.js';
import { CNI_NOT_READY } from './checks-api-fixtures.js';

const causes = (r: { findings: Array<{ cause: string }> }) => r.findings.map((f) => f.cause);

describe('node-podcidrs', () => {
  const nodes = [
    { name: 'cp-1', podCIDRs: ['10.244.0.0/24'] },
    { name: 'worker-1', podCIDRs: ['10.244.1.0/24'] },
  ];

  it('is ok when every podCIDR lies in the Network without overlaps', () => {
    const r = evaluateNodePodCidrs({ nodes, network: '10.244.0.0/16', flannelPresent: true });
    expect(r.status).toBe('ok');
    expect(r.facts?.podCIDRs).toEqual({ 'cp-1': '10.244.0.0/24', 'worker-1': '10.244.1.0/24' });
  });

  it('reports podcidr-missing for nodes without spec.podCIDR', () => {
    const r = evaluateNodePodCidrs({
      nodes: [...nodes, { name: 'worker-2', podCIDRs: [] }],
      network: '10.244.0.0/16',
      flannelPresent: true,
    });
    expect(r.status).toBe('fail');
    expect(causes(r)).toEqual(['podcidr-missing']);
    expect(r.findings[0].nodes).toEqual(['worker-2']);
    expect(r.findings[0].confidence).toBeGreaterThanOrEqual(0.85);
    expect(r.findings[0].evidence.join('\n')).toContain('--allocate-node-cidrs');
  });

  it('reports podcidr-outside-network with the Network and each node range', () => {
    const r = evaluateNodePodCidrs({
      nodes: [...nodes, { name: 'worker-2', podCIDRs: ['10.42.2.0/24'] }],
      network: '10.244.0.0/16',
      networkSource: 'kubectl -n kube-flannel get configmap kube-flannel-cfg (net-conf.json)',
      flannelPresent: true,
    });
    expect(causes(r)).toEqual(['podcidr-outside-network']);
    expect(r.findings[0].nodes).toEqual(['worker-2']);
    expect(r.findings[0].data).toEqual({
      network: '10.244.0.0/16',
      podCIDRs: { 'worker-2': '10.42.2.0/24' },
    });
    expect(r.evidence.join('\n')).toContain('worker-2 podCIDR 10.42.2.0/24 is outside 10.244.0.0/16');
  });

  it('warns about overlapping podCIDRs with the pair as evidence', () => {
    const r = evaluateNodePodCidrs({
      nodes: [...nodes, { name: 'worker-2', podCIDRs: ['10.244.1.0/24'] }],
      network: '10.244.0.0/16',
      flannelPresent: true,
    });
    expect(r.status).toBe('warn');
    expect(r.evidence.join('\n')).toContain('worker-1 10.244.1.0/24 overlaps worker-2 10.244.1.0/24');
  });

  it('still checks for missing podCIDRs when the Network is unknown, ignoring IPv6 ranges', () => {
    const r = evaluateNodePodCidrs({
      nodes: [
        { name: 'a', podCIDRs: ['10.244.0.0/24', 'fd00:10:244::/64'] },
        { name: 'b', podCIDRs: [] },
      ],
      flannelPresent: false,
    });
    expect(causes(r)).toEqual(['podcidr-missing']);
    expect(r.findings[0].confidence).toBeLessThan(0.85);
    expect(r.evidence.join('\n')).toContain('Network unknown');
  });
});

describe('node-conditions', () => {
  const notReady = { type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: CNI_NOT_READY };
  const ready = { type: 'Ready', status: 'True', reason: 'KubeletReady' };
  const flannelUp = { type: 'NetworkUnavailable', status: 'False', reason: 'FlannelIsUp' };

  it('blames a missing Flannel with low confidence when nodes are NotReady and no Flannel exists', () => {
    const r = evaluateNodeConditions({
      nodes: [
        { name: 'a', ready: notReady },
        {
          name: 'b',
          ready: {
            ...notReady,
            message:
              'runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:docker: network plugin is not ready: cni config uninitialized',
          },
        },
      ],
      flannelDeployed: false,
      flannelPodReady: {},
    });
    expect(r.status).toBe('fail');
    expect(causes(r)).toEqual(['flannel-not-deployed']);
    expect(r.findings[0].confidence).toBeLessThan(0.5);
    expect(r.findings[0].nodes).toEqual(['a', 'b']);
    expect(r.evidence[0]).toContain('cni plugin not initialized');
  });

  it('points at the Flannel pod when Flannel is deployed, and at NetworkUnavailable left set', () => {
    const facts: NodeConditionsFacts = {
      nodes: [
        { name: 'a', ready: notReady },
        {
          name: 'b',
          ready,
          networkUnavailable: { type: 'NetworkUnavailable', status: 'True', reason: 'NoRouteCreated' },
        },
        { name: 'c', ready },
        { name: 'd', ready, networkUnavailable: flannelUp },
      ],
      flannelDeployed: true,
      flannelPodReady: { a: false, b: false, c: false, d: true },
    };
    const r = evaluateNodeConditions(facts);
    expect(r.status).toBe('fail');
    expect(r.findings.map((f) => [f.cause, f.nodes])).toEqual([
      ['flannel-pod-failing', ['a']],
      ['flannel-pod-failing', ['b', 'c']],
    ]);
    expect(r.findings.every((f) => f.confidence < 0.5)).toBe(true);
  });

  it('is ok when every node is Ready, even without NetworkUnavailable where flanneld is ready', () => {
    const r = evaluateNodeConditions({
      nodes: [
        { name: 'a', ready, networkUnavailable: flannelUp },
        { name: 'b', ready },
      ],
      flannelDeployed: true,
      flannelPodReady: { a: true, b: true },
    });
    expect(r.status).toBe('ok');
    expect(r.findings).toEqual([]);
  });

  it('warns, without a cause, about nodes NotReady for other reasons', () => {
    const r = evaluateNodeConditions({
      nodes: [
        {
          name: 'a',
          ready: {
            type: 'Ready',
            status: 'Unknown',
            reason: 'NodeStatusUnknown',
            message: 'Kubelet stopped posting node status.',
          },
        },
      ],
      flannelDeployed: true,
      flannelPodReady: {},
    });
    expect(r.status).toBe('warn');
    expect(r.findings).toEqual([]);
  });
});

describe('node-annotations', () => {
  const full = (ip: string, type = 'vxlan') => ({
    'flannel.alpha.coreos.com/backend-type': type,
    'flannel.alpha.coreos.com/backend-data': '{"VNI":1,"VtepMAC":"46:1c:ae:ff:df:c0"}',
    'flannel.alpha.coreos.com/public-ip': ip,
    'flannel.alpha.coreos.com/kube-subnet-manager': 'true',
  });

  it('reports the backend per node as facts', () => {
    const r = evaluateNodeAnnotations({
      nodes: [
        { name: 'a', annotations: full('192.168.56.10') },
        { name: 'b', annotations: full('192.168.56.11') },
      ],
      flannelNodes: ['a', 'b'],
    });
    expect(r.status).toBe('ok');
    expect(r.facts).toMatchObject({
      backendTypes: { a: 'vxlan', b: 'vxlan' },
      backendType: 'vxlan',
      backendData: { a: { VNI: 1 } },
      publicIps: { a: '192.168.56.10' },
    });
  });

  it('warns when annotations are missing on nodes where Flannel runs', () => {
    const r = evaluateNodeAnnotations({
      nodes: [
        { name: 'a', annotations: full('192.168.56.10') },
        { name: 'b', annotations: {} },
      ],
      flannelNodes: ['a', 'b'],
    });
    expect(r.status).toBe('warn');
    expect(r.findings).toEqual([]);
    expect(r.evidence[0]).toContain("kubectl get node b -o jsonpath='{.metadata.annotations}'");
    expect(r.evidence[0]).toContain('flannel.alpha.coreos.com/backend-type');
  });

  it('warns when nodes disagree on the backend, and is ok on nodes without Flannel', () => {
    const mixed = evaluateNodeAnnotations({
      nodes: [
        { name: 'a', annotations: full('1.1.1.1') },
        { name: 'b', annotations: full('1.1.1.2', 'host-gw') },
      ],
      flannelNodes: ['a', 'b'],
    });
    expect(mixed.status).toBe('warn');
    expect(mixed.summary).toContain('host-gw, vxlan');
    expect(
      evaluateNodeAnnotations({ nodes: [{ name: 'a', annotations: {} }], flannelNodes: [] }).status,
    ).toBe('ok');
  });
});
