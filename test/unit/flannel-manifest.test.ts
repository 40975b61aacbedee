/**
 * renderFlannelManifest against verbatim copies of upstream kube-flannel.yml (test/fixtures/flannel-manifests,
 * test/fixtures/sim/kube-flannel.yml), and the parameters a re-apply changes: names, namespace, net-conf.json.
 */
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { findRelease } from '../../src/flannel/releases.js';
import {
  describeManifest,
  ManifestOptionsError,
  networkForPodCidrs,
  renderFlannelManifest,
  type KubeObject,
} from '../../src/remediations/flannel-manifest.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/flannel-manifests/', import.meta.url));
const SIM_MANIFEST = fileURLToPath(new URL('../fixtures/sim/kube-flannel.yml', import.meta.url));

function loadManifest(path: string): KubeObject[] {
  return parseAllDocuments(readFileSync(path, 'utf8'))
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}

/** JSON round trip: what a client sends (drops undefined), compared ignoring key order by toEqual. */
const plain = (objects: KubeObject[]) => JSON.parse(JSON.stringify(objects)) as KubeObject[];

const byKind = (objects: KubeObject[], kind: string) => objects.filter((o) => o.kind === kind);
const one = (objects: KubeObject[], kind: string) => {
  const found = byKind(objects, kind);
  expect(found).toHaveLength(1);
  return found[0];
};

interface PodSpecShape {
  serviceAccountName: string;
  initContainers: Array<{ name: string; image: string; command: string[]; args?: string[] }>;
  containers: Array<{ name: string; image: string }>;
  volumes: Array<{ name: string; configMap?: { name: string } }>;
}
const podSpec = (ds: KubeObject) => (ds.spec as { template: { spec: PodSpecShape } }).template.spec;
const configData = (objects: KubeObject[]) => one(objects, 'ConfigMap').data as Record<string, string>;

describe('renderFlannelManifest reproduces upstream kube-flannel.yml', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.yml'));

  it('has fixtures for every manifest generation it is checked against', () => {
    expect(files.length).toBeGreaterThanOrEqual(20);
  });

  it.each(files)('%s', (file) => {
    const [, version, form] = /^(v[\d.]+)\.(documentation|release-asset)\.yml$/.exec(file)!;
    const upstream = loadManifest(FIXTURES + file);
    const rendered = plain(renderFlannelManifest({ release: version, form: form as 'documentation' }));
    expect(rendered.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(
      upstream.map((o) => `${o.kind}/${o.metadata.name}`),
    );
    rendered.forEach((object, i) => expect(object).toEqual(upstream[i]));
  });

  it('v0.28.9 with its default net-conf equals the manifest the simulator tests apply', () => {
    const upstream = loadManifest(SIM_MANIFEST);
    const rendered = plain(renderFlannelManifest({ release: 'v0.28.9' }));
    expect(rendered).toHaveLength(upstream.length);
    rendered.forEach((object, i) => expect(object).toEqual(upstream[i]));
    expect(configData(rendered)['net-conf.json']).toBe(
      '{\n  "Network": "10.244.0.0/16",\n  "EnableNFTables": false,\n  "Backend": {\n    "Type": "vxlan"\n  }\n}\n',
    );
  });

  it('the release asset of v0.28.9 differs from Documentation/ in the selector, install-cni and probes', () => {
    const asset = renderFlannelManifest({ release: 'v0.28.9', form: 'release-asset' });
    const ds = one(asset, 'DaemonSet');
    expect((ds.spec as { selector: unknown }).selector).toEqual({
      matchLabels: { app: 'flannel', 'k8s-app': 'flannel' },
    });
    const spec = podSpec(ds);
    expect(spec.initContainers[1].command).toEqual(['cp']);
    expect(JSON.stringify(spec.containers)).not.toContain('livenessProbe');
  });
});

describe('re-applying into an existing install', () => {
  it('a legacy kube-system install keeps its names and namespace and gets no Namespace object', () => {
    const objects = renderFlannelManifest({
      release: 'v0.28.9',
      namespace: 'kube-system',
      names: {
        daemonSet: 'kube-flannel-ds-amd64',
        configMap: 'flannel-config',
        serviceAccount: 'flannel-sa',
        clusterRole: 'system:flannel',
        clusterRoleBinding: 'system:flannel',
      },
    });
    expect(byKind(objects, 'Namespace')).toEqual([]);
    expect(objects.filter((o) => o.metadata.namespace).map((o) => o.metadata.namespace)).toEqual([
      'kube-system',
      'kube-system',
      'kube-system',
    ]);
    const ds = one(objects, 'DaemonSet');
    expect(ds.metadata.name).toBe('kube-flannel-ds-amd64');
    expect(podSpec(ds).serviceAccountName).toBe('flannel-sa');
    expect(podSpec(ds).volumes.find((v) => v.name === 'flannel-cfg')?.configMap?.name).toBe('flannel-config');
    expect(one(objects, 'ConfigMap').metadata.name).toBe('flannel-config');
    expect(one(objects, 'ServiceAccount').metadata.name).toBe('flannel-sa');
    expect(one(objects, 'ClusterRole').metadata.name).toBe('system:flannel');
    expect(one(objects, 'ClusterRoleBinding')).toMatchObject({
      metadata: { name: 'system:flannel' },
      roleRef: { kind: 'ClusterRole', name: 'system:flannel' },
      subjects: [{ kind: 'ServiceAccount', name: 'flannel-sa', namespace: 'kube-system' }],
    });
  });

  it('a release of the kube-system era renders into kube-system by itself, with its PodSecurityPolicy', () => {
    const objects = renderFlannelManifest({ release: 'v0.18.1' });
    expect(objects.map((o) => o.kind)).toEqual([
      'PodSecurityPolicy',
      'ClusterRole',
      'ClusterRoleBinding',
      'ServiceAccount',
      'ConfigMap',
      'DaemonSet',
    ]);
    expect(one(objects, 'DaemonSet').metadata).toMatchObject({
      name: 'kube-flannel-ds',
      namespace: 'kube-system',
    });
  });

  it('a per-architecture install (≤ v0.12) renders kube-flannel-ds-<arch> from any of its names', () => {
    const all = renderFlannelManifest({ release: 'v0.11.0', names: { daemonSet: 'kube-flannel-ds-amd64' } });
    expect(byKind(all, 'DaemonSet').map((d) => d.metadata.name)).toEqual([
      'kube-flannel-ds-amd64',
      'kube-flannel-ds-arm64',
      'kube-flannel-ds-arm',
      'kube-flannel-ds-ppc64le',
      'kube-flannel-ds-s390x',
    ]);
    const arm = renderFlannelManifest({ release: 'v0.11.0', architectures: ['arm64'] });
    const ds = one(arm, 'DaemonSet');
    expect(ds.metadata.name).toBe('kube-flannel-ds-arm64');
    expect(podSpec(ds).containers[0].image).toBe('quay.io/coreos/flannel:v0.11.0-arm64');
  });

  it('keeps the running selector (immutable) and puts its labels on the pods', () => {
    const objects = renderFlannelManifest({
      release: 'v0.28.9',
      selector: { app: 'flannel', 'k8s-app': 'flannel' },
    });
    const spec = one(objects, 'DaemonSet').spec as {
      selector: { matchLabels: Record<string, string> };
      template: { metadata: { labels: Record<string, string> } };
    };
    expect(spec.selector.matchLabels).toEqual({ app: 'flannel', 'k8s-app': 'flannel' });
    expect(spec.template.metadata.labels).toEqual({ tier: 'node', app: 'flannel', 'k8s-app': 'flannel' });
  });

  it('uses a kept net-conf.json and cni-conf.json verbatim', () => {
    const netConf = '{"Network":"10.42.0.0/16","SubnetLen":25,"Backend":{"Type":"host-gw"}}';
    const cniConf = '{\n"name": "cni0",\n"cniVersion": "1.0.0",\n"plugins": [{"type": "flannel"}]\n}';
    const data = configData(renderFlannelManifest({ release: 'v0.24.4', netConf, cniConf }));
    expect(data['net-conf.json']).toBe(netConf);
    expect(data['cni-conf.json']).toBe(cniConf);
  });

  it('builds the release default net-conf.json around a Network alone', () => {
    const current = JSON.parse(
      configData(renderFlannelManifest({ release: 'v0.28.9', network: '10.42.7.1/16' }))['net-conf.json'],
    );
    expect(current).toEqual({ Network: '10.42.0.0/16', EnableNFTables: false, Backend: { Type: 'vxlan' } });
    // EnableNFTables arrived in v0.25.0; older defaults do not carry it.
    const older = JSON.parse(
      configData(renderFlannelManifest({ release: 'v0.24.4', network: '10.42.0.0/16' }))['net-conf.json'],
    );
    expect(older).toEqual({ Network: '10.42.0.0/16', Backend: { Type: 'vxlan' } });
  });

  it('includes the Namespace object only when asked, or when rendering into the release namespace', () => {
    expect(byKind(renderFlannelManifest({ release: 'v0.28.9' }), 'Namespace')).toHaveLength(1);
    expect(
      byKind(renderFlannelManifest({ release: 'v0.28.9', includeNamespace: false }), 'Namespace'),
    ).toEqual([]);
    const custom = renderFlannelManifest({
      release: 'v0.28.9',
      namespace: 'flannel',
      includeNamespace: true,
    });
    expect(one(custom, 'Namespace').metadata).toEqual({
      name: 'flannel',
      labels: { 'pod-security.kubernetes.io/enforce': 'privileged', 'k8s-app': 'flannel' },
    });
  });

  it('takes the release as a table row, a version or an image reference', () => {
    const row = findRelease('v0.26.7')!;
    const image = (objects: KubeObject[]) => podSpec(one(objects, 'DaemonSet')).containers[0].image;
    expect(image(renderFlannelManifest({ release: row }))).toBe('ghcr.io/flannel-io/flannel:v0.26.7');
    expect(image(renderFlannelManifest({ release: 'ghcr.io/flannel-io/flannel:v0.26.7' }))).toBe(
      'ghcr.io/flannel-io/flannel:v0.26.7',
    );
  });
});

describe('bad options fail with a message naming the field', () => {
  const fails = (opts: Parameters<typeof renderFlannelManifest>[0], field: RegExp) => {
    expect(() => renderFlannelManifest(opts)).toThrow(ManifestOptionsError);
    expect(() => renderFlannelManifest(opts)).toThrow(field);
  };

  it.each([
    [{ release: 'v0.29.0' }, /^release: no Flannel release v0\.29\.0/],
    [{ release: 'v0.28.9', netConf: '{"Network": "10.244.0.0/16",' }, /^netConf: not valid JSON/],
    [{ release: 'v0.28.9', netConf: '["10.244.0.0/16"]' }, /^netConf: must be a JSON object/],
    [{ release: 'v0.28.9', network: '10.244.0.0' }, /^network: "10\.244\.0\.0" is not an IPv4 CIDR/],
    [{ release: 'v0.28.9', network: '10.244.0.0/16', netConf: '{}' }, /^netConf, network: /],
    [{ release: 'v0.28.9', namespace: 'Kube_System' }, /^namespace: must be a DNS-1123 label/],
    [
      { release: 'v0.28.9', names: { configMap: 'cfg/x' } },
      /^names\.configMap: must be a DNS-1123 subdomain/,
    ],
    [{ release: 'v0.28.9', names: { clusterRole: 'a/b' } }, /^names\.clusterRole: must not contain/],
    [{ release: 'v0.18.1', form: 'release-asset' as const }, /^form: v0\.18\.1 has no release-asset/],
    [
      { release: 'v0.28.9', architectures: ['amd64'] },
      /^architectures: v0\.28\.9 ships one multi-arch DaemonSet/,
    ],
    [{ release: 'v0.11.0', architectures: ['riscv64'] }, /^architectures\.0: /],
  ])('%j', (opts, field) => fails(opts as Parameters<typeof renderFlannelManifest>[0], field));
});

describe('describeManifest', () => {
  it('gives one line per object with namespace, images and API version', () => {
    expect(describeManifest(renderFlannelManifest({ release: 'v0.28.9' }))).toEqual([
      'Namespace kube-flannel',
      'ClusterRole flannel (rbac.authorization.k8s.io/v1)',
      'ClusterRoleBinding flannel (rbac.authorization.k8s.io/v1)',
      'ServiceAccount kube-flannel/flannel',
      'ConfigMap kube-flannel/kube-flannel-cfg',
      'DaemonSet kube-flannel/kube-flannel-ds (image ghcr.io/flannel-io/flannel:v0.28.9, ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel3; apps/v1)',
    ]);
    expect(describeManifest(renderFlannelManifest({ release: 'v0.9.1' }))).toContain(
      'DaemonSet kube-system/kube-flannel-ds (image quay.io/coreos/flannel:v0.9.1-amd64; extensions/v1beta1)',
    );
  });
});

describe('networkForPodCidrs', () => {
  it.each([
    [['10.244.0.0/24', '10.244.1.0/24', '10.244.2.0/24'], '10.244.0.0/16'],
    [['10.42.0.0/24'], '10.42.0.0/16'],
    [['10.42.0.0/24', '10.43.7.0/24'], '10.42.0.0/15'],
    [['172.16.0.0/12'], '172.16.0.0/12'],
    [['fd00::/64', '10.244.3.0/24'], '10.244.0.0/16'],
  ])('%j -> %s', (cidrs, network) => expect(networkForPodCidrs(cidrs)).toBe(network));

  it('has no answer without an IPv4 podCIDR', () => {
    expect(networkForPodCidrs([])).toBeUndefined();
    expect(networkForPodCidrs(['fd00::/64', 'junk'])).toBeUndefined();
  });
});
