/** Image pulls on simulated nodes: which registry an image comes from and how a failed pull is worded. */
import { describe, expect, it } from '@jest/globals';
import {
  firstPullFailure,
  fullReference,
  imagePullError,
  imageRegistry,
} from '../../src/sim/kube/cluster/image-pull.js';

describe('image references', () => {
  it('finds the registry the way containerd normalises references', () => {
    expect(imageRegistry('ghcr.io/flannel-io/flannel:v0.28.9')).toBe('ghcr.io');
    expect(imageRegistry('registry.local:5000/flannel:v0.28.9')).toBe('registry.local:5000');
    expect(imageRegistry('localhost/x:1')).toBe('localhost');
    expect(imageRegistry('rancher/mirrored-flannelcni-flannel:v0.18.1')).toBe('docker.io');
    expect(imageRegistry('busybox:1.36')).toBe('docker.io');
    expect(fullReference('busybox:1.36')).toBe('docker.io/library/busybox:1.36');
    expect(fullReference('rancher/x')).toBe('docker.io/rancher/x:latest');
    expect(fullReference('ghcr.io/flannel-io/flannel:v0.28.9')).toBe('ghcr.io/flannel-io/flannel:v0.28.9');
  });
});

describe('pulling', () => {
  it('fails only for images of an unreachable registry, worded like containerd', () => {
    expect(imagePullError('ghcr.io/flannel-io/flannel:v0.28.9', ['quay.io'])).toBeUndefined();
    expect(imagePullError('ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel3', ['ghcr.io'])).toBe(
      'failed to pull and unpack image "ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel3": ' +
        'failed to resolve reference "ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel3": failed to do request: ' +
        'Head "https://ghcr.io/v2/flannel-io/flannel-cni-plugin/manifests/v1.9.1-flannel3": dial tcp: lookup ghcr.io: i/o timeout',
    );
    expect(imagePullError('busybox:1.36', ['docker.io'])).toContain(
      'Head "https://registry-1.docker.io/v2/library/busybox/manifests/1.36"',
    );
  });

  it('reports the first image in start order: init containers one by one, then the containers', () => {
    const spec = {
      initContainers: [
        { name: 'install-cni-plugin', image: 'ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel3' },
        { name: 'install-cni', image: 'docker.io/flannel/flannel:v0.26.7' },
      ],
      containers: [{ name: 'kube-flannel', image: 'docker.io/flannel/flannel:v0.26.7' }],
    };
    expect(firstPullFailure(spec, [])).toBeUndefined();
    expect(firstPullFailure(spec, ['ghcr.io'])).toMatchObject({
      list: 'initContainers',
      container: 'install-cni-plugin',
    });
    expect(firstPullFailure(spec, ['docker.io'])).toMatchObject({
      list: 'initContainers',
      container: 'install-cni',
      image: 'docker.io/flannel/flannel:v0.26.7',
    });
    expect(firstPullFailure({ containers: spec.containers }, ['docker.io'])).toMatchObject({
      list: 'containers',
      container: 'kube-flannel',
    });
  });
});
