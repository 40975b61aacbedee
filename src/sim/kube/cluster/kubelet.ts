import fs from 'node:fs';
import path from 'node:path';
import { podSandboxId } from '../host/ids.js';
import type { NodeHost } from '../host/node-host.js';
import { brokenSandboxMessage, sandboxOverrideFor } from '../host/sandbox-message.js';
import type { Scenario } from '../scenario/schema.js';
import type { KubeObject, StoreChange } from '../store.js';
import { type ClusterContext, isStaleWrite } from './controller-context.js';
import { type EventType, referenceTo } from './event-recorder.js';
import {
  applyFlannelUp,
  checkConfigMapVolumes,
  flanneldContainer,
  isFlannelPod,
  runInitContainers,
  startFlanneld,
} from './flannel-pod.js';
import { firstPullFailure, type PullFailure } from './image-pull.js';
import { hex64, isoSeconds } from './names.js';
import { type Container, controllerOf, isTerminating, nodeInternalIP, podPhase, podSpec } from './objects.js';
import { buildPodStatus, type ContainerView, type PodStatusInput } from './pod-status.js';
import { isProbePod, prepareProbe, type ProbeRun, type ProbeSetup, runProbe } from './probe-runner.js';
import { AGENT_CLIENT, HOST_BIN_DIR, isActionPod, prepareAction } from './action-runner.js';
import type { AgentNode, NodeAgentAccess } from './node-agent.js';
import type { CriSandbox } from '../host/cri.js';
import { LineUnmapper } from '../host/node-paths.js';
import type { NodeEffect, NodeView } from '../host/node-tools.js';

export interface KubeletOptions {
  /** How often a pod whose sandbox/volumes failed is retried, and the node status is re-evaluated. */
  retryIntervalMs: number;
  /** Delay between a pod being bound and the kubelet starting it (makes Pending visible). */
  startDelayMs: number;
  /** Delay between a graceful delete and the final removal (grace 0). */
  deleteDelayMs: number;
  /** Where probe and action pods get their container roots. */
  workDir: string;
  /** The node agent action pods' node tools call (absent: they cannot act on the node). */
  nodeAgent?: {
    accessFor(node: string): NodeAgentAccess | undefined;
    readOnlyAccessFor(node: string): NodeAgentAccess | undefined;
  };
}

type Phase = 'pending' | 'running' | 'crashloop' | 'completed' | 'terminating';

interface PodRuntime {
  uid: string;
  namespace: string;
  name: string;
  phase: Phase;
  attempts: number;
  sandboxId?: string;
  podIP?: string;
  podIPs?: string[];
  crashes: number;
  /** Failed image pulls in a row (the first is ErrImagePull, later ones ImagePullBackOff). */
  pullFailures: number;
  initDone: boolean;
  containerIds: Map<string, string>;
  timer?: NodeJS.Timeout;
  timerEnd?: () => void;
  probe?: ProbeRun;
  containerRoot?: string;
  /** A hostNetwork pod's sandbox (no CNI, so not in the host's sandbox records). */
  hostSandbox?: { id: string; createdAt: string };
}

const SOURCE_COMPONENT = 'kubelet';

/**
 * One node's kubelet: starts the pods bound to it (hostNetwork pods regardless of the CNI; others
 * through the node host's CNI ADD, with FailedCreatePodSandBox / NetworkNotReady events and retries
 * while it fails), runs the Flannel pod (flanneld emulation) and probe and action pods (real processes),
 * tears pods down on deletion, and keeps the node's Ready condition in line with the runtime's network
 * state. It also answers for the node's runtime and systemd unit when action pods ask (AgentNode).
 */
export class Kubelet implements AgentNode {
  private readonly pods = new Map<string, PodRuntime>();
  private nodeTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly ctx: ClusterContext,
    readonly host: NodeHost,
    private readonly scenario: Pick<Scenario, 'failure'>,
    private readonly opts: KubeletOptions,
  ) {}

  get nodeName(): string {
    return this.host.name;
  }

  start(): void {
    this.updateNodeStatus();
    this.nodeTimer = setInterval(() => this.guard(() => this.updateNodeStatus()), this.opts.retryIntervalMs);
    this.nodeTimer.unref();
    for (const pod of this.ctx.store.list('Pod', { fieldSelector: `spec.nodeName=${this.nodeName}` }))
      this.adopt(pod);
  }

  stop(): void {
    this.stopped = true;
    if (this.nodeTimer) clearInterval(this.nodeTimer);
    for (const rt of this.pods.values()) {
      this.clearTimer(rt);
      rt.probe?.kill();
    }
    this.pods.clear();
  }

  /**
   * `systemctl restart kubelet`: the new process has no back-off state, so every pod still waiting (for a
   * sandbox, a volume, an image, a crash-loop restart) is synced at once; running pods and their
   * processes carry on. The node's status is posted again and a `Starting` event recorded.
   */
  restart(): void {
    if (this.stopped) return;
    const ref = { kind: 'Node', name: this.nodeName, uid: this.nodeName, apiVersion: 'v1' };
    this.ctx.recorder.record(ref, 'Normal', 'Starting', 'Starting kubelet.', {
      component: SOURCE_COMPONENT,
      host: this.nodeName,
    });
    this.updateNodeStatus();
    for (const rt of this.pods.values()) {
      if (rt.phase !== 'pending' && rt.phase !== 'crashloop') continue;
      rt.pullFailures = 0;
      this.schedule(rt, 0, true);
    }
  }

  /** The runtime's sandboxes on this node, as `crictl pods` lists them. */
  criSandboxes(): CriSandbox[] {
    const holders = new Map<string, PodRuntime>();
    for (const rt of this.pods.values()) if (rt.sandboxId) holders.set(rt.sandboxId, rt);
    const out: CriSandbox[] = [];
    // Sandboxes with a pod network: READY while a pod the kubelet runs holds it; a record nobody holds is
    // a sandbox whose pod is gone but whose CNI DEL never ran (NOTREADY, still holding its IP).
    for (const record of this.host.sandboxes()) {
      const rt = holders.get(record.sandboxId);
      const pod = rt ? this.currentPod(rt) : undefined;
      out.push({
        id: record.sandboxId,
        name: record.podName ?? '',
        namespace: record.namespace ?? '',
        uid: rt?.uid ?? record.podUid ?? '',
        attempt: record.attempt ?? 0,
        ready: rt !== undefined,
        createdAt: record.createdAt ?? new Date(0).toISOString(),
        ip: record.ip,
        netnsPath: `/var/run/netns/${record.netns}`,
        hostNetwork: false,
        hostPID: pod ? podSpec(pod).hostPID === true : false,
        labels: { ...(pod?.metadata.labels ?? {}) },
        annotations: { ...(pod?.metadata.annotations ?? {}) },
      });
    }
    for (const rt of this.pods.values()) {
      if (!rt.hostSandbox) continue;
      const pod = this.currentPod(rt);
      out.push({
        id: rt.hostSandbox.id,
        name: rt.name,
        namespace: rt.namespace,
        uid: rt.uid,
        attempt: 0,
        ready: rt.phase !== 'completed' && rt.phase !== 'terminating',
        createdAt: rt.hostSandbox.createdAt,
        ip: '',
        hostNetwork: true,
        hostPID: pod ? podSpec(pod).hostPID === true : false,
        labels: { ...(pod?.metadata.labels ?? {}) },
        annotations: { ...(pod?.metadata.annotations ?? {}) },
      });
    }
    return out;
  }

  // ---- AgentNode: what action pods' node tools see and do ------------------------------------------

  get hostRoot(): string {
    return this.host.root;
  }

  nodeView(): Omit<NodeView, 'pathPrefix' | 'now'> {
    return { runtime: this.host.runtime, devices: this.host.devices(), sandboxes: this.criSandboxes() };
  }

  applyNodeEffect(effect: NodeEffect): void {
    if (effect.kind === 'restart-kubelet') this.restart();
    else this.host.deleteLink(effect.name);
  }

  /** Pods whose sandbox or volumes are failing right now (for the storm and for tests). */
  stuckPods(): Array<{ namespace: string; name: string; uid: string }> {
    return [...this.pods.values()]
      .filter((rt) => rt.phase === 'pending')
      .map((rt) => ({ namespace: rt.namespace, name: rt.name, uid: rt.uid }));
  }

  /** Store changes of pods bound to this node (the simulator routes them by spec.nodeName). */
  onPodChange(change: StoreChange): void {
    if (this.stopped) return;
    const pod = change.object;
    const uid = pod.metadata.uid ?? '';
    const rt = this.pods.get(uid);
    if (change.type === 'DELETED') {
      if (rt) this.forget(rt);
      return;
    }
    if (isTerminating(pod)) {
      if (!rt) this.adopt(pod);
      else if (rt.phase !== 'terminating') this.beginTermination(rt);
      return;
    }
    if (!rt) this.adopt(pod);
  }

  /**
   * Stuck pods try again soon (flannel just came up on this node). Only pods that already failed a sandbox
   * attempt: a pod still waiting for its first start keeps its (shorter) start timer.
   */
  retryStuckPods(): void {
    for (const rt of this.pods.values())
      if (rt.phase === 'pending' && rt.attempts > 0) this.schedule(rt, this.opts.retryIntervalMs, true);
  }

  // ---- lifecycle ---------------------------------------------------------------------------------

  private adopt(pod: KubeObject): void {
    const rt: PodRuntime = {
      uid: pod.metadata.uid ?? '',
      namespace: pod.metadata.namespace ?? 'default',
      name: pod.metadata.name,
      phase: 'pending',
      attempts: 0,
      crashes: 0,
      pullFailures: 0,
      initDone: false,
      containerIds: new Map(),
    };
    this.pods.set(rt.uid, rt);
    const phase = podPhase(pod);
    const status = (pod.status ?? {}) as {
      podIP?: string;
      podIPs?: Array<{ ip?: string }>;
      containerStatuses?: unknown[];
    };
    if (phase === 'Succeeded' || phase === 'Failed') rt.phase = 'completed';
    else if (phase === 'Running' && status.containerStatuses?.length) {
      // Already running when the scenario was loaded: keep it, and remember its sandbox for DEL.
      rt.phase = 'running';
      rt.podIP = status.podIP;
      const adopted = (status.podIPs ?? []).map((p) => p.ip).filter((ip): ip is string => !!ip);
      if (adopted.length > 1) rt.podIPs = adopted;
      rt.sandboxId = this.host
        .sandboxes()
        .find((s) => s.namespace === rt.namespace && s.podName === rt.name)?.sandboxId;
      if (podSpec(pod).hostNetwork) rt.hostSandbox = this.newHostSandbox(rt);
    }
    if (isTerminating(pod)) this.beginTermination(rt);
    else if (rt.phase === 'pending') this.schedule(rt, this.opts.startDelayMs, true);
  }

  private forget(rt: PodRuntime): void {
    this.clearTimer(rt);
    rt.probe?.kill();
    this.releaseSandbox(rt);
    if (rt.containerRoot) fs.rmSync(rt.containerRoot, { recursive: true, force: true });
    this.pods.delete(rt.uid);
  }

  private beginTermination(rt: PodRuntime): void {
    const wasRunning = rt.phase === 'running' || rt.phase === 'crashloop';
    rt.phase = 'terminating';
    this.clearTimer(rt);
    rt.probe?.kill();
    const pod = this.currentPod(rt);
    if (pod && wasRunning)
      for (const c of podSpec(pod).containers)
        this.event(pod, 'Normal', 'Killing', `Stopping container ${c.name}`, `spec.containers{${c.name}}`);
    this.releaseSandbox(rt);
    const end = this.ctx.activity.begin();
    rt.timerEnd = end;
    rt.timer = setTimeout(() => {
      rt.timer = undefined;
      rt.timerEnd = undefined;
      this.guard(() => {
        try {
          this.ctx.store.delete('Pod', rt.namespace, rt.name, {
            gracePeriodSeconds: 0,
            preconditions: { uid: rt.uid },
          });
        } catch (err) {
          if (!isStaleWrite(err)) throw err;
        }
      });
      end();
    }, this.opts.deleteDelayMs);
  }

  private releaseSandbox(rt: PodRuntime): void {
    if (!rt.sandboxId) return;
    const id = rt.sandboxId;
    rt.sandboxId = undefined;
    this.host.cniDel(id);
  }

  private schedule(rt: PodRuntime, delayMs: number, tracked: boolean): void {
    this.clearTimer(rt);
    const end = tracked ? this.ctx.activity.begin() : undefined;
    rt.timerEnd = end;
    rt.timer = setTimeout(() => {
      rt.timer = undefined;
      rt.timerEnd = undefined;
      this.guard(() => this.sync(rt));
      end?.();
    }, delayMs);
    if (!tracked) rt.timer.unref();
  }

  private clearTimer(rt: PodRuntime): void {
    if (rt.timer) clearTimeout(rt.timer);
    rt.timer = undefined;
    rt.timerEnd?.();
    rt.timerEnd = undefined;
  }

  private retryLater(rt: PodRuntime, delayMs = this.opts.retryIntervalMs): void {
    this.schedule(rt, delayMs, false);
  }

  private guard(fn: () => void): void {
    if (this.stopped) return;
    try {
      fn();
    } catch (err) {
      if (!isStaleWrite(err)) this.ctx.onError(err);
    }
  }

  private currentPod(rt: PodRuntime): KubeObject | undefined {
    const pod = this.ctx.store.get('Pod', rt.namespace, rt.name);
    return pod?.metadata.uid === rt.uid ? pod : undefined;
  }

  // ---- sync --------------------------------------------------------------------------------------

  private sync(rt: PodRuntime): void {
    const pod = this.currentPod(rt);
    if (!pod || isTerminating(pod) || this.stopped) return;
    if (rt.phase !== 'pending' && rt.phase !== 'crashloop') return;
    const spec = podSpec(pod);

    const volumes = checkConfigMapVolumes(this.ctx.store, pod);
    if (!volumes.ok) {
      this.event(pod, 'Warning', 'FailedMount', volumes.message);
      this.writeStatus(rt, this.pendingStatus(pod));
      return this.retryLater(rt);
    }

    if (spec.hostNetwork && !rt.hostSandbox) rt.hostSandbox = this.newHostSandbox(rt);
    if (!spec.hostNetwork && !rt.sandboxId) {
      const network = this.host.networkReady();
      const node = { name: this.nodeName, runtime: this.host.runtime };
      const attempt = rt.attempts++;
      const sandbox = {
        sandboxId: podSandboxId(rt.namespace, rt.name, attempt),
        podName: rt.name,
        namespace: rt.namespace,
        podUid: rt.uid,
        attempt,
      };
      if (!network.ready) {
        // The scenario's wording for a broken pod network wins over the runtime holding pods back.
        if (sandboxOverrideFor(this.scenario, this.nodeName)) {
          const message = brokenSandboxMessage(this.scenario, node, sandbox, network.message);
          this.event(pod, 'Warning', 'FailedCreatePodSandBox', message);
        }
        this.event(pod, 'Warning', 'NetworkNotReady', `network is not ready: ${network.message}`);
        this.writeStatus(rt, this.pendingStatus(pod));
        return this.retryLater(rt);
      }
      const result = this.host.cniAdd(sandbox);
      if (!result.ok) {
        const message = brokenSandboxMessage(this.scenario, node, sandbox, result.pluginError, {
          pluginType: result.pluginType,
          network: result.network,
        });
        this.event(pod, 'Warning', 'FailedCreatePodSandBox', message);
        this.writeStatus(rt, this.pendingStatus(pod));
        return this.retryLater(rt);
      }
      rt.sandboxId = sandbox.sandboxId;
      rt.podIP = result.ip;
      rt.podIPs = result.ips;
    }

    const pull = firstPullFailure(spec, this.host.unreachableRegistries);
    if (pull) return this.pullFailed(rt, pod, pull);
    rt.pullFailures = 0;

    if (isProbePod(pod)) this.startProbe(rt, pod);
    else if (isActionPod(pod)) this.startAction(rt, pod);
    else if (isFlannelPod(this.ctx.store, pod)) this.startFlannel(rt, pod);
    else this.startRegular(rt, pod);
  }

  /**
   * An image the node cannot pull: the containers before it ran (init containers run one by one), the
   * failing one waits in ErrImagePull and then ImagePullBackOff, the rest wait; retried with back-off.
   */
  private pullFailed(rt: PodRuntime, pod: KubeObject, pull: PullFailure): void {
    const spec = podSpec(pod);
    const now = isoSeconds();
    const inits = spec.initContainers ?? [];
    const failingInit =
      pull.list === 'initContainers' ? inits.findIndex((c) => c.name === pull.container) : -1;
    const ranInits = failingInit >= 0 ? inits.slice(0, failingInit) : inits;
    if (!rt.initDone && ranInits.length === inits.length && isFlannelPod(this.ctx.store, pod)) {
      // Every init container ran (only a regular container's image is missing): their copies happened.
      for (const c of inits) this.runContainerEvents(pod, c, 'initContainers');
      runInitContainers(this.ctx.store, this.host, pod);
      rt.initDone = true;
      this.updateNodeStatus();
    }
    rt.pullFailures++;
    const fieldPath = `spec.${pull.list}{${pull.container}}`;
    const first = rt.pullFailures === 1;
    if (first) {
      this.event(pod, 'Normal', 'Pulling', `Pulling image "${pull.image}"`, fieldPath);
      this.event(pod, 'Warning', 'Failed', `Failed to pull image "${pull.image}": ${pull.error}`, fieldPath);
      this.event(pod, 'Warning', 'Failed', 'Error: ErrImagePull', fieldPath);
    } else {
      this.event(pod, 'Normal', 'BackOff', `Back-off pulling image "${pull.image}"`, fieldPath);
      this.event(pod, 'Warning', 'Failed', 'Error: ImagePullBackOff', fieldPath);
    }
    const waiting = first
      ? { reason: 'ErrImagePull', message: pull.error }
      : { reason: 'ImagePullBackOff', message: `Back-off pulling image "${pull.image}"` };
    const wait = (c: Container, fallback: string): ContainerView => ({
      name: c.name,
      state: { waiting: c.name === pull.container ? waiting : { reason: fallback } },
    });
    this.writeStatus(rt, {
      phase: 'Pending',
      ...this.ips(pod, rt),
      sandboxReady: true,
      initContainers: inits.map((c, i) =>
        failingInit < 0 || i < failingInit ? this.completedInit(rt, c, now) : wait(c, 'PodInitializing'),
      ),
      containers: spec.containers.map((c) =>
        wait(c, inits.length > 0 && failingInit >= 0 ? 'PodInitializing' : 'ContainerCreating'),
      ),
    });
    this.retryLater(rt, this.opts.retryIntervalMs * Math.min(2 ** (rt.pullFailures - 1), 4));
  }

  private startRegular(rt: PodRuntime, pod: KubeObject): void {
    const spec = podSpec(pod);
    const now = isoSeconds();
    const inits = (spec.initContainers ?? []).map((c) => {
      this.runContainerEvents(pod, c, 'initContainers');
      return this.completedInit(rt, c, now);
    });
    const containers = spec.containers.map((c): ContainerView => {
      this.runContainerEvents(pod, c, 'containers');
      this.ctx.store.podLogs.set(rt.namespace, rt.name, c.name, '');
      return {
        name: c.name,
        state: { running: { startedAt: now } },
        ready: true,
        containerID: this.containerId(rt, c.name),
      };
    });
    rt.phase = 'running';
    this.writeStatus(rt, {
      phase: 'Running',
      ...this.ips(pod, rt),
      sandboxReady: true,
      initContainers: inits,
      containers,
    });
    // A Job's pod does its work and exits 0; the sandbox is torn down (its IP released) as after any exit.
    if (controllerOf(pod)?.kind === 'Job') {
      const end = this.ctx.activity.begin();
      rt.timerEnd = end;
      rt.timer = setTimeout(() => {
        rt.timer = undefined;
        rt.timerEnd = undefined;
        this.guard(() => this.completeJobPod(rt, inits));
        end();
      }, this.opts.startDelayMs);
    }
  }

  private completeJobPod(rt: PodRuntime, inits: ContainerView[]): void {
    const pod = this.currentPod(rt);
    if (!pod || isTerminating(pod) || rt.phase !== 'running') return;
    const at = isoSeconds();
    rt.phase = 'completed';
    const ips = this.ips(pod, rt);
    this.releaseSandbox(rt);
    this.writeStatus(rt, {
      phase: 'Succeeded',
      ...ips,
      sandboxReady: false,
      initContainers: inits,
      containers: podSpec(pod).containers.map((c) => ({
        name: c.name,
        state: {
          terminated: {
            exitCode: 0,
            reason: 'Completed',
            startedAt: at,
            finishedAt: at,
            containerID: `containerd://${this.containerId(rt, c.name)}`,
          },
        },
        ready: false,
        containerID: this.containerId(rt, c.name),
      })),
    });
  }

  private startFlannel(rt: PodRuntime, pod: KubeObject): void {
    const spec = podSpec(pod);
    const now = isoSeconds();
    if (!rt.initDone) {
      for (const c of spec.initContainers ?? []) this.runContainerEvents(pod, c, 'initContainers');
      runInitContainers(this.ctx.store, this.host, pod);
      rt.initDone = true;
      // The CNI config is on the host now: the runtime's network may be ready.
      this.updateNodeStatus();
    }
    const inits = (spec.initContainers ?? []).map((c) => this.completedInit(rt, c, now));
    const flanneld = flanneldContainer(pod);
    this.runContainerEvents(pod, flanneld, 'containers');
    const outcome = startFlanneld(this.ctx.store, pod, this.nodeName, this.host);
    const others = spec.containers
      .filter((c) => c.name !== flanneld.name)
      .map((c): ContainerView => ({
        name: c.name,
        state: { running: { startedAt: now } },
        ready: true,
        containerID: this.containerId(rt, c.name),
      }));

    if (outcome.kind === 'up') {
      applyFlannelUp(this.ctx.store, this.host, pod, outcome.lease);
      this.ctx.store.podLogs.set(rt.namespace, rt.name, flanneld.name, outcome.log);
      rt.phase = 'running';
      const view: ContainerView = {
        name: flanneld.name,
        state: { running: { startedAt: now } },
        ready: true,
        restartCount: rt.crashes,
        containerID: this.containerId(rt, flanneld.name, true),
      };
      this.writeStatus(rt, {
        phase: 'Running',
        ...this.ips(pod, rt),
        sandboxReady: true,
        initContainers: inits,
        containers: [view, ...others],
      });
      this.updateNodeStatus();
      this.retryStuckPods();
      return;
    }

    // flanneld exited 1: the container crash-loops with a growing back-off, its log shows why.
    rt.crashes++;
    rt.phase = 'crashloop';
    const logs = this.ctx.store.podLogs;
    logs.set(rt.namespace, rt.name, flanneld.name, outcome.log);
    logs.set(rt.namespace, rt.name, flanneld.name, outcome.log, { previous: true });
    const backoffMs = this.opts.retryIntervalMs * Math.min(2 ** (rt.crashes - 1), 4);
    const backoffS = Math.min(10 * 2 ** (rt.crashes - 1), 300);
    const ref = `${rt.name}_${rt.namespace}(${rt.uid})`;
    const view: ContainerView = {
      name: flanneld.name,
      state: {
        waiting: {
          reason: 'CrashLoopBackOff',
          message: `back-off ${formatBackoff(backoffS)} restarting failed container=${flanneld.name} pod=${ref}`,
        },
      },
      lastState: {
        terminated: {
          exitCode: 1,
          reason: 'Error',
          startedAt: now,
          finishedAt: now,
          containerID: `containerd://${this.containerId(rt, flanneld.name, true)}`,
        },
      },
      ready: false,
      restartCount: rt.crashes,
      containerID: this.containerId(rt, flanneld.name),
    };
    this.event(
      pod,
      'Warning',
      'BackOff',
      `Back-off restarting failed container ${flanneld.name} in pod ${ref}`,
      `spec.containers{${flanneld.name}}`,
    );
    this.writeStatus(rt, {
      phase: 'Running',
      ...this.ips(pod, rt),
      sandboxReady: true,
      initContainers: inits,
      containers: [view, ...others],
    });
    this.retryLater(rt, backoffMs);
  }

  private newHostSandbox(rt: PodRuntime): { id: string; createdAt: string } {
    return { id: podSandboxId(rt.namespace, rt.name, 0), createdAt: new Date().toISOString() };
  }

  private startProbe(rt: PodRuntime, pod: KubeObject): void {
    rt.containerRoot = this.containerRootFor('probes', rt);
    // A probe that mounts the runtime's socket can list sandboxes with crictl (read-only, as in reality).
    const criSocket = (podSpec(pod).volumes ?? []).some((v) =>
      /^\/(?:var\/)?run\/(?:containerd|crio|k3s\/containerd)(?:\/|$)/.test(v.hostPath?.path ?? ''),
    );
    const access = criSocket ? this.opts.nodeAgent?.readOnlyAccessFor(this.nodeName) : undefined;
    this.startProcess(rt, pod, (container, root) => {
      const setup = prepareProbe(this.ctx.store, pod, container, this.host, root);
      if (access) {
        Object.assign(setup.env, {
          PATH: `${setup.env.PATH}:${HOST_BIN_DIR}`,
          FLANNEL_OPS_SIM_NODE_JS: process.execPath,
          FLANNEL_OPS_SIM_AGENT_CLIENT: AGENT_CLIENT,
          FLANNEL_OPS_SIM_AGENT_URL: access.url,
          FLANNEL_OPS_SIM_AGENT_TOKEN: access.token,
        });
      }
      return setup;
    });
  }

  /** An action pod: its output is unmapped line by line, so host paths print as on a real node. */
  private startAction(rt: PodRuntime, pod: KubeObject): void {
    rt.containerRoot = this.containerRootFor('actions', rt);
    // One per stream, so a partial stdout line never swallows a stderr one.
    let unmappers: Record<'stdout' | 'stderr', LineUnmapper> | undefined;
    this.startProcess(
      rt,
      pod,
      (container, root) => {
        const access = this.opts.nodeAgent?.accessFor(this.nodeName);
        const setup = prepareAction(this.ctx.store, pod, container, this.host, root, access);
        unmappers = { stdout: new LineUnmapper(setup.roots), stderr: new LineUnmapper(setup.roots) };
        return setup;
      },
      {
        map: (text, stream) => unmappers?.[stream].push(text) ?? text,
        flush: () => (unmappers ? unmappers.stdout.flush() + unmappers.stderr.flush() : ''),
      },
    );
  }

  private containerRootFor(kind: 'probes' | 'actions', rt: PodRuntime): string {
    return path.join(this.opts.workDir, kind, `${rt.namespace}_${rt.name}_${rt.uid.slice(0, 8)}`);
  }

  /**
   * Runs the pod's first container as a process on this machine: Running while it runs, then Succeeded or
   * Failed with the exit code (DeadlineExceeded when activeDeadlineSeconds passes first).
   */
  private startProcess(
    rt: PodRuntime,
    pod: KubeObject,
    prepare: (container: Container, containerRoot: string) => ProbeSetup,
    output?: { map(text: string, stream: 'stdout' | 'stderr'): string; flush(): string },
  ): void {
    const spec = podSpec(pod);
    const container = spec.containers[0];
    const startedMs = Date.now();
    const startedAt = isoSeconds(startedMs);
    rt.phase = 'running';
    this.runContainerEvents(pod, container, 'containers');
    const containerID = this.containerId(rt, container.name);
    const logs = this.ctx.store.podLogs;
    logs.set(rt.namespace, rt.name, container.name, '');
    const write = (text: string) => {
      if (text) logs.append(rt.namespace, rt.name, container.name, text);
    };
    let setup: ProbeSetup | undefined;
    try {
      setup = prepare(container, rt.containerRoot as string);
    } catch (err) {
      // The container cannot be set up here: it fails like a container whose command cannot start.
      write(`error: ${(err as Error).message}\n`);
    }
    const podStart = Date.parse(String((pod.status as { startTime?: string })?.startTime ?? '')) || startedMs;
    const deadlineMs =
      spec.activeDeadlineSeconds !== undefined
        ? Math.max(0, podStart + spec.activeDeadlineSeconds * 1000 - startedMs)
        : undefined;
    this.writeStatus(rt, {
      phase: 'Running',
      ...this.ips(pod, rt),
      sandboxReady: true,
      containers: [{ name: container.name, state: { running: { startedAt } }, ready: true, containerID }],
    });
    const run: ProbeRun = setup
      ? runProbe(setup, deadlineMs, (text, stream) => write(output ? output.map(text, stream) : text))
      : {
          exited: Promise.resolve({
            exitCode: 128,
            deadlineExceeded: false,
            startedAt: startedMs,
            finishedAt: Date.now(),
          }),
          kill() {},
        };
    rt.probe = run;
    void this.ctx.activity.track(
      async () => {
        const exit = await run.exited;
        if (output) write(output.flush());
        rt.probe = undefined;
        if (rt.phase !== 'running' || this.stopped) return;
        rt.phase = 'completed';
        const current = this.currentPod(rt);
        if (!current || isTerminating(current)) return;
        const succeeded = exit.exitCode === 0 && !exit.deadlineExceeded;
        const terminated = {
          exitCode: exit.exitCode,
          reason: exit.deadlineExceeded ? 'Error' : succeeded ? 'Completed' : 'Error',
          startedAt: isoSeconds(exit.startedAt),
          finishedAt: isoSeconds(exit.finishedAt),
          containerID: `containerd://${containerID}`,
        };
        if (exit.deadlineExceeded)
          this.event(
            current,
            'Normal',
            'DeadlineExceeded',
            'Pod was active on the node longer than the specified deadline',
          );
        this.writeStatus(rt, {
          phase: succeeded ? 'Succeeded' : 'Failed',
          ...this.ips(current, rt),
          sandboxReady: false,
          containers: [{ name: container.name, state: { terminated }, ready: false, containerID }],
          ...(exit.deadlineExceeded
            ? {
                reason: 'DeadlineExceeded',
                message: 'Pod was active on the node longer than the specified deadline',
              }
            : {}),
        });
      },
      (err) => this.ctx.onError(err),
    );
  }

  // ---- status and events -------------------------------------------------------------------------

  private pendingStatus(pod: KubeObject): PodStatusInput {
    const spec = podSpec(pod);
    return {
      phase: 'Pending',
      hostIP: this.hostIP(),
      sandboxReady: false,
      initContainers: (spec.initContainers ?? []).map((c) => ({
        name: c.name,
        state: { waiting: { reason: 'PodInitializing' } },
      })),
      containers: spec.containers.map((c) => ({
        name: c.name,
        state: {
          waiting: {
            reason: (spec.initContainers ?? []).length > 0 ? 'PodInitializing' : 'ContainerCreating',
          },
        },
      })),
    };
  }

  private completedInit(rt: PodRuntime, c: Container, at: string): ContainerView {
    const containerID = this.containerId(rt, c.name);
    return {
      name: c.name,
      state: {
        terminated: {
          exitCode: 0,
          reason: 'Completed',
          startedAt: at,
          finishedAt: at,
          containerID: `containerd://${containerID}`,
        },
      },
      ready: true,
      containerID,
    };
  }

  private ips(pod: KubeObject, rt: PodRuntime): { hostIP: string; podIP?: string; podIPs?: string[] } {
    const hostIP = this.hostIP();
    if (podSpec(pod).hostNetwork) return { hostIP, podIP: hostIP };
    return { hostIP, podIP: rt.podIP, ...(rt.podIPs && rt.podIPs.length > 1 ? { podIPs: rt.podIPs } : {}) };
  }

  private hostIP(): string {
    const node = this.ctx.store.get('Node', undefined, this.nodeName);
    return node ? nodeInternalIP(node) : '';
  }

  /** Stable per container; `fresh` gives the container a new id (a restart). */
  private containerId(rt: PodRuntime, name: string, fresh = false): string {
    if (fresh || !rt.containerIds.has(name)) rt.containerIds.set(name, hex64());
    return rt.containerIds.get(name) as string;
  }

  private runContainerEvents(pod: KubeObject, c: Container, list: 'containers' | 'initContainers'): void {
    const fieldPath = `spec.${list}{${c.name}}`;
    this.event(
      pod,
      'Normal',
      'Pulled',
      `Container image "${c.image ?? ''}" already present on machine`,
      fieldPath,
    );
    this.event(pod, 'Normal', 'Created', `Created container: ${c.name}`, fieldPath);
    this.event(pod, 'Normal', 'Started', `Started container ${c.name}`, fieldPath);
  }

  private writeStatus(rt: PodRuntime, input: PodStatusInput): void {
    try {
      this.ctx.store.mutate('Pod', rt.namespace, rt.name, (p) => {
        if (p.metadata.uid !== rt.uid || p.metadata.deletionTimestamp) return;
        p.status = buildPodStatus(p, input);
      });
    } catch (err) {
      if (!isStaleWrite(err)) throw err;
    }
  }

  private event(pod: KubeObject, type: EventType, reason: string, message: string, fieldPath?: string): void {
    this.ctx.recorder.record(referenceTo(pod, fieldPath), type, reason, message, {
      component: SOURCE_COMPONENT,
      host: this.nodeName,
    });
  }

  /** Node Ready follows the runtime's network status (NetworkPluginNotReady text while not ready). */
  private updateNodeStatus(): void {
    const node = this.ctx.store.get('Node', undefined, this.nodeName);
    if (!node) return;
    const network = this.host.networkReady();
    const now = isoSeconds();
    const wanted = network.ready
      ? { status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }
      : { status: 'False', reason: 'KubeletNotReady', message: network.message };
    let transitioned = false;
    this.ctx.store.mutate('Node', undefined, this.nodeName, (n) => {
      const status = (n.status ?? {}) as { conditions?: Array<Record<string, unknown>> };
      const conditions = status.conditions ?? [];
      const old = conditions.find((c) => c.type === 'Ready');
      if (
        old &&
        old.status === wanted.status &&
        old.reason === wanted.reason &&
        old.message === wanted.message
      )
        return;
      transitioned = old?.status !== wanted.status;
      const next = {
        type: 'Ready',
        ...wanted,
        lastHeartbeatTime: now,
        lastTransitionTime: old && old.status === wanted.status ? old.lastTransitionTime : now,
      };
      status.conditions = old ? conditions.map((c) => (c === old ? next : c)) : [...conditions, next];
      n.status = status;
    });
    if (transitioned) {
      const ref = { kind: 'Node', name: this.nodeName, uid: this.nodeName, apiVersion: 'v1' };
      const state = network.ready ? 'NodeReady' : 'NodeNotReady';
      this.ctx.recorder.record(ref, 'Normal', state, `Node ${this.nodeName} status is now: ${state}`, {
        component: SOURCE_COMPONENT,
        host: this.nodeName,
      });
    }
  }
}

/** Go's time.Duration formatting for the back-off seconds: 10s, 1m20s, 5m0s. */
function formatBackoff(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  return `${Math.floor(seconds / 60)}m${seconds % 60}s`;
}
