/**
 * Each built-in scenario, observed the way the bot observes a cluster: through the simulator's real
 * HTTP API with @kubernetes/client-node.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { AppsV1Api, CoreV1Api, KubeConfig, type CoreV1Event, type V1Pod } from '@kubernetes/client-node';
import type { Simulator } from '../../src/sim/kube/simulator.js';
import { startFast, waitFor } from './sim-cluster-helpers.js';

let sim: Simulator | undefined;

afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

async function open(scenario: string, extra: Parameters<typeof startFast>[0] = {}) {
  sim = await startFast({ scenario, ...extra });
  await sim.settle();
  const kc = new KubeConfig();
  kc.loadFromFile(sim.kubeconfigPath);
  return { sim, core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api) };
}

async function sandboxEvents(core: CoreV1Api): Promise<CoreV1Event[]> {
  const list = await core.listEventForAllNamespaces({ fieldSelector: 'reason=FailedCreatePodSandBox' });
  return list.items;
}

async function flannelPods(core: CoreV1Api): Promise<V1Pod[]> {
  return (await core.listPodForAllNamespaces({ labelSelector: 'app=flannel' })).items;
}

function waitingReason(pod: V1Pod): string | undefined {
  return pod.status?.containerStatuses?.[0]?.state?.waiting?.reason;
}

describe('sim-cluster scenarios through the API', () => {
  it('flannel-missing: no Flannel anywhere, workloads stuck in ContainerCreating, sandbox events pile up', async () => {
    const { core, apps } = await open('flannel-missing');
    const flannelSets = await apps.listDaemonSetForAllNamespaces({ labelSelector: 'app=flannel' });
    expect(flannelSets.items).toHaveLength(0);

    const shop = (await core.listNamespacedPod({ namespace: 'shop' })).items;
    expect(shop.length).toBeGreaterThan(0);
    for (const pod of shop) {
      expect(pod.status?.phase).toBe('Pending');
      expect(waitingReason(pod)).toBe('ContainerCreating');
      expect(pod.spec?.nodeName).toBeTruthy();
    }

    // Kubelet's aggregation: distinct sandbox ids make the 10th+ occurrence one combined event whose count grows.
    const combined = await waitFor('a combined sandbox event with count >= 2', async () =>
      (await sandboxEvents(core)).find((e) => (e.count ?? 0) >= 2),
    );
    expect(combined.message).toMatch(/^\(combined from similar events\): Failed to create pod sandbox: /);
    expect(combined.message).toContain('no IP addresses available in network: cni0');
    expect(combined.source).toEqual({ component: 'kubelet', host: expect.any(String) });
    expect(combined.involvedObject.kind).toBe('Pod');
    expect(combined.involvedObject.uid).toBeTruthy();
    const pod = await core.readNamespacedPod({
      namespace: combined.involvedObject.namespace!,
      name: combined.involvedObject.name!,
    });
    expect(pod.spec?.nodeName).toBe(combined.source?.host);
    expect(pod.metadata?.uid).toBe(combined.involvedObject.uid);

    // Without a CNI config the runtime reports the network as not ready.
    const nodes = (await core.listNode()).items;
    for (const node of nodes) {
      const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
      expect(ready?.status).toBe('False');
      expect(ready?.message).toMatch(/NetworkReady=false reason:NetworkPluginNotReady/);
    }
    const notReady = await core.listEventForAllNamespaces({ fieldSelector: 'reason=NetworkNotReady' });
    expect(notReady.items[0]?.message).toMatch(/^network is not ready: /);
  });

  it('healthy: every pod runs and the Flannel DaemonSet is ready on every node', async () => {
    const { core, apps } = await open('healthy');
    const nodes = (await core.listNode()).items;
    const pods = (await core.listPodForAllNamespaces()).items;
    expect(pods.filter((p) => p.status?.phase !== 'Running').map((p) => p.metadata?.name)).toEqual([]);
    for (const pod of pods.filter((p) => !p.spec?.hostNetwork))
      expect(pod.status?.podIP).toMatch(/^10\.244\./);

    const [ds] = (await apps.listDaemonSetForAllNamespaces({ labelSelector: 'app=flannel' })).items;
    expect(ds.status?.desiredNumberScheduled).toBe(nodes.length);
    expect(ds.status?.numberReady).toBe(nodes.length);
    for (const node of nodes) {
      expect(node.metadata?.annotations?.['flannel.alpha.coreos.com/backend-type']).toBe('vxlan');
      expect(node.status?.conditions?.find((c) => c.type === 'NetworkUnavailable')?.reason).toBe(
        'FlannelIsUp',
      );
    }
    const pod = (await flannelPods(core))[0];
    const log = await core.readNamespacedPodLog({
      namespace: pod.metadata!.namespace!,
      name: pod.metadata!.name!,
      container: 'kube-flannel',
    });
    expect(log).toContain('Wrote subnet file to /run/flannel/subnet.env');
    expect((await sandboxEvents(core)).length).toBe(0);
  });

  it.each([
    ['flannel-crashloop', /doesn't contain "[0-9./]+" PodCIDR of the "[^"]+" node/],
    ['flannel-config-corrupt', /error parsing subnet config: /],
  ])('%s: the Flannel pods crash-loop with the flanneld log line', async (scenario, logLine) => {
    const { core } = await open(scenario);
    const restarted = await waitFor('a Flannel pod restarted twice', async () =>
      (await flannelPods(core)).find((p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2),
    );
    const status = restarted.status!.containerStatuses![0];
    expect(status.state?.waiting?.reason).toBe('CrashLoopBackOff');
    expect(status.lastState?.terminated?.exitCode).toBe(1);
    expect(status.ready).toBe(false);
    const log = await core.readNamespacedPodLog({
      namespace: restarted.metadata!.namespace!,
      name: restarted.metadata!.name!,
      container: 'kube-flannel',
    });
    expect(log).toMatch(logLine);
    const backoff = await core.listEventForAllNamespaces({ fieldSelector: 'reason=BackOff' });
    expect(
      backoff.items.some((e) => e.message?.startsWith('Back-off restarting failed container kube-flannel')),
    ).toBe(true);
    // Nothing wrote subnet.env, so other pods fail with error B.
    const events = await waitFor(
      'sandbox events',
      async () => (await sandboxEvents(core)).length > 0 && sandboxEvents(core),
    );
    expect(events[0].message).toContain('subnet.env');
  });

  it('podcidr-missing: the Flannel pod on the node without a podCIDR logs "pod cidr not assigned"', async () => {
    const { sim, core } = await open('podcidr-missing');
    const missing = sim.scenario.nodes.filter((n) => !n.podCIDR).map((n) => n.name);
    expect(missing.length).toBeGreaterThan(0);
    const pods = await waitFor('flannel pods', async () => {
      const all = await flannelPods(core);
      return all.filter(
        (p) => missing.includes(p.spec!.nodeName!) && waitingReason(p) === 'CrashLoopBackOff',
      );
    });
    for (const pod of pods) {
      const log = await core.readNamespacedPodLog({
        namespace: pod.metadata!.namespace!,
        name: pod.metadata!.name!,
        container: 'kube-flannel',
      });
      expect(log).toContain(`node "${pod.spec!.nodeName}" pod cidr not assigned`);
    }
  });

  it('ipam-leak: the range-set exhaustion shows on exactly the leaking node', async () => {
    const { sim, core } = await open('ipam-leak');
    const leaking = sim.scenario.nodes.filter((n) => n.host.ipam.some((s) => s.leaked)).map((n) => n.name);
    expect(leaking).toHaveLength(1);
    const events = await waitFor('sandbox events', async () => {
      const list = await sandboxEvents(core);
      return list.length > 0 && list;
    });
    expect(new Set(events.map((e) => e.source?.host))).toEqual(new Set(leaking));
    for (const e of events)
      expect(e.message).toMatch(/no IP addresses available in range set: 10\.244\.\d+\.1-10\.244\.\d+\.254/);
    const elsewhere = (await core.listPodForAllNamespaces()).items.filter(
      (p) => p.spec?.nodeName !== leaking[0],
    );
    expect(elsewhere.every((p) => p.status?.phase === 'Running')).toBe(true);
  });

  it.each([
    ['stale-cni0', /"cni0" already has an IP address different from 10\.244\.\d+\.1\/24/],
    ['cni-conflict', /failed to find plugin "[a-z-]+" in path \[\/opt\/cni\/bin\]/],
  ])('%s: sandbox failures carry the plugin error of the broken node', async (scenario, pattern) => {
    const { core } = await open(scenario);
    const events = await waitFor('sandbox events', async () => {
      const list = await sandboxEvents(core);
      return list.length > 0 && list;
    });
    expect(events.some((e) => pattern.test(e.message ?? ''))).toBe(true);
  });

  it('flannel-image-pull: the node that cannot reach ghcr.io keeps its Flannel pod in Init:ImagePullBackOff', async () => {
    const { core } = await open('flannel-image-pull');
    const stuck = await waitFor('the worker-3 Flannel pod in ImagePullBackOff', async () => {
      const pod = (await flannelPods(core)).find((p) => p.spec?.nodeName === 'worker-3');
      const init = pod?.status?.initContainerStatuses?.[0];
      return init?.state?.waiting?.reason === 'ImagePullBackOff' ? pod : undefined;
    });
    expect(stuck.status?.phase).toBe('Pending');
    expect(stuck.status?.initContainerStatuses?.[0]?.state?.waiting?.message).toBe(
      'Back-off pulling image "ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel3"',
    );
    expect(stuck.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('PodInitializing');
    const events = (
      await core.listNamespacedEvent({
        namespace: 'kube-flannel',
        fieldSelector: `involvedObject.name=${stuck.metadata?.name}`,
      })
    ).items;
    const failed = events.find((e) => e.reason === 'Failed' && e.message?.startsWith('Failed to pull image'));
    expect(failed?.message).toContain('dial tcp: lookup ghcr.io: i/o timeout');
    expect(failed?.involvedObject.fieldPath).toBe('spec.initContainers{install-cni-plugin}');
    expect(
      events.some((e) => e.reason === 'BackOff' && e.message?.startsWith('Back-off pulling image')),
    ).toBe(true);
    // Nothing was copied onto worker-3, so it has no CNI config and stays NotReady; the others are fine.
    expect(sim!.hosts.get('worker-3')!.list('/etc/cni/net.d')).toEqual([]);
    const others = (await flannelPods(core)).filter((p) => p.spec?.nodeName !== 'worker-3');
    expect(others.map((p) => p.status?.phase)).toEqual(['Running', 'Running', 'Running']);
  });

  it('subnet-env-deleted: the running Flannel pod is adopted, not restarted, so subnet.env stays missing', async () => {
    const { core } = await open('subnet-env-deleted');
    const onWorker1 = (await flannelPods(core)).filter((p) => p.spec?.nodeName === 'worker-1');
    expect(onWorker1.map((p) => p.metadata?.name)).toEqual(['kube-flannel-ds-r5lpw']);
    expect(onWorker1[0].status?.phase).toBe('Running');
    expect(sim!.hosts.get('worker-1')!.exists('/run/flannel/subnet.env')).toBe(false);
    expect(sim!.hosts.get('worker-2')!.exists('/run/flannel/subnet.env')).toBe(true);
    const event = await waitFor('a subnet.env sandbox failure on worker-1', async () =>
      (await sandboxEvents(core)).find((e) => e.source?.host === 'worker-1'),
    );
    expect(event.message).toContain("failed to load flannel 'subnet.env' file");
  });

  it('storm: N distinct sandbox-failure events for distinct pods, across the nodes', async () => {
    const { sim, core } = await open('healthy');
    const result = await sim.storm(300);
    expect(result.events).toBe(300);
    const events = await sandboxEvents(core);
    expect(events).toHaveLength(300);
    expect(new Set(events.map((e) => `${e.involvedObject.namespace}/${e.involvedObject.name}`)).size).toBe(
      300,
    );
    expect(new Set(events.map((e) => e.source?.host)).size).toBe(sim.scenario.nodes.length);
    expect(events[0].message).toMatch(
      /^Failed to create pod sandbox: .*no IP addresses available in range set/,
    );
  });

  it('expires events a TTL after their last write', async () => {
    const { core } = await open('healthy', { eventTtlMs: 400 });
    expect((await core.listEventForAllNamespaces()).items.length).toBeGreaterThan(0);
    await waitFor(
      'events to expire',
      async () => (await core.listEventForAllNamespaces()).items.length === 0,
    );
  });
});
