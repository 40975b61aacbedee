/** The Flannel release table: parsing, lookups, Kubernetes ranges and the APIs a cluster no longer serves. */
import { describe, expect, it } from '@jest/globals';
import {
  FLANNEL_RELEASES,
  compareVersions,
  findRelease,
  newestRelease,
  parseVersion,
  releaseSuits,
  suitableRelease,
  unservedApis,
} from '../../src/flannel/releases.js';

const apis = (version: string, kube: string) =>
  unservedApis(findRelease(version)!, kube).map((a) => `${a.apiVersion} ${a.kind}`);

describe('parseVersion', () => {
  it.each([
    ['v0.28.9', [0, 28, 9]],
    ['0.28.9', [0, 28, 9]],
    ['v1.33.4+k3s1', [1, 33, 4]],
    ['v1.31.4+rke2r1', [1, 31, 4]],
    ['v1.27.3-eks-5e0fdde', [1, 27, 3]],
    ['v0.26.7-rancher1', [0, 26, 7]],
    ['1.25', [1, 25, 0]],
    ['docker.io/flannel/flannel:v0.28.9', [0, 28, 9]],
    ['quay.io/coreos/flannel:v0.11.0-amd64', [0, 11, 0]],
    ['rancher/hardened-flannel:v0.28.9-build20260819', [0, 28, 9]],
    ['registry.local:5000/flannel/flannel:v0.24.2@sha256:abc', [0, 24, 2]],
    ['flannel:v0.22.0', [0, 22, 0]],
  ])('%s', (text, [major, minor, patch]) => {
    expect(parseVersion(text)).toEqual({ major, minor, patch });
  });

  it.each([
    'latest',
    'registry.local:5000/flannel/flannel',
    'ghcr.io/flannel-io/flannel:latest',
    '',
    undefined,
  ])('rejects %p', (text) => expect(parseVersion(text)).toBeUndefined());
});

describe('the release table', () => {
  it('has a row for every minor from v0.9 to v0.28, oldest first, each with parseable version, image and date', () => {
    const minors = new Set(FLANNEL_RELEASES.map((r) => parseVersion(r.version)!.minor));
    for (let m = 9; m <= 28; m++) expect(minors.has(m)).toBe(true);
    for (let i = 1; i < FLANNEL_RELEASES.length; i++)
      expect(
        compareVersions(
          parseVersion(FLANNEL_RELEASES[i - 1].version)!,
          parseVersion(FLANNEL_RELEASES[i].version)!,
        ),
      ).toBeLessThan(0);
    for (const r of FLANNEL_RELEASES) {
      expect(r.date).toMatch(/^20\d\d-\d\d-\d\d$/);
      // The flanneld image is the release itself (with the -arch suffix of the per-arch era).
      expect(parseVersion(r.image)).toEqual(parseVersion(r.version));
      expect(r.sources.documentation).toMatch(
        /^flannel-io\/flannel@[0-9a-z.]+:Documentation\/kube-flannel\.yml/,
      );
      expect(r.kubernetes.reasons.length).toBeGreaterThan(0);
      if (r.cniPluginImage) expect(r.cniPluginImage.endsWith(`:${r.cniPluginVersion}`)).toBe(true);
    }
  });

  it('records the namespace, registries and cni-plugin of each era as the manifests had them', () => {
    expect(findRelease('v0.18.1')).toMatchObject({
      namespace: 'kube-system',
      image: 'rancher/mirrored-flannelcni-flannel:v0.18.1',
      cniPluginVersion: 'v1.1.0',
    });
    expect(findRelease('v0.19.2')?.namespace).toBe('kube-flannel');
    expect(findRelease('v0.11.0')?.image).toBe('quay.io/coreos/flannel:v0.11.0-amd64');
    expect(findRelease('v0.14.0')?.cniPluginImage).toBeUndefined();
    expect(findRelease('v0.24.4')?.image).toBe('docker.io/flannel/flannel:v0.24.4');
    expect(newestRelease()).toMatchObject({
      version: 'v0.28.9',
      image: 'ghcr.io/flannel-io/flannel:v0.28.9',
      cniPluginImage: 'ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel3',
    });
  });

  it('lists the API versions each manifest uses', () => {
    const kinds = (v: string) => findRelease(v)!.apis.map((a) => `${a.apiVersion} ${a.kind}`);
    expect(kinds('v0.9.1')).toEqual([
      'rbac.authorization.k8s.io/v1beta1 ClusterRole',
      'rbac.authorization.k8s.io/v1beta1 ClusterRoleBinding',
      'v1 ServiceAccount',
      'v1 ConfigMap',
      'extensions/v1beta1 DaemonSet',
    ]);
    expect(kinds('v0.17.0')).toContain('policy/v1beta1 PodSecurityPolicy');
    expect(kinds('v0.17.0')).toContain('apps/v1 DaemonSet');
    expect(kinds('v0.28.9')).toEqual([
      'v1 Namespace',
      'rbac.authorization.k8s.io/v1 ClusterRole',
      'rbac.authorization.k8s.io/v1 ClusterRoleBinding',
      'v1 ServiceAccount',
      'v1 ConfigMap',
      'apps/v1 DaemonSet',
    ]);
  });

  it('bounds each release by what its manifest needs and what later Kubernetes stopped serving', () => {
    const range = (v: string) => findRelease(v)!.kubernetes;
    expect(range('v0.9.1')).toMatchObject({ min: '1.6', max: '1.16' });
    expect(range('v0.11.0')).toMatchObject({ min: '1.7', max: '1.16' });
    // apps/v1 (1.9) and policy/v1beta1 (1.10) raise the README's 1.7; rbac v1beta1 ends at 1.22.
    expect(range('v0.12.0')).toMatchObject({ min: '1.10', max: '1.22' });
    // kubernetes.io/os nodeAffinity needs 1.14 kubelets.
    expect(range('v0.13.0')).toMatchObject({ min: '1.14', max: '1.22' });
    expect(range('v0.18.1')).toMatchObject({ min: '1.17', max: '1.25' });
    expect(range('v0.28.9').min).toBe('1.17');
    expect(range('v0.28.9').max).toBeUndefined();
  });
});

describe('findRelease', () => {
  it('finds a release by version, tag with suffix, or image reference', () => {
    expect(findRelease('v0.28.9')?.version).toBe('v0.28.9');
    expect(findRelease('0.26.7')?.version).toBe('v0.26.7');
    expect(findRelease('v0.26.7-rancher1')?.version).toBe('v0.26.7');
    expect(findRelease('docker.io/flannel/flannel:v0.24.2')?.version).toBe('v0.24.2');
    expect(findRelease('quay.io/coreos/flannel:v0.11.0-arm64')?.version).toBe('v0.11.0');
  });

  it('finds nothing for releases outside the table', () => {
    expect(findRelease('v0.16.0')).toBeUndefined(); // only v0.16.3 of that line
    expect(findRelease('v0.29.0')).toBeUndefined();
    expect(findRelease('latest')).toBeUndefined();
  });
});

describe('suitableRelease', () => {
  it.each([
    ['v1.33.4', 'v0.28.9'],
    ['v1.33.4+k3s1', 'v0.28.9'],
    ['v1.31.4+rke2r1', 'v0.28.9'],
    ['v1.24.17', 'v0.28.9'],
    ['v1.17.0', 'v0.28.9'],
    ['v1.16.15', 'v0.13.0'],
    ['v1.15.3', 'v0.13.0'],
    ['v1.13.12', 'v0.12.0'],
    ['v1.9.11', 'v0.11.0'],
    ['v1.6.13', 'v0.9.1'],
  ])('Kubernetes %s -> Flannel %s', (kube, flannel) => {
    expect(suitableRelease(kube)?.version).toBe(flannel);
  });

  it('has nothing for Kubernetes older than any manifest, or an unparseable version', () => {
    expect(suitableRelease('v1.5.8')).toBeUndefined();
    expect(suitableRelease('unknown')).toBeUndefined();
  });

  it('only returns releases whose range includes the version', () => {
    for (const kube of ['v1.8.0', 'v1.12.1', 'v1.21.14', 'v1.22.0', 'v1.30.2'])
      expect(releaseSuits(suitableRelease(kube)!, kube)).toBe(true);
    expect(releaseSuits(findRelease('v0.18.1')!, 'v1.25.0')).toBe(false);
    expect(releaseSuits(findRelease('v0.18.1')!, 'v1.24.17')).toBe(true);
  });
});

describe('unservedApis', () => {
  it('v0.9.1 on 1.16: extensions/v1beta1 DaemonSets are gone', () => {
    expect(apis('v0.9.1', 'v1.16.15')).toEqual(['extensions/v1beta1 DaemonSet']);
    expect(unservedApis(findRelease('v0.9.1')!, 'v1.16.15')[0]).toMatchObject({
      reason: 'removed',
      removedIn: '1.16',
      replacement: 'apps/v1',
    });
  });

  it('v0.9.1 on 1.22 also loses rbac v1beta1', () => {
    expect(apis('v0.9.1', 'v1.22.0')).toEqual([
      'rbac.authorization.k8s.io/v1beta1 ClusterRole',
      'rbac.authorization.k8s.io/v1beta1 ClusterRoleBinding',
      'extensions/v1beta1 DaemonSet',
    ]);
  });

  it('v0.17.0 on 1.25 (and 1.33 with k3s metadata): PodSecurityPolicy is gone', () => {
    expect(apis('v0.17.0', 'v1.25.0')).toEqual(['policy/v1beta1 PodSecurityPolicy']);
    expect(apis('v0.17.0', 'v1.33.4+k3s1')).toEqual(['policy/v1beta1 PodSecurityPolicy']);
    expect(apis('v0.17.0', 'v1.24.17')).toEqual([]);
  });

  it('v0.12.0 on 1.9: policy/v1beta1 PodSecurityPolicy is not served yet', () => {
    expect(unservedApis(findRelease('v0.12.0')!, 'v1.9.11')).toMatchObject([
      {
        apiVersion: 'policy/v1beta1',
        kind: 'PodSecurityPolicy',
        reason: 'not-yet-served',
        servedFrom: '1.10',
      },
    ]);
  });

  it('nothing for current releases on current clusters, nor for unparseable versions', () => {
    expect(apis('v0.28.9', 'v1.33.4')).toEqual([]);
    expect(apis('v0.28.9', 'v1.16.15')).toEqual([]); // too old for its README, but every API is served
    expect(apis('v0.9.1', 'garbage')).toEqual([]);
  });
});
