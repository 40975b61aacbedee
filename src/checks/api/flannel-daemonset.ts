/**
 * flannel-daemonset: is Flannel deployed (DaemonSets labelled app=flannel in any namespace, legacy
 * kube-system and per-arch installs, or embedded in k3s/RKE2), and is it ready on every node it should run on?
 */
import type { Finding } from '../types.js';
import type { CheckDefinition } from '../types.js';
import { NETWORK_NOT_READY } from '../../detect/patterns.js';
import { clip, evaluation, gatherNodes, listSome, plural, type Evaluation } from './common.js';
import { formatTaint, placeDaemonPod, tolerationFor, type Toleration } from './placement.js';
import {
  daemonSetFitsNode,
  isLinuxNode,
  detectEmbedded,
  embeddedUnlessLeftovers,
  flannelAnnotations,
  flannelImage,
  flannelVersion,
  gatherFlannelDaemonSets,
  gatherFlannelPods,
  gatherLeftovers,
  leftoverList,
  type EmbeddedFlavour,
  type FlannelLeftovers,
} from './flannel-objects.js';
import {
  condition,
  sortedUnique,
  summarizePod,
  type DaemonSetSummary,
  type NodeSummary,
  type PodSummary,
} from './summaries.js';
import { isStillStarting, STARTING_GRACE_MS } from './flannel-pods.js';

export interface FlannelDaemonSetFacts {
  /** Flannel DaemonSets, the preferred one first. */
  daemonSets: DaemonSetSummary[];
  pods: PodSummary[];
  nodes: NodeSummary[];
  leftovers: FlannelLeftovers;
  /** Non-hostNetwork pods waiting in ContainerCreating (a sign pods need a CNI that is not there). */
  stuckPods: number;
  /** Non-hostNetwork pods bound to each node and not finished: the nodes that need pod networking. */
  podNetworkPods?: Record<string, number>;
  /** When the facts were gathered (RFC 3339): how young a pod still starting is. */
  now?: string;
}

/**
 * A node needs Flannel when it runs pods with a pod network, or when ordinary pods may be scheduled there
 * (schedulable, no NoSchedule/NoExecute taint). Windows nodes run no Linux DaemonSet.
 */
export function needsFlannel(node: NodeSummary, podNetworkPods: number): boolean {
  if (!isLinuxNode(node)) return false;
  if (podNetworkPods > 0) return true;
  return (
    !node.unschedulable && !node.taints.some((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute')
  );
}

/** Why the DaemonSet puts no pod on the node, and what to add so it does. */
export function whyNotScheduled(
  ds: DaemonSetSummary,
  node: NodeSummary,
): {
  problems: string[];
  tolerations: Toleration[];
  taints: string[];
  selector: string[];
  affinity: boolean;
} {
  const verdict = placeDaemonPod(
    {
      tolerations: ds.tolerations,
      nodeSelector: ds.nodeSelector,
      nodeAffinity: ds.nodeAffinity,
      hostNetwork: ds.hostNetwork,
    },
    { name: node.name, labels: node.labels, taints: node.taints },
  );
  const problems: string[] = [];
  const taints = verdict.untolerated.map(formatTaint);
  if (taints.length)
    problems.push(`${taints.length === 1 ? 'taint' : 'taints'} ${taints.join(', ')} not tolerated`);
  if (verdict.selector.length) problems.push(`nodeSelector ${verdict.selector.join(', ')}`);
  if (verdict.affinity) problems.push('required node affinity matches none of its terms');
  return {
    problems,
    tolerations: verdict.untolerated.map(tolerationFor),
    taints,
    selector: verdict.selector,
    affinity: verdict.affinity,
  };
}

function isDown(node: NodeSummary): boolean {
  return (
    condition(node, 'Ready')?.status === 'Unknown' ||
    node.taints.some((t) => t.key === 'node.kubernetes.io/unreachable')
  );
}

function describeToleration(t: Toleration): string {
  return `{key: ${t.key}, operator: Exists, effect: ${t.effect}}`;
}

const LEGACY_PER_ARCH = /^kube-flannel-ds-(?:amd64|arm64|arm|ppc64le|s390x)$/;

export function evaluateFlannelDaemonSet(facts: FlannelDaemonSetFacts): Evaluation {
  const primary = facts.daemonSets[0];
  if (!primary) return evaluateAbsent(facts);

  const image = flannelImage(primary);
  const version = flannelVersion(primary);
  const legacy = primary.namespace === 'kube-system' || LEGACY_PER_ARCH.test(primary.name);
  const resultFacts: Record<string, unknown> = {
    namespace: primary.namespace,
    daemonSet: primary.name,
    daemonSets: facts.daemonSets.map((d) => `${d.namespace}/${d.name}`),
    ...(image ? { image } : {}),
    ...(version ? { version } : {}),
    legacy,
    serviceAccount: primary.serviceAccount,
    configMap: primary.configMapName,
  };
  const evidence: string[] = [];
  const dsCmd = `kubectl get ds -A -l app=flannel`;
  for (const ds of facts.daemonSets) {
    evidence.push(
      `${dsCmd}: ${ds.namespace}/${ds.name} desired ${ds.desired}, current ${ds.current}, ready ${ds.ready}, up-to-date ${ds.updated}${flannelImage(ds) ? `, image ${flannelImage(ds)}` : ''}`,
    );
  }
  if (legacy) {
    evidence.push(
      `legacy install recognised: ${primary.namespace}/${primary.name}${version ? ` (${version})` : ''} — pre-v0.19 manifests lived in kube-system${LEGACY_PER_ARCH.test(primary.name) ? ', ≤ v0.12 used one DaemonSet per architecture' : ''}; never add a second DaemonSet in kube-flannel beside it`,
    );
  }
  const namespaces = sortedUnique(facts.daemonSets.map((d) => d.namespace));

  // Per node: should a Flannel pod run there, does one, is it ready?
  const podsByNode = new Map<string, PodSummary[]>();
  for (const pod of facts.pods) {
    if (!pod.node) continue;
    podsByNode.set(pod.node, [...(podsByNode.get(pod.node) ?? []), pod]);
  }
  // A node that is down (Ready Unknown, tainted unreachable) runs no pod at all: that is no Flannel problem.
  const up = facts.nodes.filter((n) => !isDown(n));
  const eligible = up
    .filter((n) => facts.daemonSets.some((ds) => daemonSetFitsNode(ds, n)))
    .map((n) => n.name);
  const missing = eligible.filter((n) => !podsByNode.has(n));
  const now = Date.parse(facts.now ?? '');
  const notReadyPods = [...podsByNode.entries()].filter(
    ([, pods]) => !pods.some((p) => p.ready && !p.deletionTimestamp),
  );
  // A node whose Flannel pod is still coming up (young, nothing failed) is a rollout in progress, not a failure.
  const starting = sortedUnique(
    notReadyPods.filter(([, pods]) => pods.every((p) => isStillStarting(p, now))).map(([n]) => n),
  );
  const notReady = sortedUnique(notReadyPods.map(([n]) => n).filter((n) => !starting.includes(n)));
  const desired = facts.daemonSets.reduce((s, d) => s + d.desired, 0);
  const ready = facts.daemonSets.reduce((s, d) => s + d.ready, 0);
  const findings: Finding[] = [];

  // Nodes that need Flannel but that no Flannel DaemonSet schedules a pod on: the DaemonSet's desired count
  // leaves them out, so its numbers look fine while those nodes have no pod network.
  const uncovered = facts.podNetworkPods
    ? up.filter(
        (n) =>
          !podsByNode.has(n.name) &&
          needsFlannel(n, facts.podNetworkPods?.[n.name] ?? 0) &&
          !facts.daemonSets.some((ds) => daemonSetFitsNode(ds, n)),
      )
    : [];
  if (uncovered.length > 0) {
    const podFailure: Record<string, string> = {};
    const podProblem: Record<string, { pod: string; problem: string; images: string[] }> = {};
    const unscheduled: Record<string, unknown> = {};
    const lines: string[] = [];
    for (const node of uncovered) {
      const why = whyNotScheduled(primary, node);
      const pods = facts.podNetworkPods?.[node.name] ?? 0;
      const fix = why.tolerations.length
        ? `; add to spec.template.spec.tolerations: ${why.tolerations.map(describeToleration).join(', ')}`
        : why.selector.length
          ? `; label the node or widen the DaemonSet's nodeSelector`
          : '';
      lines.push(
        `kubectl get node ${node.name} -o jsonpath='{.spec.taints}': ${pods ? `${plural(pods, 'pod')} with a pod network run there, but ` : ''}DaemonSet ${primary.namespace}/${primary.name} schedules no pod on it: ${why.problems.join('; ') || 'it does not fit'}${fix}`,
      );
      podFailure[node.name] = 'not-scheduled';
      podProblem[node.name] = {
        pod: `${primary.namespace}/${primary.name}`,
        problem: `no Flannel pod: ${why.problems.join('; ') || 'the DaemonSet does not fit the node'}`,
        images: [],
      };
      unscheduled[node.name] = {
        daemonSet: `${primary.namespace}/${primary.name}`,
        taints: why.taints,
        tolerations: why.tolerations,
        selector: why.selector,
        affinity: why.affinity,
      };
    }
    evidence.push(...lines.slice(0, 6));
    const names = uncovered.map((n) => n.name);
    findings.push({
      cause: 'flannel-pod-failing',
      confidence: 0.85,
      summary: `Flannel runs on no pod of ${listSome(names, 3)}: DaemonSet ${primary.namespace}/${primary.name} does not tolerate ${[...new Set(uncovered.flatMap((n) => whyNotScheduled(primary, n).taints))].join(', ') || 'what keeps it off'} there (its desired count leaves ${names.length === 1 ? 'that node' : 'those nodes'} out)`,
      nodes: names,
      evidence: lines.slice(0, 6),
      data: { podFailure, podProblem, unscheduled },
    });
  }
  if (missing.length > 0) {
    evidence.push(
      `kubectl get pods -A -l app=flannel -o wide: no Flannel pod on ${plural(missing.length, 'node')} it should run on: ${listSome(missing)}`,
    );
  }
  if (notReady.length > 0) {
    evidence.push(
      `kubectl get pods -A -l app=flannel -o wide: Flannel pod not ready on ${listSome(notReady)} (see flannel-pods for why)`,
    );
  }
  if (starting.length > 0) {
    evidence.push(
      `kubectl get pods -A -l app=flannel -o wide: Flannel pod still starting on ${listSome(starting)} (created within the last ${STARTING_GRACE_MS / 60_000} min, nothing failed)`,
    );
  }
  // Every pod the DaemonSet lacks ready is one still starting: the rollout is under way.
  const rollingOut =
    starting.length > 0 &&
    missing.length === 0 &&
    notReady.length === 0 &&
    uncovered.length === 0 &&
    desired - ready <= starting.length;
  if (rollingOut) {
    if (namespaces.length > 1) evidence.push(twoInstallsLine(namespaces));
    return evaluation(
      'warn',
      `Flannel DaemonSet ${primary.namespace}/${primary.name}${version ? ` (${version})` : ''}: ready ${ready}/${desired}, ${plural(starting.length, 'pod')} still starting: diagnose again in a minute`,
      evidence,
      findings,
      resultFacts,
    );
  }
  if (desired !== ready || missing.length > 0 || notReady.length > 0 || uncovered.length > 0) {
    const nodes = sortedUnique([...missing, ...notReady]);
    if (desired !== ready || nodes.length > 0)
      findings.push({
        cause: 'flannel-pod-failing',
        confidence: 0.7,
        summary: `Flannel is ready on ${ready} of ${desired} nodes${nodes.length ? ` (not on ${listSome(nodes, 3)})` : ''}`,
        nodes,
        evidence: evidence.slice(0, 4),
      });
    if (namespaces.length > 1) evidence.push(twoInstallsLine(namespaces));
    return evaluation(
      'fail',
      `Flannel DaemonSet ${primary.namespace}/${primary.name}${version ? ` (${version})` : ''}: ready ${ready}/${desired}${
        uncovered.length
          ? `, no pod on ${listSome(
              uncovered.map((n) => n.name),
              3,
            )} (not scheduled there)`
          : ''
      }`,
      evidence,
      findings,
      {
        ...resultFacts,
        desired,
        ready,
        notReadyNodes: notReady,
        missingNodes: missing,
        unscheduledNodes: uncovered.map((n) => n.name),
      },
    );
  }
  if (namespaces.length > 1) {
    evidence.push(twoInstallsLine(namespaces));
    return evaluation('warn', `Flannel is installed twice (${namespaces.join(', ')})`, evidence, [], {
      ...resultFacts,
      desired,
      ready,
    });
  }
  return evaluation(
    'ok',
    `Flannel DaemonSet ${primary.namespace}/${primary.name}${version ? ` (${version})` : ''} is ready on ${ready}/${desired} nodes`,
    evidence,
    [],
    { ...resultFacts, desired, ready },
  );
}

function twoInstallsLine(namespaces: string[]): string {
  return `kubectl get ds -A -l app=flannel: Flannel DaemonSets in ${namespaces.join(' and ')} — two flanneld per node fight over the same lease and devices`;
}

function evaluateAbsent(facts: FlannelDaemonSetFacts): Evaluation {
  const leftovers = leftoverList(facts.leftovers);
  const embedded: EmbeddedFlavour | undefined = embeddedUnlessLeftovers(
    detectEmbedded(facts.nodes, facts.pods.length),
    facts.leftovers,
  );
  const none = 'kubectl get ds -A -l app=flannel returned nothing (no legacy kube-flannel-ds-<arch> either)';
  if (embedded) {
    const annotated = facts.nodes.filter((n) =>
      Object.keys(n.annotations).some((k) => k.startsWith('flannel.alpha.coreos.com/')),
    );
    return evaluation(
      'ok',
      `Flannel runs embedded in the ${embedded === 'unknown' ? 'node agent' : `${embedded} agent`} (no Flannel pods, nodes carry its annotations)`,
      [
        none,
        `kubectl get nodes -o yaml: ${plural(annotated.length, 'node')} carry flannel.alpha.coreos.com/* annotations (${listSome(annotated.map((n) => n.name))})`,
        'embedded Flannel is managed by the distribution (k3s/RKE2 server flags), not by a DaemonSet: manifest re-apply does not apply',
      ],
      [],
      { embedded },
    );
  }
  const nodes = facts.nodes.map((n) => n.name);
  const cniNotReady = facts.nodes
    .filter((n) => {
      const ready = condition(n, 'Ready');
      return (
        ready &&
        ready.status !== 'True' &&
        NETWORK_NOT_READY.test(`${ready.reason ?? ''} ${ready.message ?? ''}`)
      );
    })
    .map((n) => n.name);
  const evidence = [none];
  if (facts.stuckPods > 0) {
    evidence.push(
      `kubectl get pods -A --field-selector status.phase=Pending: ${plural(facts.stuckPods, 'pod')} waiting in ContainerCreating`,
    );
  }
  if (cniNotReady.length > 0) {
    const message =
      condition(
        facts.nodes.find((n) => n.name === cniNotReady[0])!,
        'Ready',
      )?.message ?? '';
    evidence.push(
      `kubectl get nodes: NotReady with NetworkPluginNotReady on ${listSome(cniNotReady)}: "${clip(message, 200)}"`,
    );
  }
  if (leftovers.length > 0) {
    evidence.push(`Flannel objects still present: ${leftovers.join(', ')}`);
    const annotated = facts.nodes.filter((n) => Object.keys(flannelAnnotations(n)).length > 0);
    if (annotated.length > 0) {
      evidence.push(
        `kubectl get nodes -o yaml: ${plural(annotated.length, 'node')} still carry flannel.alpha.coreos.com/* annotations (${listSome(annotated.map((n) => n.name))}) from the flanneld that ran before the DaemonSet was deleted`,
      );
    }
    return evaluation(
      'fail',
      'The Flannel DaemonSet is gone but other Flannel objects remain',
      evidence,
      [
        {
          cause: 'flannel-partially-deployed',
          confidence: 0.85,
          summary: `The Flannel DaemonSet was deleted; ${listSome(leftovers, 3)} remain`,
          nodes,
          evidence,
          data: { leftovers: facts.leftovers },
        },
      ],
      { deployed: false, leftovers: facts.leftovers },
    );
  }
  evidence.push(
    'no ConfigMap kube-flannel-cfg, ServiceAccount flannel, ClusterRole or ClusterRoleBinding flannel',
  );
  const symptoms = facts.stuckPods > 0 || cniNotReady.length > 0;
  return evaluation(
    'fail',
    'Flannel is not deployed: no DaemonSet labelled app=flannel in any namespace',
    evidence,
    [
      {
        cause: 'flannel-not-deployed',
        confidence: symptoms ? 0.95 : 0.85,
        summary: 'Flannel is not deployed (no DaemonSet, ConfigMap or RBAC objects)',
        nodes,
        evidence,
      },
    ],
    { deployed: false },
  );
}

export const check: CheckDefinition<FlannelDaemonSetFacts> = {
  id: 'flannel-daemonset',
  scope: 'api',
  title: 'Flannel DaemonSet',
  async gather(ctx) {
    const daemonSets = await gatherFlannelDaemonSets(ctx.kube);
    const [pods, nodes, leftovers, pending] = await Promise.all([
      gatherFlannelPods(ctx.kube, daemonSets),
      gatherNodes(ctx.kube),
      daemonSets.length === 0
        ? gatherLeftovers(ctx.kube)
        : Promise.resolve({
            namespaces: [],
            configMaps: [],
            serviceAccounts: [],
            clusterRoles: [],
            clusterRoleBindings: [],
          }),
      ctx.kube.core.listPodForAllNamespaces({}),
    ]);
    const all = pending.items.map(summarizePod);
    const stuckPods = all.filter(
      (p) =>
        p.phase === 'Pending' && !p.hostNetwork && p.containers.some((c) => c.reason === 'ContainerCreating'),
    ).length;
    const podNetworkPods: Record<string, number> = {};
    for (const p of all) {
      if (!p.node || p.hostNetwork || p.phase === 'Succeeded' || p.phase === 'Failed') continue;
      podNetworkPods[p.node] = (podNetworkPods[p.node] ?? 0) + 1;
    }
    return { daemonSets, pods, nodes, leftovers, stuckPods, podNetworkPods, now: new Date().toISOString() };
  },
  evaluate: (facts) => evaluateFlannelDaemonSet(facts),
};
