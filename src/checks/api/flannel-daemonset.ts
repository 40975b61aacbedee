/**
 * flannel-daemonset: is Flannel deployed (DaemonSets labelled app=flannel in any namespace, legacy
 * kube-system and per-arch installs, or embedded in k3s/RKE2), and is it ready on every node it should run on?
 */
import type { Finding } from '../types.js';
import type { CheckDefinition } from '../types.js';
import { NETWORK_NOT_READY } from '../../detect/patterns.js';
import { clip, evaluation, gatherNodes, listSome, plural, type Evaluation } from './common.js';
import {
  daemonSetFitsNode,
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

export interface FlannelDaemonSetFacts {
  /** Flannel DaemonSets, the preferred one first. */
  daemonSets: DaemonSetSummary[];
  pods: PodSummary[];
  nodes: NodeSummary[];
  leftovers: FlannelLeftovers;
  /** Non-hostNetwork pods waiting in ContainerCreating (a sign pods need a CNI that is not there). */
  stuckPods: number;
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
  const eligible = facts.nodes
    .filter((n) => facts.daemonSets.some((ds) => daemonSetFitsNode(ds, n)))
    .map((n) => n.name);
  const missing = eligible.filter((n) => !podsByNode.has(n));
  const notReady = sortedUnique(
    [...podsByNode.entries()]
      .filter(([, pods]) => !pods.some((p) => p.ready && !p.deletionTimestamp))
      .map(([n]) => n),
  );
  const desired = facts.daemonSets.reduce((s, d) => s + d.desired, 0);
  const ready = facts.daemonSets.reduce((s, d) => s + d.ready, 0);
  const findings: Finding[] = [];
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
  if (desired !== ready || missing.length > 0 || notReady.length > 0) {
    const nodes = sortedUnique([...missing, ...notReady]);
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
      `Flannel DaemonSet ${primary.namespace}/${primary.name}${version ? ` (${version})` : ''}: ready ${ready}/${desired}`,
      evidence,
      findings,
      { ...resultFacts, desired, ready, notReadyNodes: notReady, missingNodes: missing },
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
      ctx.kube.core.listPodForAllNamespaces({ fieldSelector: 'status.phase=Pending' }),
    ]);
    const stuckPods = pending.items
      .map(summarizePod)
      .filter((p) => !p.hostNetwork && p.containers.some((c) => c.reason === 'ContainerCreating')).length;
    return { daemonSets, pods, nodes, leftovers, stuckPods };
  },
  evaluate: (facts) => evaluateFlannelDaemonSet(facts),
};
