/**
 * Plain-data summaries of the Kubernetes objects API checks look at. Gathering maps client-node
 * objects to these; evaluate() only sees summaries, so unit tests build them by hand.
 */
import type { NodeSelectorTerm } from './placement.js';
import type { V1Container, V1ContainerStatus, V1DaemonSet, V1Node, V1Pod } from '@kubernetes/client-node';

export interface ContainerSummary {
  name: string;
  image?: string;
  ready: boolean;
  restartCount: number;
  state: 'running' | 'waiting' | 'terminated' | 'unknown';
  /** waiting/terminated reason (CrashLoopBackOff, ContainerCreating, Error, Completed...). */
  reason?: string;
  message?: string;
  exitCode?: number;
  lastTerminated?: { reason?: string; exitCode?: number; message?: string; finishedAt?: string };
  /** When the running container started (RFC 3339). */
  startedAt?: string;
}

export interface PodSummary {
  namespace: string;
  name: string;
  uid?: string;
  node?: string;
  phase?: string;
  ready: boolean;
  hostNetwork: boolean;
  podIP?: string;
  /** RFC 3339 creationTimestamp. */
  createdAt?: string;
  /** RFC 3339 deletionTimestamp when the pod is being deleted. */
  deletionTimestamp?: string;
  deletionGraceSeconds?: number;
  /** Kind/name of the controller owner (ReplicaSet, DaemonSet, StatefulSet, Job...), absent for bare pods. */
  owner?: { kind: string; name: string };
  labels: Record<string, string>;
  serviceAccount?: string;
  containers: ContainerSummary[];
  initContainers: ContainerSummary[];
}

export interface DaemonSetSummary {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  desired: number;
  current: number;
  ready: number;
  available: number;
  updated: number;
  misscheduled: number;
  /** Images of containers, then init containers, in spec order. */
  images: string[];
  containerNames: string[];
  serviceAccount?: string;
  /** ConfigMap mounted by the volume named flannel-cfg (else the first configMap volume). */
  configMapName?: string;
  /** Tolerations reduced to what placement needs. */
  tolerations: Array<{ key?: string; operator?: string; value?: string; effect?: string }>;
  nodeSelector: Record<string, string>;
  /** Required node affinity terms of the pod template (ORed); empty when none. */
  nodeAffinity: NodeSelectorTerm[];
  hostNetwork: boolean;
}

export interface NodeCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface NodeSummary {
  name: string;
  podCIDR?: string;
  podCIDRs: string[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  conditions: NodeCondition[];
  taints: Array<{ key: string; value?: string; effect: string }>;
  unschedulable: boolean;
  kubeletVersion?: string;
  allocatablePods?: number;
}

export function summarizeContainer(
  spec: V1Container | undefined,
  status: V1ContainerStatus | undefined,
): ContainerSummary {
  const name = status?.name ?? spec?.name ?? '';
  const state = status?.state;
  const summary: ContainerSummary = {
    name,
    ready: status?.ready ?? false,
    restartCount: status?.restartCount ?? 0,
    state: state?.running
      ? 'running'
      : state?.waiting
        ? 'waiting'
        : state?.terminated
          ? 'terminated'
          : 'unknown',
  };
  const image = spec?.image ?? status?.image;
  if (image) summary.image = image;
  const reason = state?.waiting?.reason ?? state?.terminated?.reason;
  const message = state?.waiting?.message ?? state?.terminated?.message;
  if (reason) summary.reason = reason;
  if (message) summary.message = message;
  if (state?.terminated?.exitCode !== undefined) summary.exitCode = state.terminated.exitCode;
  const startedAt = toIso(state?.running?.startedAt);
  if (startedAt) summary.startedAt = startedAt;
  const last = status?.lastState?.terminated;
  if (last) {
    summary.lastTerminated = {
      ...(last.reason ? { reason: last.reason } : {}),
      ...(last.exitCode !== undefined ? { exitCode: last.exitCode } : {}),
      ...(last.message ? { message: last.message } : {}),
      ...(last.finishedAt ? { finishedAt: toIso(last.finishedAt) } : {}),
    };
  }
  return summary;
}

function toIso(value: unknown): string | undefined {
  if (value instanceof Date) return value.toISOString();
  return typeof value === 'string' ? value : undefined;
}

export function summarizePod(pod: V1Pod): PodSummary {
  const statuses = new Map((pod.status?.containerStatuses ?? []).map((s) => [s.name, s]));
  const initStatuses = new Map((pod.status?.initContainerStatuses ?? []).map((s) => [s.name, s]));
  const owner =
    pod.metadata?.ownerReferences?.find((o) => o.controller) ?? pod.metadata?.ownerReferences?.[0];
  const summary: PodSummary = {
    namespace: pod.metadata?.namespace ?? 'default',
    name: pod.metadata?.name ?? '',
    ready: pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    hostNetwork: pod.spec?.hostNetwork === true,
    labels: { ...(pod.metadata?.labels ?? {}) },
    containers: (pod.spec?.containers ?? []).map((c) => summarizeContainer(c, statuses.get(c.name))),
    initContainers: (pod.spec?.initContainers ?? []).map((c) =>
      summarizeContainer(c, initStatuses.get(c.name)),
    ),
  };
  if (pod.metadata?.uid) summary.uid = pod.metadata.uid;
  if (pod.spec?.nodeName) summary.node = pod.spec.nodeName;
  if (pod.status?.phase) summary.phase = pod.status.phase;
  if (pod.status?.podIP) summary.podIP = pod.status.podIP;
  const created = toIso(pod.metadata?.creationTimestamp);
  if (created) summary.createdAt = created;
  const deletion = toIso(pod.metadata?.deletionTimestamp);
  if (deletion) summary.deletionTimestamp = deletion;
  if (pod.metadata?.deletionGracePeriodSeconds !== undefined)
    summary.deletionGraceSeconds = pod.metadata.deletionGracePeriodSeconds;
  if (owner) summary.owner = { kind: owner.kind, name: owner.name };
  const sa = pod.spec?.serviceAccountName ?? pod.spec?.serviceAccount;
  if (sa) summary.serviceAccount = sa;
  return summary;
}

export function summarizeDaemonSet(ds: V1DaemonSet): DaemonSetSummary {
  const spec = ds.spec?.template?.spec;
  const containers = [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])];
  const volumes = spec?.volumes ?? [];
  const cfgVolume =
    volumes.find((v) => v.name === 'flannel-cfg' && v.configMap) ?? volumes.find((v) => v.configMap);
  const summary: DaemonSetSummary = {
    namespace: ds.metadata?.namespace ?? 'default',
    name: ds.metadata?.name ?? '',
    labels: { ...(ds.metadata?.labels ?? {}) },
    desired: ds.status?.desiredNumberScheduled ?? 0,
    current: ds.status?.currentNumberScheduled ?? 0,
    ready: ds.status?.numberReady ?? 0,
    available: ds.status?.numberAvailable ?? 0,
    updated: ds.status?.updatedNumberScheduled ?? 0,
    misscheduled: ds.status?.numberMisscheduled ?? 0,
    images: containers.map((c) => c.image ?? '').filter((i) => i !== ''),
    containerNames: (spec?.containers ?? []).map((c) => c.name),
    tolerations: (spec?.tolerations ?? []).map((t) => ({
      ...(t.key ? { key: t.key } : {}),
      ...(t.operator ? { operator: t.operator } : {}),
      ...(t.value ? { value: t.value } : {}),
      ...(t.effect ? { effect: t.effect } : {}),
    })),
    nodeSelector: { ...(spec?.nodeSelector ?? {}) },
    nodeAffinity: (
      spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []
    ).map((t) => ({
      ...(t.matchExpressions
        ? {
            matchExpressions: t.matchExpressions.map((e) => ({
              key: e.key,
              operator: e.operator,
              values: e.values ?? [],
            })),
          }
        : {}),
      ...(t.matchFields
        ? {
            matchFields: t.matchFields.map((e) => ({
              key: e.key,
              operator: e.operator,
              values: e.values ?? [],
            })),
          }
        : {}),
    })),
    hostNetwork: spec?.hostNetwork === true,
  };
  const sa = spec?.serviceAccountName ?? spec?.serviceAccount;
  if (sa) summary.serviceAccount = sa;
  if (cfgVolume?.configMap?.name) summary.configMapName = cfgVolume.configMap.name;
  return summary;
}

export function summarizeNode(node: V1Node): NodeSummary {
  const summary: NodeSummary = {
    name: node.metadata?.name ?? '',
    podCIDRs: node.spec?.podCIDRs ?? (node.spec?.podCIDR ? [node.spec.podCIDR] : []),
    labels: { ...(node.metadata?.labels ?? {}) },
    annotations: { ...(node.metadata?.annotations ?? {}) },
    conditions: (node.status?.conditions ?? []).map((c) => ({
      type: c.type,
      status: c.status,
      ...(c.reason ? { reason: c.reason } : {}),
      ...(c.message ? { message: c.message } : {}),
    })),
    taints: (node.spec?.taints ?? []).map((t) => ({
      key: t.key,
      effect: t.effect,
      ...(t.value ? { value: t.value } : {}),
    })),
    unschedulable: node.spec?.unschedulable === true,
  };
  if (node.spec?.podCIDR) summary.podCIDR = node.spec.podCIDR;
  if (node.status?.nodeInfo?.kubeletVersion) summary.kubeletVersion = node.status.nodeInfo.kubeletVersion;
  const pods = node.status?.allocatable?.pods;
  if (pods !== undefined && /^\d+$/.test(pods)) summary.allocatablePods = Number(pods);
  return summary;
}

export function podKey(pod: { namespace: string; name: string }): string {
  return `${pod.namespace}/${pod.name}`;
}

export function byNamespaceName<T extends { namespace: string; name: string }>(a: T, b: T): number {
  return a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name);
}

export function condition(node: NodeSummary, type: string): NodeCondition | undefined {
  return node.conditions.find((c) => c.type === type);
}

/** Sorted unique strings. */
export function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}
