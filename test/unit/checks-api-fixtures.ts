/** Plain-data builders for API check facts (summaries as gather produces them). */
import type {
  ContainerSummary,
  DaemonSetSummary,
  NodeSummary,
  PodSummary,
} from '../../src/checks/api/summaries.js';

export function flannelDs(over: Partial<DaemonSetSummary> = {}): DaemonSetSummary {
  return {
    namespace: 'kube-flannel',
    name: 'kube-flannel-ds',
    labels: { app: 'flannel', tier: 'node', 'k8s-app': 'flannel' },
    desired: 3,
    current: 3,
    ready: 3,
    available: 3,
    updated: 3,
    misscheduled: 0,
    images: [
      'ghcr.io/flannel-io/flannel:v0.28.9',
      'ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel3',
      'ghcr.io/flannel-io/flannel:v0.28.9',
    ],
    containerNames: ['kube-flannel'],
    serviceAccount: 'flannel',
    configMapName: 'kube-flannel-cfg',
    tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }],
    nodeSelector: {},
    nodeAffinity: [],
    hostNetwork: true,
    ...over,
  };
}

export function container(over: Partial<ContainerSummary> = {}): ContainerSummary {
  return { name: 'kube-flannel', ready: true, restartCount: 0, state: 'running', ...over };
}

export function pod(over: Partial<PodSummary> = {}): PodSummary {
  return {
    namespace: 'kube-flannel',
    name: 'kube-flannel-ds-abcde',
    node: 'worker-1',
    phase: 'Running',
    ready: true,
    hostNetwork: true,
    labels: { app: 'flannel' },
    owner: { kind: 'DaemonSet', name: 'kube-flannel-ds' },
    containers: [container()],
    initContainers: [
      container({
        name: 'install-cni-plugin',
        state: 'terminated',
        reason: 'Completed',
        exitCode: 0,
        ready: false,
      }),
      container({ name: 'install-cni', state: 'terminated', reason: 'Completed', exitCode: 0, ready: false }),
    ],
    ...over,
  };
}

export function flannelPodOn(node: string, over: Partial<PodSummary> = {}): PodSummary {
  return pod({ name: `kube-flannel-ds-${node}`, node, ...over });
}

export function crashLoopingPodOn(node: string): PodSummary {
  return flannelPodOn(node, {
    ready: false,
    containers: [
      container({
        ready: false,
        restartCount: 4,
        state: 'waiting',
        reason: 'CrashLoopBackOff',
        lastTerminated: { reason: 'Error', exitCode: 1 },
      }),
    ],
  });
}

export function node(name: string, over: Partial<NodeSummary> = {}): NodeSummary {
  return {
    name,
    podCIDR: undefined,
    podCIDRs: [],
    labels: { 'kubernetes.io/os': 'linux', 'kubernetes.io/hostname': name },
    annotations: {},
    conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }],
    taints: [],
    unschedulable: false,
    kubeletVersion: 'v1.33.4',
    ...over,
  };
}

export const NODES = ['cp-1', 'worker-1', 'worker-2'];

export const NO_LEFTOVERS = {
  namespaces: [],
  configMaps: [],
  serviceAccounts: [],
  clusterRoles: [],
  clusterRoleBindings: [],
};

export const CNI_NOT_READY =
  'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized';
