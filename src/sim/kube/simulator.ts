/**
 * The Kubernetes simulator in one call: a scenario's nodes (real host trees on disk), its objects in
 * the store, the controllers, a kubelet per node, and the HTTP API server, plus a kubeconfig that kubectl
 * and @kubernetes/client-node use unmodified.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { Activity } from './cluster/activity.js';
import type { ClusterContext } from './cluster/controller-context.js';
import { DaemonSetController } from './cluster/daemonset-controller.js';
import { DeploymentController } from './cluster/deployment-controller.js';
import { EventRecorder, type EventRecorderOptions } from './cluster/event-recorder.js';
import { EventExpiry } from './cluster/event-ttl.js';
import { Kubelet } from './cluster/kubelet.js';
import { NodeAgent } from './cluster/node-agent.js';
import { nodeObject } from './cluster/node-object.js';
import { ReplicaSetController } from './cluster/replicaset-controller.js';
import { Scheduler } from './cluster/scheduler.js';
import { runStorm, type StormResult } from './cluster/storm.js';
import { NodeHost } from './host/node-host.js';
import { findResource, RESOURCE_TYPES, resourceForGvk } from './resources.js';
import { JobController } from './cluster/job-controller.js';
import { UserError } from '../../util/errors.js';
import { expandScenario, loadScenario } from './scenario/load.js';
import type { Scenario } from './scenario/schema.js';
import { type ApiServer, startApiServer } from './server.js';
import { type KubeObject, ObjectStore } from './store.js';

export interface SimulatorOptions {
  scenario?: string;
  scenarioFile?: string;
  port?: number;
  kubeconfigPath?: string;
  nodes?: number;
  storm?: number;
  rbac?: boolean;
  workDir?: string;
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** kubelet retry interval for failing sandboxes/volumes and node status (default 3000 ms). */
  retryIntervalMs?: number;
  /** Delay before a bound pod is started (default 200 ms). */
  startDelayMs?: number;
  /** Delay before a gracefully deleted pod is removed (default 300 ms). */
  deleteDelayMs?: number;
  /** --event-ttl (default 1 h). */
  eventTtlMs?: number;
  /** Latency injected into every API response from the start (ms). */
  latencyMs?: number;
  /** Cluster/context/user names in the kubeconfig (default "sim"). */
  contextName?: string;
  /** Delay before the storm starts (default 0: right after start-up). */
  stormDelayMs?: number;
  /** Event recorder tuning (spam filter, aggregation). */
  recorder?: EventRecorderOptions;
  /** Unexpected internal errors (default: printed to stderr). */
  onError?: (err: unknown) => void;
}

export interface Simulator {
  url: string;
  kubeconfigPath: string;
  store: ObjectStore;
  api: ApiServer;
  scenario: Scenario;
  hosts: Map<string, NodeHost>;
  kubelets: Map<string, Kubelet>;
  workDir: string;
  /** Emits `count` FailedCreatePodSandBox events as fast as possible (see cluster/storm.ts). */
  storm(count: number): Promise<StormResult>;
  /** The storm started by `opts.storm`, if any. */
  stormDone?: Promise<StormResult>;
  stop(): Promise<void>;
  /** Resolves when controllers and kubelets have nothing left to do but wait for retry timers. */
  settle(): Promise<void>;
}

const DEFAULT_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** Creation order: owners before dependents, namespaces before their contents. */
const KIND_ORDER = [
  'Namespace',
  'Node',
  'ServiceAccount',
  'Secret',
  'ConfigMap',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
  'Deployment',
  'DaemonSet',
  'ReplicaSet',
  'Job',
  'Pod',
  'Event',
];

function kindRank(kind: string): number {
  const i = KIND_ORDER.indexOf(kind);
  return i < 0 ? KIND_ORDER.length - 1 : i;
}

function versionInfo(gitVersion: string): { major: string; minor: string; gitVersion: string } {
  const m = /^v(\d+)\.(\d+)/.exec(gitVersion);
  return { major: m?.[1] ?? '1', minor: m?.[2] ?? '33', gitVersion };
}

function ensureNamespace(store: ObjectStore, name: string): void {
  if (store.get('Namespace', undefined, name)) return;
  store.create({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
  });
  store.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: name } });
}

/** Loads the scenario's nodes and objects; ownerReferences are matched to owners by kind and name. */
function loadObjects(store: ObjectStore, scenario: Scenario): void {
  for (const ns of DEFAULT_NAMESPACES) ensureNamespace(store, ns);
  for (const node of scenario.nodes) store.create(nodeObject(node, scenario.kubernetesVersion));
  const objects = (scenario.objects as KubeObject[])
    .map((o, i) => ({ o, i }))
    .sort((a, b) => kindRank(a.o.kind) - kindRank(b.o.kind) || a.i - b.i)
    .map(({ o }) => structuredClone(o));
  for (const obj of objects) {
    if (obj.kind === 'Namespace') {
      if (store.get('Namespace', undefined, obj.metadata.name))
        store.delete('Namespace', undefined, obj.metadata.name);
      store.create(obj);
      if (!store.get('ServiceAccount', obj.metadata.name, 'default'))
        store.create({
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: { name: 'default', namespace: obj.metadata.name },
        });
      continue;
    }
    const resource = resourceForGvk(obj.apiVersion, obj.kind);
    if (!resource) {
      const served = RESOURCE_TYPES.filter((r) => r.group !== 'events.k8s.io')
        .map((r) => `${r.apiVersion} ${r.kind}`)
        .join(', ');
      throw new UserError(
        `scenario "${scenario.name}": ${obj.apiVersion} ${obj.kind} ${obj.metadata.name} cannot be loaded: the simulator serves ${served}`,
      );
    }
    const namespaced = resource.namespaced;
    if (namespaced) ensureNamespace(store, obj.metadata.namespace ?? 'default');
    for (const ref of obj.metadata.ownerReferences ?? []) {
      // An owner of a kind the simulator does not serve (a CronJob, a custom resource) is kept as written;
      // nothing here reconciles it, as the garbage collector would not find it.
      const ownerType = findResource(ref.kind);
      const owner = ownerType
        ? store.get(
            ref.kind,
            ownerType.namespaced ? (obj.metadata.namespace ?? 'default') : undefined,
            ref.name,
          )
        : undefined;
      if (owner?.metadata.uid) ref.uid = owner.metadata.uid;
      else ref.uid ??= stableUid(`${ref.kind}/${obj.metadata.namespace ?? ''}/${ref.name}`);
    }
    applyWorkloadDefaults(obj);
    if (
      obj.kind === 'ServiceAccount' &&
      store.get('ServiceAccount', obj.metadata.namespace ?? 'default', obj.metadata.name)
    )
      store.delete('ServiceAccount', obj.metadata.namespace ?? 'default', obj.metadata.name);
    store.create(obj);
  }
  // Logs of pods the scenario lists as already running (flanneld's start-up or crash lines, for instance).
  for (const log of scenario.logs) {
    const [namespace, name] = log.pod.split('/');
    const pod = store.get('Pod', namespace, name);
    if (!pod) continue;
    store.podLogs.set(namespace, name, log.container, log.lines.join('\n') + '\n', {
      previous: log.previous,
    });
  }
}

function stableUid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * The API server's defaults for workload specs that `kubectl rollout status` needs (scenario objects
 * only: objects created through the API get whatever the store defaults).
 */
function applyWorkloadDefaults(obj: KubeObject): void {
  const spec = obj.spec as Record<string, unknown> | undefined;
  if (!spec) return;
  if (obj.kind === 'DaemonSet') {
    spec.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } };
    spec.revisionHistoryLimit ??= 10;
  } else if (obj.kind === 'Deployment') {
    spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } };
    spec.revisionHistoryLimit ??= 10;
    spec.progressDeadlineSeconds ??= 600;
  }
}

export function kubeconfigYaml(url: string, name: string, token: string): string {
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: url, 'insecure-skip-tls-verify': true } }],
    users: [{ name: `${name}-admin`, user: { token } }],
    contexts: [{ name, context: { cluster: name, user: `${name}-admin` } }],
    'current-context': name,
    preferences: {},
  });
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const scenario = expandScenario(loadScenario({ name: opts.scenario, file: opts.scenarioFile }), {
    nodes: opts.nodes,
  });
  const ownWorkDir = opts.workDir === undefined;
  const workDir = opts.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'flannel-ops-sim-'));
  fs.mkdirSync(workDir, { recursive: true });
  const onError =
    opts.onError ??
    ((err: unknown) =>
      process.stderr.write(`flannel-ops sim: internal error: ${(err as Error)?.stack ?? String(err)}\n`));

  const store = new ObjectStore();
  const hosts = new Map<string, NodeHost>();
  const kubelets = new Map<string, Kubelet>();
  const stoppers: Array<() => void> = [];
  let api: ApiServer | undefined;
  let agent: NodeAgent | undefined;
  try {
    for (const node of scenario.nodes) hosts.set(node.name, await NodeHost.create(workDir, node));
    loadObjects(store, scenario);

    const activity = new Activity();
    const ctx: ClusterContext = {
      store,
      activity,
      recorder: new EventRecorder(store, opts.recorder),
      onError,
    };
    const expiry = new EventExpiry(store, opts.eventTtlMs ?? 3_600_000);
    stoppers.push(() => expiry.stop());

    // Action pods' node tools (crictl, systemctl, ip link delete) reach their node's kubelet through it.
    agent = await NodeAgent.start(kubelets, onError);
    const kubeletOptions = {
      retryIntervalMs: opts.retryIntervalMs ?? 3000,
      startDelayMs: opts.startDelayMs ?? 200,
      deleteDelayMs: opts.deleteDelayMs ?? 300,
      workDir,
      nodeAgent: agent,
    };
    for (const node of scenario.nodes) {
      const host = hosts.get(node.name) as NodeHost;
      kubelets.set(node.name, new Kubelet(ctx, host, scenario, kubeletOptions));
    }
    // One subscription routes pod changes to the kubelet of the pod's node.
    const unsubscribe = store.subscribe((change) => {
      if (change.object.kind !== 'Pod') return;
      const nodeName = (change.object.spec as { nodeName?: string } | undefined)?.nodeName;
      if (nodeName) kubelets.get(nodeName)?.onPodChange(change);
    });
    stoppers.push(unsubscribe);

    const controllers = [
      new Scheduler(ctx),
      new DaemonSetController(ctx),
      new ReplicaSetController(ctx),
      new DeploymentController(ctx),
      new JobController(ctx),
    ];
    for (const c of controllers) {
      c.start();
      stoppers.push(() => c.stop());
    }
    for (const k of kubelets.values()) {
      k.start();
      stoppers.push(() => k.stop());
    }

    api = await startApiServer({
      store,
      host: opts.host,
      port: opts.port ?? 0,
      rbac: opts.rbac,
      kubernetesVersion: versionInfo(scenario.kubernetesVersion),
    });
    if (opts.latencyMs) api.faults.setLatency(opts.latencyMs);

    const kubeconfigPath = path.resolve(opts.kubeconfigPath ?? path.join(workDir, 'kubeconfig'));
    fs.mkdirSync(path.dirname(kubeconfigPath), { recursive: true });
    fs.writeFileSync(kubeconfigPath, kubeconfigYaml(api.url, opts.contextName ?? 'sim', 'admin'), {
      mode: 0o600,
    });

    const storm = (count: number): Promise<StormResult> =>
      runStorm(
        store,
        scenario,
        scenario.nodes.map((n) => ({
          name: n.name,
          runtime: n.runtime,
          podCIDR: n.podCIDR,
          stuckPods: kubelets.get(n.name)?.stuckPods() ?? [],
        })),
        count,
      );
    let stopped = false;
    const server = api;
    const nodeAgent = agent;
    const sim: Simulator = {
      url: api.url,
      kubeconfigPath,
      store,
      api,
      scenario,
      hosts,
      kubelets,
      workDir,
      storm,
      settle: () => activity.idle(),
      async stop() {
        if (stopped) return;
        stopped = true;
        for (const stop of stoppers.reverse()) stop();
        await server.close();
        await nodeAgent.close();
        if (ownWorkDir) fs.rmSync(workDir, { recursive: true, force: true });
      },
    };
    if (opts.storm && opts.storm > 0) {
      const count = opts.storm;
      sim.stormDone = new Promise((r) => setTimeout(r, opts.stormDelayMs ?? 0)).then(() =>
        stopped ? { events: 0, durationMs: 0 } : storm(count),
      );
    }
    return sim;
  } catch (err) {
    for (const stop of stoppers.reverse()) stop();
    await api?.close();
    await agent?.close();
    if (ownWorkDir) fs.rmSync(workDir, { recursive: true, force: true });
    throw err;
  }
}
