import type { KubeObject } from '../store.js';
import { isoSeconds } from './names.js';
import { type Container, podSpec, podStatus, qosClass } from './objects.js';

/** Builds the pod `status` the kubelet reports, from the state of each container (pure). */

export type ContainerState =
  | { waiting: { reason: string; message?: string } }
  | { running: { startedAt: string } }
  | {
      terminated: {
        exitCode: number;
        reason: string;
        startedAt?: string;
        finishedAt: string;
        message?: string;
        containerID?: string;
      };
    };

export interface ContainerView {
  name: string;
  state: ContainerState;
  lastState?: ContainerState;
  ready?: boolean;
  restartCount?: number;
  containerID?: string;
}

export interface PodStatusInput {
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  hostIP: string;
  podIP?: string;
  /** Dual-stack: every pod IP (podIP first). */
  podIPs?: string[];
  /** Whether the sandbox (network) exists: PodReadyToStartContainers. */
  sandboxReady: boolean;
  initContainers?: ContainerView[];
  containers: ContainerView[];
  reason?: string;
  message?: string;
  now?: number;
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastProbeTime: null;
  lastTransitionTime: string;
}

function imageOf(containers: Container[] | undefined, name: string): string {
  return containers?.find((c) => c.name === name)?.image ?? '';
}

function imageID(image: string): string {
  if (!image) return '';
  const base = image.replace(/:[^/:]+$/, '');
  let h = 0;
  for (const ch of image) h = (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0;
  return `${base}@sha256:${h.toString(16).padStart(8, '0').repeat(8)}`;
}

function renderContainer(view: ContainerView, containers: Container[] | undefined): Record<string, unknown> {
  const image = imageOf(containers, view.name);
  const running = 'running' in view.state;
  return {
    name: view.name,
    image,
    imageID: 'waiting' in view.state && !view.containerID ? '' : imageID(image),
    ...(view.containerID ? { containerID: `containerd://${view.containerID}` } : {}),
    state: view.state,
    lastState: view.lastState ?? {},
    ready: Boolean(view.ready),
    restartCount: view.restartCount ?? 0,
    started: running,
  };
}

export function buildPodStatus(pod: KubeObject, input: PodStatusInput): Record<string, unknown> {
  const spec = podSpec(pod);
  const old = podStatus(pod);
  const now = isoSeconds(input.now);
  const oldConditions = (old.conditions ?? []) as Condition[];
  const cond = (type: string, ok: boolean, reason?: string, message?: string): Condition => {
    const previous = oldConditions.find((c) => c.type === type);
    const status = ok ? 'True' : 'False';
    return {
      type,
      status,
      ...(reason ? { reason } : {}),
      ...(message ? { message } : {}),
      lastProbeTime: null,
      lastTransitionTime: previous && previous.status === status ? previous.lastTransitionTime : now,
    };
  };
  const inits = input.initContainers ?? [];
  const initialized = inits.every((c) => 'terminated' in c.state && c.state.terminated.exitCode === 0);
  const notReady = input.containers.filter((c) => !c.ready).map((c) => c.name);
  const completed = input.phase === 'Succeeded' || input.phase === 'Failed';
  const containersReady = notReady.length === 0 && !completed;
  const readyReason = completed ? 'PodCompleted' : containersReady ? undefined : 'ContainersNotReady';
  const readyMessage =
    !completed && notReady.length > 0 ? `containers with unready status: [${notReady.join(' ')}]` : undefined;
  const pendingInit = inits
    .filter((c) => !('terminated' in c.state && c.state.terminated.exitCode === 0))
    .map((c) => c.name);

  const conditions: Condition[] = [
    cond('PodReadyToStartContainers', input.sandboxReady && !completed),
    cond(
      'Initialized',
      initialized,
      initialized ? undefined : 'ContainersNotInitialized',
      initialized ? undefined : `containers with incomplete status: [${pendingInit.join(' ')}]`,
    ),
    cond('Ready', containersReady, readyReason, readyMessage),
    cond('ContainersReady', containersReady, readyReason, readyMessage),
    cond('PodScheduled', true),
  ];
  // PodScheduled keeps the scheduler's transition time.
  const scheduled = oldConditions.find((c) => c.type === 'PodScheduled');
  if (scheduled) conditions[4] = scheduled;

  const status: Record<string, unknown> = {
    phase: input.phase,
    conditions,
    hostIP: input.hostIP,
    hostIPs: [{ ip: input.hostIP }],
    ...(input.podIP
      ? { podIP: input.podIP, podIPs: (input.podIPs ?? [input.podIP]).map((ip) => ({ ip })) }
      : {}),
    startTime: (old.startTime as string | undefined) ?? now,
    ...(inits.length > 0
      ? { initContainerStatuses: inits.map((c) => renderContainer(c, spec.initContainers)) }
      : {}),
    containerStatuses: input.containers.map((c) => renderContainer(c, spec.containers)),
    qosClass: (old.qosClass as string | undefined) ?? qosClass(spec),
    ...(input.reason ? { reason: input.reason } : {}),
    ...(input.message ? { message: input.message } : {}),
  };
  return status;
}
