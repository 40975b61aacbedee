/** evaluate() of stuck-pods, other-cnis and version-compat from plain facts. */
import { describe, expect, it } from '@jest/globals';
import { evaluateStuckPods, type StuckPodCandidate } from '../../src/checks/api/stuck-pods.js';
import { detectOtherCnis, evaluateOtherCnis } from '../../src/checks/api/other-cnis.js';
import { evaluateVersionCompat } from '../../src/checks/api/version-compat.js';
import { flannelDs } from './checks-api-fixtures.js';

const causes = (r: { findings: Array<{ cause: string }> }) => r.findings.map((f) => f.cause);
const NOW = '2026-01-01T12:00:00.000Z';
const EXHAUSTED =
  'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "566461a584386191b1cc4dcc05193d30f7120f467ab2c694e2811eda1db34247": plugin type="flannel" failed (add): failed to allocate for range 0: no IP addresses available in range set: 10.244.1.1-10.244.1.254';
const SUBNET_ENV =
  'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "ab": plugin type="flannel" failed (add): failed to load flannel \'subnet.env\' file: open /run/flannel/subnet.env: no such file or directory. Check the flannel pod log for this node.';

function stuck(
  name: string,
  nodeName: string,
  message?: string,
  over: Partial<StuckPodCandidate> = {},
): StuckPodCandidate {
  return {
    namespace: 'shop',
    name,
    node: nodeName,
    state: 'ContainerCreating',
    owner: { kind: 'ReplicaSet', name: 'web-abc' },
    ...(message ? { event: { reason: 'FailedCreatePodSandBox', message, count: 3 } } : {}),
    ...over,
  };
}

describe('stuck-pods', () => {
  const nodes = [
    { name: 'worker-1', podCIDR: '10.244.1.0/24', runningPods: 12, allocatablePods: 110 },
    { name: 'worker-2', podCIDR: '10.244.2.0/24', runningPods: 5, allocatablePods: 110 },
  ];

  it('is ok without stuck pods', () => {
    const r = evaluateStuckPods({ now: NOW, candidates: [], nodes });
    expect(r.status).toBe('ok');
    expect(r.facts?.affectedNodes).toEqual([]);
  });

  it('groups stuck pods per node and error class, owned vs bare, without blaming exhaustion when the range is not full', () => {
    const r = evaluateStuckPods({
      now: NOW,
      candidates: [
        stuck('web-2', 'worker-2', SUBNET_ENV),
        stuck('web-1', 'worker-1', EXHAUSTED),
        stuck('bare', 'worker-1', EXHAUSTED, { owner: undefined }),
        stuck('quiet', 'worker-1'),
      ],
      nodes,
    });
    expect(r.status).toBe('warn');
    expect(r.findings).toEqual([]);
    expect(r.facts).toMatchObject({
      affectedNodes: ['worker-1', 'worker-2'],
      podsPerNode: { 'worker-1': ['shop/bare', 'shop/quiet', 'shop/web-1'], 'worker-2': ['shop/web-2'] },
      errorClasses: {
        'worker-1': { 'ip-exhausted': 2, 'no-event': 1 },
        'worker-2': { 'subnet-env-missing': 1 },
      },
      controllerOwned: { 'worker-1': ['shop/quiet', 'shop/web-1'] },
      bare: { 'worker-1': ['shop/bare'] },
      podCounts: { 'worker-1': { running: 12, usable: 253, allocatable: 110 } },
    });
    const text = r.evidence.join('\n');
    expect(text).toContain('kubectl get events -n shop --field-selector involvedObject.name=');
    expect(text).toContain('(ip-exhausted, x3)');
    expect(text).toContain('12 running non-hostNetwork pods for 253 usable pod IPs');
    expect(text).toContain('not real exhaustion');
  });

  it('reports ipam-exhausted when running pods fill the node range', () => {
    const r = evaluateStuckPods({
      now: NOW,
      candidates: [stuck('web-1', 'small', EXHAUSTED)],
      nodes: [{ name: 'small', podCIDR: '192.168.63.160/27', runningPods: 29 }],
    });
    expect(r.status).toBe('fail');
    expect(causes(r)).toEqual(['ipam-exhausted']);
    expect(r.findings[0].nodes).toEqual(['small']);
    expect(r.findings[0].data).toEqual({ podCounts: { small: { running: 29, usable: 29 } } });
  });

  it('counts pods Terminating past the grace period, not those just deleted', () => {
    const r = evaluateStuckPods(
      {
        now: NOW,
        candidates: [
          stuck('old', 'worker-1', undefined, { state: 'Terminating', since: '2026-01-01T11:50:00.000Z' }),
          stuck('new', 'worker-1', undefined, { state: 'Terminating', since: '2026-01-01T11:59:50.000Z' }),
        ],
        nodes,
      },
      { terminatingGraceSeconds: 60 },
    );
    expect(r.facts).toMatchObject({
      podsPerNode: { 'worker-1': ['shop/old'] },
      terminating: { 'worker-1': ['shop/old'] },
    });
    expect(r.evidence[0]).toContain('1 stuck Terminating');
  });
});

describe('other-cnis', () => {
  it('recognises CNIs by name, label or image, never Flannel itself', () => {
    const found = detectOtherCnis([
      flannelDs(),
      flannelDs({
        namespace: 'kube-system',
        name: 'calico-node',
        labels: { 'k8s-app': 'calico-node' },
        images: ['docker.io/calico/node:v3.29.1'],
      }),
      flannelDs({
        namespace: 'kube-system',
        name: 'net-agent',
        labels: {},
        images: ['quay.io/cilium/cilium:v1.16.5'],
      }),
      flannelDs({
        namespace: 'kube-system',
        name: 'kube-multus-ds',
        labels: { app: 'multus' },
        images: ['ghcr.io/k8snetworkplumbingwg/multus-cni:v4.1.0'],
      }),
      flannelDs({
        namespace: 'kube-system',
        name: 'kube-proxy',
        labels: { 'k8s-app': 'kube-proxy' },
        images: ['registry.k8s.io/kube-proxy:v1.33.4'],
      }),
    ]);
    expect(found.map((f) => `${f.cni}:${f.daemonSet}`)).toEqual([
      'Calico:calico-node',
      'Cilium:net-agent',
      'Multus:kube-multus-ds',
    ]);
  });

  it('warns with a low-confidence cni-config-conflict beside Flannel; ok when alone', () => {
    const r = evaluateOtherCnis({
      others: [
        {
          cni: 'Calico',
          namespace: 'kube-system',
          daemonSet: 'calico-node',
          images: ['calico/node:v3.29.1'],
          nodes: ['worker-2'],
        },
      ],
      flannelDeployed: true,
      embedded: false,
    });
    expect(r.status).toBe('warn');
    expect(causes(r)).toEqual(['cni-config-conflict']);
    expect(r.findings[0].confidence).toBeLessThan(0.5);
    expect(r.findings[0].nodes).toEqual(['worker-2']);
    expect(r.evidence[0]).toContain('kubectl -n kube-system get ds calico-node');
    expect(evaluateOtherCnis({ others: [], flannelDeployed: true, embedded: false }).status).toBe('ok');
    const noFlannel = evaluateOtherCnis({
      others: [{ cni: 'Cilium', namespace: 'kube-system', daemonSet: 'cilium', images: [], nodes: [] }],
      flannelDeployed: false,
      embedded: false,
    });
    expect(noFlannel.findings).toEqual([]);
  });
});

describe('version-compat', () => {
  const flannel = (version: string, namespace = 'kube-flannel') => ({
    namespace,
    daemonSet: 'kube-flannel-ds',
    image: `ghcr.io/flannel-io/flannel:${version}`,
    version,
  });

  it('is ok for a current Flannel on a current cluster', () => {
    const r = evaluateVersionCompat({ kubernetesVersion: 'v1.33.4', flannel: flannel('v0.28.9') });
    expect(r.status).toBe('ok');
    expect(r.facts).toMatchObject({ flannelVersion: 'v0.28.9', kubernetesVersion: 'v1.33.4' });
  });

  it('reports version-mismatch for a v1.17+ manifest on an older cluster', () => {
    const r = evaluateVersionCompat({ kubernetesVersion: 'v1.15.12', flannel: flannel('v0.22.0') });
    expect(r.status).toBe('fail');
    expect(causes(r)).toEqual(['version-mismatch']);
    expect(r.evidence[0]).toBe('kubectl version: server v1.15.12');
  });

  it('warns about a pre-v0.19 kube-system/PSP-era Flannel on Kubernetes 1.25+', () => {
    const r = evaluateVersionCompat({
      kubernetesVersion: 'v1.30.2',
      flannel: flannel('v0.17.0', 'kube-system'),
    });
    expect(r.status).toBe('warn');
    expect(causes(r)).toEqual(['version-mismatch']);
    expect(r.findings[0].confidence).toBeLessThan(0.5);
  });

  it('says which Flannel suits the cluster when none runs, and handles embedded Flannel', () => {
    const none = evaluateVersionCompat({ kubernetesVersion: 'v1.23.17' });
    expect(none.status).toBe('skipped');
    expect(none.facts).toMatchObject({ suitableFlannelVersion: 'v0.28.9' });
    // Kubernetes 1.15 predates every manifest documented for v1.17+: the newest release made for it.
    const old = evaluateVersionCompat({ kubernetesVersion: 'v1.15.3' });
    expect(old.facts?.suitableFlannelVersion).toBe('v0.13.0');
    expect(old.summary).toContain('v0.13.0 (flannel-io/flannel@v0.13.0:Documentation/kube-flannel.yml)');
    const ancient = evaluateVersionCompat({ kubernetesVersion: 'v1.5.8' });
    expect(ancient.facts?.suitableFlannelVersion).toBeUndefined();
    expect(ancient.summary).toContain('no Flannel release whose manifest supports Kubernetes v1.5.8');
    const k3s = evaluateVersionCompat({ kubernetesVersion: 'v1.31.4+k3s1', embedded: 'k3s' });
    expect(k3s.status).toBe('ok');
  });

  it('names the APIs of the running release that the cluster no longer serves', () => {
    const psp = evaluateVersionCompat({
      kubernetesVersion: 'v1.30.2',
      flannel: flannel('v0.17.0', 'kube-system'),
    });
    expect(psp.facts?.unservedApis).toEqual(['policy/v1beta1 PodSecurityPolicy']);
    expect(psp.summary).toContain('policy/v1beta1 PodSecurityPolicy (removed in Kubernetes 1.25)');
    expect(psp.summary).toContain('upgrade to v0.28.9');
    expect(psp.findings[0].data).toMatchObject({ release: 'v0.17.0', suitable: 'v0.28.9' });

    const ds = evaluateVersionCompat({
      kubernetesVersion: 'v1.16.15',
      flannel: flannel('v0.9.1', 'kube-system'),
    });
    expect(ds.status).toBe('warn');
    expect(ds.facts?.unservedApis).toEqual(['extensions/v1beta1 DaemonSet']);
    expect(ds.summary).toContain('upgrade to v0.13.0');
  });

  it('judges a patch the table lacks by its minor line, and trusts releases newer than the table', () => {
    const patch = evaluateVersionCompat({
      kubernetesVersion: 'v1.25.4',
      flannel: flannel('v0.16.0', 'kube-system'),
    });
    expect(patch.status).toBe('warn');
    expect(patch.facts?.manifest).toMatchObject({ release: 'v0.16.3', kubernetesMax: '1.25' });
    const newer = evaluateVersionCompat({ kubernetesVersion: 'v1.33.4', flannel: flannel('v0.29.1') });
    expect(newer.status).toBe('ok');
    expect(newer.summary).toContain('newer than the releases flannel-ops knows');
  });

  it('fails v0.28.9 on Kubernetes 1.16 and points at the release made for it', () => {
    const r = evaluateVersionCompat({ kubernetesVersion: 'v1.16.15', flannel: flannel('v0.28.9') });
    expect(r.status).toBe('fail');
    expect(r.summary).toContain('ships the manifest for Kubernetes v1.17+');
    expect(r.findings[0].data).toMatchObject({ suitable: 'v0.13.0' });
    expect(r.facts?.unservedApis).toEqual([]);
  });
});
