/**
 * Which nodes a diagnosis probes when the request names none: the incident's nodes first, then nodes
 * the API shows in trouble (pods stuck in ContainerCreating, NotReady with a CNI message,
 * NetworkUnavailable, no ready Flannel pod). Probing costs a pod per node, so the list is capped and the
 * rest are reported as not probed. Gathering is I/O; choosing is pure (pickAffectedNodes).
 */
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { KubeClients } from '../checks/types.js';

export const DEFAULT_MAX_PROBED_NODES = 20;

/** Per node, what the API says about it. */
export interface NodeHealthFacts {
  name: string;
  /** Pods on the node waiting in ContainerCreating. */
  stuckPods: number;
  /** Ready=False/Unknown with a message about the CNI / network plugin. */
  cniNotReady: boolean;
  networkUnavailable: boolean;
  /** A Flannel pod exists on the node and is ready; undefined when Flannel runs no pods (none deployed or embedded). */
  flannelReady?: boolean;
}

export interface AffectedNodeFacts {
  nodes: NodeHealthFacts[];
  /** A DaemonSet labelled app=flannel exists somewhere. */
  flannelDeployed: boolean;
}

export interface AffectedNodes {
  /** Probed, most affected first. */
  nodes: string[];
  /** Affected but beyond the cap. */
  notProbed: string[];
  /** Per node, why it was picked (for the report). */
  reasons: Record<string, string[]>;
}

const CNI_NOT_READY = /cni|network plugin|NetworkPluginNotReady|network is not ready/i;

export async function gatherAffectedNodeFacts(kube: KubeClients): Promise<AffectedNodeFacts> {
  const [nodeList, pending, flannelPods, flannelSets] = await Promise.all([
    kube.core.listNode(),
    kube.core.listPodForAllNamespaces({ fieldSelector: 'status.phase=Pending' }),
    kube.core.listPodForAllNamespaces({ labelSelector: 'app=flannel' }),
    kube.apps.listDaemonSetForAllNamespaces({ labelSelector: 'app=flannel' }),
  ]);
  const stuck = new Map<string, number>();
  for (const pod of pending.items) {
    const node = pod.spec?.nodeName;
    if (node && isContainerCreating(pod)) stuck.set(node, (stuck.get(node) ?? 0) + 1);
  }
  const flannelByNode = new Map<string, boolean>();
  for (const pod of flannelPods.items) {
    const node = pod.spec?.nodeName;
    if (!node) continue;
    flannelByNode.set(node, (flannelByNode.get(node) ?? false) || isReady(pod));
  }
  const flannelRuns = flannelPods.items.length > 0;
  return {
    flannelDeployed: flannelSets.items.length > 0,
    nodes: nodeList.items.map((node) => {
      const name = node.metadata?.name ?? '';
      return {
        name,
        stuckPods: stuck.get(name) ?? 0,
        cniNotReady: cniNotReady(node),
        networkUnavailable: condition(node, 'NetworkUnavailable')?.status === 'True',
        ...(flannelRuns ? { flannelReady: flannelByNode.get(name) ?? false } : {}),
      };
    }),
  };
}

/**
 * Pure. `incidentNodes` (from the incident's events) come first when they still exist, then the nodes
 * with the strongest API signals. A node nothing points at is not probed.
 */
export function pickAffectedNodes(
  facts: AffectedNodeFacts,
  opts: { incidentNodes?: readonly string[]; max?: number } = {},
): AffectedNodes {
  const max = Math.max(0, opts.max ?? DEFAULT_MAX_PROBED_NODES);
  const fromIncident = new Set(opts.incidentNodes ?? []);
  const reasons: Record<string, string[]> = {};
  const scored: Array<{ name: string; score: number }> = [];
  for (const node of facts.nodes) {
    const why: string[] = [];
    let score = 0;
    if (fromIncident.has(node.name)) {
      why.push('named in the incident');
      score += 1000;
    }
    if (node.stuckPods > 0) {
      why.push(`${node.stuckPods} pod(s) stuck in ContainerCreating`);
      score += 100 + Math.min(node.stuckPods, 99);
    }
    if (node.cniNotReady) {
      why.push('NotReady: CNI not initialised');
      score += 50;
    }
    if (node.networkUnavailable) {
      why.push('NetworkUnavailable');
      score += 20;
    }
    if (node.flannelReady === false && facts.flannelDeployed) {
      why.push('no ready Flannel pod');
      score += 10;
    }
    if (why.length === 0) continue;
    reasons[node.name] = why;
    scored.push({ name: node.name, score });
  }
  scored.sort((a, b) => b.score - a.score || a.name.localeCompare(b.name));
  const ordered = scored.map((s) => s.name);
  return { nodes: ordered.slice(0, max), notProbed: ordered.slice(max), reasons };
}

function isContainerCreating(pod: V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  if (statuses.length === 0) {
    // Before the kubelet reports containers, a scheduled pod without a sandbox is still "creating".
    return pod.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'True') ?? false;
  }
  return statuses.some(
    (s) => s.state?.waiting?.reason === 'ContainerCreating' || s.state?.waiting?.reason === 'PodInitializing',
  );
}

function isReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function condition(node: V1Node, type: string) {
  return node.status?.conditions?.find((c) => c.type === type);
}

function cniNotReady(node: V1Node): boolean {
  const ready = condition(node, 'Ready');
  if (!ready || ready.status === 'True') return false;
  return CNI_NOT_READY.test(`${ready.reason ?? ''} ${ready.message ?? ''}`);
}
