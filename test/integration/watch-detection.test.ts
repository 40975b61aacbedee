/**
 * Detection end to end: the Kubernetes simulator over real HTTP -> event watch -> classification ->
 * runbook match -> incidents in a real Redis. The expected counts are read back from the simulator's own
 * events, so the assertions hold whatever the scenario stages.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { parseClustersConfig, type ClusterConfig } from '../../src/config/clusters.js';
import { IncidentStore } from '../../src/incidents/store.js';
import type { Incident } from '../../src/incidents/types.js';
import { kubeConfigForCluster } from '../../src/kube/kubeconfig.js';
import { loadRunbooks, shippedRunbooksDir } from '../../src/runbooks/load.js';
import { startSimulator, type Simulator } from '../../src/sim/kube/simulator.js';
import type { KubeObject } from '../../src/sim/kube/store.js';
import type { IncidentEvent } from '../../src/watch/cluster-watcher.js';
import { WatchService, type ClusterWatchStatus } from '../../src/watch/watch-service.js';
import { waitFor } from '../helpers/wait.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';

const runbooks = loadRunbooks(shippedRunbooksDir());
const prefix = `t-watch-${randomUUID().slice(0, 8)}`;
let redis: Redis;
let store: IncidentStore;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(() => {
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  store = new IncidentStore({ redis, prefix });
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

/** Counts a person would get from `kubectl get events -A` for the two reasons the Flannel runbook triggers on. */
function expectedCounts(sim: Simulator) {
  const events = ['FailedCreatePodSandBox', 'NetworkNotReady'].flatMap((reason) =>
    sim.store.list('Event', { fieldSelector: `reason=${reason},type=Warning` }),
  );
  const field = (e: KubeObject, f: string) => (e[f] as Record<string, string> | undefined) ?? {};
  return {
    events: events.length,
    pods: new Set(events.map((e) => `${e.metadata.namespace}/${field(e, 'involvedObject').name}`)).size,
    nodes: new Set(events.map((e) => field(e, 'source').host)).size,
    namespaces: new Set(events.map((e) => e.metadata.namespace)).size,
  };
}

async function simulator(scenario: string, extra: { rbac?: boolean } = {}): Promise<Simulator> {
  // A broken cluster gets a long kubelet retry so its set of events is fixed once the scenario has played out;
  // a healthy one a short one, because its pods start on the retry after Flannel comes up.
  const retryIntervalMs = scenario === 'healthy' ? 300 : 3_600_000;
  const sim = await startSimulator({ scenario, port: 0, retryIntervalMs, startDelayMs: 10, ...extra });
  cleanups.push(() => sim.stop());
  await sim.settle();
  return sim;
}

function clusterFor(name: string, kubeconfig: string, extra: Record<string, unknown> = {}): ClusterConfig {
  return parseClustersConfig({ clusters: [{ name, kubeconfig, channel: 'C0123TEST', ...extra }] })
    .clusters[0];
}

function watch(clusters: ClusterConfig[], opts: { election?: boolean } = {}) {
  const incidents: IncidentEvent[] = [];
  const statuses: ClusterWatchStatus[] = [];
  const service = new WatchService({
    clusters,
    runbooks,
    store,
    kubeConfigFor: kubeConfigForCluster,
    election: opts.election ? { redis, keyPrefix: prefix, ttlMs: 3000, retryMs: 200 } : undefined,
    onIncident: (e) => incidents.push(e),
    onStatus: (s) => statuses.push(s),
    streamOptions: { backoff: { baseMs: 100, maxMs: 1000 } },
    flushIntervalMs: 20,
  });
  service.start();
  let stopped = false;
  const stop = async () => {
    if (!stopped) await service.stop();
    stopped = true;
  };
  cleanups.push(stop);
  return { service, incidents, statuses, stop };
}

async function incidentsOf(cluster: string): Promise<Incident[]> {
  return store.list({ cluster, limit: 100 });
}

async function countsMatch(cluster: string, want: ReturnType<typeof expectedCounts>) {
  const list = await incidentsOf(cluster);
  if (list.length !== 1) return false;
  const c = list[0].counts;
  return (
    c.events === want.events &&
    c.pods === want.pods &&
    c.nodes === want.nodes &&
    c.namespaces === want.namespaces
  );
}

/** One Flannel sandbox failure created now (a marker that the watch has read everything before it). */
function controlEvent(sim: Simulator, namespace: string): void {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  sim.store.create({
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `marker.${randomUUID().slice(0, 8)}`, namespace },
    involvedObject: { kind: 'Pod', namespace, name: 'marker-pod', uid: randomUUID(), apiVersion: 'v1' },
    reason: 'FailedCreatePodSandBox',
    type: 'Warning',
    message:
      'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "0123abcd": plugin type="flannel" failed (add): loadFlannelSubnetEnv failed: open /run/flannel/subnet.env: no such file or directory',
    source: { component: 'kubelet', host: 'node-1' },
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  });
}

describe('detection against the simulator', () => {
  it('flannel-missing opens exactly one incident with the counts of the sandbox failures', async () => {
    const sim = await simulator('flannel-missing');
    const want = expectedCounts(sim);
    expect(want.events).toBeGreaterThan(0);
    const { incidents } = watch([clusterFor('fm', sim.kubeconfigPath)]);

    await waitFor('incident counts to match the cluster', () => countsMatch('fm', want));
    const [incident] = await incidentsOf('fm');
    expect(incident.runbookId).toBe('flannel');
    expect(incident.state).toBe('open');
    expect(incident.signatures[0].errorClass).toBe('ip-exhausted');
    expect(incidents.filter((e) => e.event === 'opened')).toHaveLength(1);
    expect(incidents.every((e) => e.incident.id === incident.id)).toBe(true);
  });

  it('healthy and non-matching Warning events open nothing', async () => {
    const sim = await simulator('healthy');
    sim.store.create({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'web.backoff', namespace: 'default' },
      involvedObject: { kind: 'Pod', namespace: 'default', name: 'web', uid: 'u-1' },
      reason: 'BackOff',
      type: 'Warning',
      message: 'Back-off restarting failed container app in pod web_default(u-1)',
      source: { component: 'kubelet', host: 'node-1' },
      count: 3,
    });
    const { statuses } = watch([clusterFor('hl', sim.kubeconfigPath)]);
    await waitFor('the watch to be open', () => statuses.some((s) => s.stream?.state === 'watching'));
    // A later sandbox failure as a marker: once it is counted, everything before it was read too.
    controlEvent(sim, 'default');
    await waitFor('the marker incident', async () => (await incidentsOf('hl')).length > 0);
    const list = await incidentsOf('hl');
    expect(list).toHaveLength(1);
    expect(list[0].counts).toMatchObject({ events: 1, pods: 1 });
    expect(list[0].signatures.map((x) => x.errorClass)).toEqual(['subnet-env-missing']);
  });

  it('on a cluster that runs Flannel any CNI plugin failure is in scope; elsewhere only Flannel wordings are', async () => {
    const sandboxEvent = (sim: Simulator, namespace: string, pod: string, message: string) => {
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      sim.store.create({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: `${pod}.${randomUUID().slice(0, 8)}`, namespace },
        involvedObject: { kind: 'Pod', namespace, name: pod, uid: randomUUID(), apiVersion: 'v1' },
        reason: 'FailedCreatePodSandBox',
        type: 'Warning',
        message,
        source: { component: 'kubelet', host: 'worker-2' },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      });
    };
    const calico = (id: string) =>
      `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "${id}": plugin type="calico" failed (add): error getting ClusterInformation: connection is unauthorized: Unauthorized`;
    const pause =
      'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to get sandbox image "registry.k8s.io/pause:3.10": failed to pull image "registry.k8s.io/pause:3.10": i/o timeout';

    // cni-conflict runs Flannel; a leftover 10-calico.conflist makes worker-2's failures name calico.
    const flannel = await simulator('cni-conflict');
    const calicoEvents = flannel.store
      .list('Event', { fieldSelector: 'reason=FailedCreatePodSandBox' })
      .filter((e) => String(e.message).includes('plugin type="calico"'));
    expect(calicoEvents.length).toBeGreaterThan(0);
    sandboxEvent(flannel, 'shop', 'pause-pod', pause);
    watch([clusterFor('cc', flannel.kubeconfigPath)]);
    await waitFor('the calico failures to open the incident', async () => {
      const [incident] = await incidentsOf('cc');
      return incident && incident.counts.events >= calicoEvents.length;
    });
    const [incident] = await incidentsOf('cc');
    expect(incident.runbookId).toBe('flannel');
    expect(incident.signatures.some((x) => x.sampleMessage.includes('plugin type="calico"'))).toBe(true);
    // A sandbox failure that is no pod-network failure (the pause image) stays out.
    controlEvent(flannel, 'shop');
    await waitFor(
      'the marker',
      async () => (await incidentsOf('cc'))[0].counts.events > incident.counts.events,
    );
    expect((await incidentsOf('cc'))[0].counts.events).toBe(incident.counts.events + 1);

    // flannel-missing: no Flannel DaemonSet, no node with flanneld's annotations: calico's failure is not Flannel's.
    const none = await simulator('flannel-missing');
    const want = expectedCounts(none);
    sandboxEvent(none, 'default', 'calico-pod', calico('feedc0de'));
    const { statuses } = watch([clusterFor('nf', none.kubeconfigPath)]);
    await waitFor('the watch to be open', () => statuses.some((s) => s.stream?.state === 'watching'));
    await waitFor('incident counts to match the Flannel failures only', () => countsMatch('nf', want));
  });

  it('ignored namespaces open nothing', async () => {
    const sim = await simulator('flannel-missing');
    const namespaces = sim.store.list('Namespace').map((n) => n.metadata.name);
    expect(expectedCounts(sim).events).toBeGreaterThan(0);
    const { statuses } = watch([clusterFor('ign', sim.kubeconfigPath, { ignoreNamespaces: namespaces })]);
    await waitFor('the watch to be open', () => statuses.some((s) => s.stream?.state === 'watching'));
    // A marker in a namespace that is not ignored: when it is counted, the ignored ones were read and dropped.
    controlEvent(sim, 'not-ignored');
    await waitFor('the marker incident', async () => (await incidentsOf('ign')).length > 0);
    const list = await incidentsOf('ign');
    expect(list).toHaveLength(1);
    expect(list[0].counts).toMatchObject({ events: 1, namespaces: 1 });
  });

  it('a storm of 10,000 events, a dropped watch, a forced 410 and a restart still make one incident', async () => {
    const sim = await simulator('flannel-missing');
    const first = watch([clusterFor('storm', sim.kubeconfigPath)]);
    await waitFor('the first incident', async () => (await incidentsOf('storm')).length === 1);

    const storm = await sim.storm(10_000);
    expect(storm.events).toBe(10_000);
    await waitFor('counts after the storm', () => countsMatch('storm', expectedCounts(sim)), {
      timeoutMs: 60_000,
    });

    // A dropped watch: events created while reconnecting must still be counted, once.
    sim.api.faults.dropWatches();
    await sim.storm(50);
    await waitFor('counts after a dropped watch', () => countsMatch('storm', expectedCounts(sim)));

    // A forced 410: the watcher relists and replays every event; nothing may count twice.
    sim.store.compact();
    sim.api.faults.expireNextWatch();
    sim.api.faults.dropWatches();
    await sim.storm(50);
    // The relist replays all ~10,000 events: as much work as the storm itself, so the same room.
    await waitFor('counts after a 410 relist', () => countsMatch('storm', expectedCounts(sim)), {
      timeoutMs: 60_000,
    });
    expect(first.service.statuses[0].stream?.relists).toBeGreaterThan(0);

    // A restart of the watcher: a new service relists everything from scratch.
    await first.stop();
    await sim.storm(20);
    const second = watch([clusterFor('storm', sim.kubeconfigPath)]);
    await waitFor('counts after a restart', () => countsMatch('storm', expectedCounts(sim)));
    expect(second.incidents.every((e) => e.event === 'updated')).toBe(true);
    expect(await incidentsOf('storm')).toHaveLength(1);
  }, 240_000);

  it('two watchers on one cluster open one incident, and the standby takes over when the leader stops', async () => {
    const sim = await simulator('flannel-missing');
    const cluster = clusterFor('ha', sim.kubeconfigPath);
    const a = watch([cluster], { election: true });
    const b = watch([cluster], { election: true });
    const leaderOf = () => [a, b].find((w) => w.service.statuses[0].role === 'leader');
    const leader = await waitFor('a leader', leaderOf);
    const standby = leader === a ? b : a;
    expect(standby.service.statuses[0].role).toBe('standby');
    await waitFor('counts to match', () => countsMatch('ha', expectedCounts(sim)));

    await leader.stop();
    await waitFor('the standby to lead', () => standby.service.statuses[0].role === 'leader');
    await sim.storm(30);
    await waitFor('the new leader to count new events', () => countsMatch('ha', expectedCounts(sim)));
    expect(await incidentsOf('ha')).toHaveLength(1);
  });

  it('an unreachable cluster is reported and the others keep watching', async () => {
    const sim = await simulator('flannel-missing');
    const good = clusterFor('reachable', sim.kubeconfigPath);
    const missing = { ...good, name: 'nofile', kubeconfig: '/nonexistent/kubeconfig' };
    // A kubeconfig that parses but points at a port nothing listens on.
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'watch-unreachable-'));
    const deadConfig = join(dir, 'kubeconfig');
    writeFileSync(
      deadConfig,
      'apiVersion: v1\nkind: Config\nclusters: [{name: d, cluster: {server: "http://127.0.0.1:1", insecure-skip-tls-verify: true}}]\n' +
        'users: [{name: u, user: {token: t}}]\ncontexts: [{name: d, context: {cluster: d, user: u}}]\ncurrent-context: d\n',
    );
    const dead = { ...good, name: 'dead', kubeconfig: deadConfig };
    const { service } = watch([dead, missing, good]);

    await waitFor('the reachable cluster incident', () => countsMatch('reachable', expectedCounts(sim)));
    const byName = () => Object.fromEntries(service.statuses.map((s) => [s.cluster, s]));
    await waitFor('the dead cluster to be reported', () =>
      /unreachable|refused/i.test(byName().dead.lastError ?? ''),
    );
    expect(byName().nofile.role).toBe('error');
    expect(byName().nofile.lastError).toMatch(/nonexistent\/kubeconfig/);
    expect(await incidentsOf('dead')).toHaveLength(0);
  });

  it('a watch refused by RBAC (403) is reported with the reason and retried until the role is granted', async () => {
    const sim = await simulator('flannel-missing', { rbac: true });
    const token = 'watcher-token-without-events';
    sim.store.create({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'bot', namespace: 'default' },
    });
    sim.store.create({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/service-account-token',
      metadata: {
        name: 'bot-token',
        namespace: 'default',
        annotations: { 'kubernetes.io/service-account.name': 'bot' },
      },
      data: { token: Buffer.from(token).toString('base64') },
    });
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const kubeconfig = join(mkdtempSync(join(tmpdir(), 'watch-403-')), 'kubeconfig');
    writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters: [{name: s, cluster: {server: "${sim.url}", insecure-skip-tls-verify: true}}]\n` +
        `users: [{name: bot, user: {token: ${token}}}]\ncontexts: [{name: s, context: {cluster: s, user: bot}}]\ncurrent-context: s\n`,
    );
    const { service } = watch([clusterFor('rbac', kubeconfig)]);
    const status = () => service.statuses[0];
    await waitFor('the 403 to be reported', () => /forbidden \(403\)/.test(status().lastError ?? ''));
    expect(status().lastError).toMatch(/cannot list resource "events"/);
    expect(await incidentsOf('rbac')).toHaveLength(0);

    // Granting the permission is enough: the watcher retries by itself and detects the failure.
    sim.store.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'event-reader' },
      rules: [{ apiGroups: [''], resources: ['events'], verbs: ['list', 'watch'] }],
    });
    sim.store.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'bot-event-reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'event-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'bot', namespace: 'default' }],
    });
    await waitFor('the incident once allowed', () => countsMatch('rbac', expectedCounts(sim)));
    expect(status().stream?.state).toBe('watching');
  });
});
