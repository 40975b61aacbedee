/**
 * Which nodes a diagnosis probes when the request names none: the incident's nodes first, then nodes
 * the API shows in trouble (pods stuck in ContainerCreating, NotReady with a CNI message,
 * NetworkUnavailable, no ready Flannel pod, pod IPs outside the node's podCIDR or the Flannel Network or
 * used twice — the only sign of a second CNI config handing out addresses). When nothing points at a node,
 * one node that runs Flannel as a DaemonSet is probed as a sample, so the network report still states the
 * MTU and the node checks run somewhere. Probing costs a pod per node, so the list is capped and the rest
 * are reported as not probed. Gathering is I/O; choosing is pure (pickAffectedNodes).
 */
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { gatherFlannelConfigMap, gatherFlannelDaemonSets } from '../checks/api/flannel-objects.js';
import { findPodIpProblems, flannelNetworks, podNetworkIps } from '../checks/api/pod-ips.js';
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
  /** What is wrong with the pod IPs on the node (outside its podCIDR / the Network, duplicated). */
  podIpProblems?: string[];
  /** Ready=True (a sample node should be one that works). */
  ready?: boolean;
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
  /** No node looked affected: `nodes` is one working node, probed as a sample. */
  sample?: boolean;
}

const CNI_NOT_READY = /cni|network plugin|NetworkPluginNotReady|network is not ready/i;

export async function gatherAffectedNodeFacts(kube: KubeClients): Promise<AffectedNodeFacts> {
  const [nodeList, pods, flannelSets] = await Promise.all([
    kube.core.listNode(),
    kube.core.listPodForAllNamespaces({}),
    gatherFlannelDaemonSets(kube),
  ]);
  const configMap = await gatherFlannelConfigMap(kube, flannelSets[0]);
  const stuck = new Map<string, number>();
  for (const pod of pods.items) {
    const node = pod.spec?.nodeName;
    if (node && pod.status?.phase === 'Pending' && isContainerCreating(pod))
      stuck.set(node, (stuck.get(node) ?? 0) + 1);
  }
  const flannelPods = pods.items.filter((p) => p.metadata?.labels?.app === 'flannel');
  const flannelByNode = new Map<string, boolean>();
  for (const pod of flannelPods) {
    const node = pod.spec?.nodeName;
    if (!node) continue;
    flannelByNode.set(node, (flannelByNode.get(node) ?? false) || isReady(pod));
  }
  const ipProblems = new Map(
    findPodIpProblems({
      nodes: nodeList.items.map((n) => ({
        name: n.metadata?.name ?? '',
        podCIDRs: n.spec?.podCIDRs ?? (n.spec?.podCIDR ? [n.spec.podCIDR] : []),
      })),
      pods: pods.items.map((p) => ({
        namespace: p.metadata?.namespace ?? '',
        name: p.metadata?.name ?? '',
        ...(p.spec?.nodeName ? { node: p.spec.nodeName } : {}),
        ips: podNetworkIps(p),
      })),
      networks: flannelNetworks(configMap?.data['net-conf.json']),
      flannelPresent: true,
    }).map((p) => [p.node, p] as const),
  );
  const flannelRuns = flannelPods.length > 0;
  return {
    flannelDeployed: flannelSets.length > 0,
    nodes: nodeList.items.map((node) => {
      const name = node.metadata?.name ?? '';
      const ip = ipProblems.get(name);
      const reasons = ip
        ? [
            ip.outsideNetwork.length &&
              `${ip.outsideNetwork.length} pod(s) with IPs outside the Flannel Network`,
            ip.outsidePodCidr.length &&
              `${ip.outsidePodCidr.length} pod(s) with IPs outside the node podCIDR`,
            ip.duplicates.length && `${ip.duplicates.length} pod(s) with a duplicate IP`,
          ].filter((r): r is string => !!r)
        : [];
      return {
        name,
        stuckPods: stuck.get(name) ?? 0,
        cniNotReady: cniNotReady(node),
        networkUnavailable: condition(node, 'NetworkUnavailable')?.status === 'True',
        ready: condition(node, 'Ready')?.status === 'True',
        ...(flannelRuns ? { flannelReady: flannelByNode.get(name) ?? false } : {}),
        ...(reasons.length ? { podIpProblems: reasons } : {}),
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
  opts: { incidentNodes?: readonly string[]; max?: number; sample?: boolean } = {},
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
    if (node.podIpProblems?.length) {
      why.push(...node.podIpProblems);
      score += 60;
    }
    if (why.length === 0) continue;
    reasons[node.name] = why;
    scored.push({ name: node.name, score });
  }
  scored.sort((a, b) => b.score - a.score || a.name.localeCompare(b.name));
  const ordered = scored.map((s) => s.name);
  if (ordered.length === 0 && max > 0 && opts.sample !== false) {
    const sample = sampleNode(facts);
    if (sample) {
      reasons[sample] = [
        'sample: no node looks affected; probed for the network report (MTU) and the node checks',
      ];
      return { nodes: [sample], notProbed: [], reasons, sample: true };
    }
  }
  return { nodes: ordered.slice(0, max), notProbed: ordered.slice(max), reasons };
}

/**
 * A node that works (Ready, its Flannel pod ready) from a Flannel DaemonSet install. Embedded Flannel
 * (k3s/RKE2) keeps its CNI files elsewhere than the probe reads, so it gets no sample.
 */
function sampleNode(facts: AffectedNodeFacts): string | undefined {
  if (!facts.flannelDeployed) return undefined;
  const candidates = facts.nodes
    .filter((n) => n.ready !== false && n.flannelReady === true)
    .map((n) => n.name)
    .sort();
  return candidates[0];
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
