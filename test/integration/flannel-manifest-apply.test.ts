/**
 * The rendered kube-flannel.yml heals flannel-missing when server-side applied with client-node, as the
 * re-apply remediation does: Network taken from the nodes' podCIDRs, dry run first, then every object.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import type { Simulator } from '../../src/sim/kube/simulator.js';
import {
  describeManifest,
  networkForPodCidrs,
  renderFlannelManifest,
} from '../../src/remediations/flannel-manifest.js';
import { startFast, waitFor } from './sim-cluster-helpers.js';

let sim: Simulator;
let kc: k8s.KubeConfig;

beforeEach(async () => {
  sim = await startFast({ scenario: 'flannel-missing' });
  await sim.settle();
  kc = new k8s.KubeConfig();
  kc.loadFromFile(sim.kubeconfigPath);
});

afterEach(async () => {
  await sim?.stop();
});

const stuck = (pods: k8s.V1Pod[]) =>
  pods.filter((p) =>
    p.status?.containerStatuses?.some((c) => c.state?.waiting?.reason === 'ContainerCreating'),
  );

describe('applying a rendered Flannel manifest to flannel-missing', () => {
  it.each([
    [
      'v0.28.9',
      'documentation',
      'ghcr.io/flannel-io/flannel:v0.28.9, ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel3',
    ],
    [
      'v0.28.9',
      'release-asset',
      'ghcr.io/flannel-io/flannel:v0.28.9, ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel3',
    ],
    [
      'v0.20.2',
      'documentation',
      'docker.io/rancher/mirrored-flannelcni-flannel:v0.20.2, docker.io/rancher/mirrored-flannelcni-flannel-cni-plugin:v1.1.0',
    ],
  ] as const)(
    '%s (%s) starts Flannel on every node and the stuck pods get their sandboxes',
    async (version, form, images) => {
      const core = kc.makeApiClient(k8s.CoreV1Api);
      const apps = kc.makeApiClient(k8s.AppsV1Api);
      const objectsApi = k8s.KubernetesObjectApi.makeApiClient(kc);

      const nodes = (await core.listNode()).items;
      expect(stuck((await core.listPodForAllNamespaces()).items).length).toBeGreaterThan(0);
      const network = networkForPodCidrs(nodes.map((n) => n.spec?.podCIDR ?? ''));
      expect(network).toBe('10.244.0.0/16');

      const objects = renderFlannelManifest({ release: version, form, network });
      expect(describeManifest(objects)).toContain(
        `DaemonSet kube-flannel/kube-flannel-ds (image ${images}; apps/v1)`,
      );

      // Dry run first, stores nothing. As on a real API server, objects in a namespace that only the
      // apply creates cannot be dry-run (404 namespace not found): those wait for the Namespace.
      const namespaceNew = objects.some((o) => o.kind === 'Namespace');
      for (const object of objects) {
        const dry = objectsApi.patch(
          object,
          undefined,
          'All',
          'flannel-ops',
          true,
          k8s.PatchStrategy.ServerSideApply,
        );
        if (object.metadata.namespace && namespaceNew) await expect(dry).rejects.toMatchObject({ code: 404 });
        else await dry;
      }
      const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
      await expect(rbac.readClusterRole({ name: 'flannel' })).rejects.toMatchObject({ code: 404 });
      await expect(core.readNamespace({ name: 'kube-flannel' })).rejects.toMatchObject({ code: 404 });

      for (const object of objects)
        await objectsApi.patch(
          object,
          undefined,
          undefined,
          'flannel-ops',
          true,
          k8s.PatchStrategy.ServerSideApply,
        );

      const cm = await core.readNamespacedConfigMap({ name: 'kube-flannel-cfg', namespace: 'kube-flannel' });
      expect(JSON.parse(cm.data?.['net-conf.json'] ?? '')).toMatchObject({
        Network: '10.244.0.0/16',
        Backend: { Type: 'vxlan' },
      });

      const ready = await waitFor(
        'kube-flannel-ds ready on every node',
        async () => {
          const ds = await apps.readNamespacedDaemonSet({
            name: 'kube-flannel-ds',
            namespace: 'kube-flannel',
          });
          const s = ds.status;
          return s && s.desiredNumberScheduled === nodes.length && s.numberReady === nodes.length && s;
        },
        30000,
      );
      expect(ready.numberUnavailable ?? 0).toBe(0);

      await waitFor(
        'no pod stuck in ContainerCreating',
        async () => stuck((await core.listPodForAllNamespaces()).items).length === 0,
        30000,
      );
      const shop = (await core.listNamespacedPod({ namespace: 'shop' })).items;
      expect(shop.length).toBeGreaterThan(0);
      for (const pod of shop) {
        expect(pod.status?.phase).toBe('Running');
        expect(pod.status?.podIP).toMatch(/^10\.244\.\d+\.\d+$/);
      }
      const flannelPods = (
        await core.listNamespacedPod({ namespace: 'kube-flannel', labelSelector: 'app=flannel' })
      ).items;
      expect(flannelPods.map((p) => p.spec?.nodeName).sort()).toEqual(
        nodes.map((n) => n.metadata?.name).sort(),
      );
    },
  );
});
