/**
 * other-cnis: DaemonSets of other CNIs (Calico, Cilium, Weave, Canal, Multus, kube-router, Antrea)
 * beside Flannel, recognised by name, labels or image. Whether their config really wins on a node is
 * what the node probe confirms (node-cni-config), so the finding here has low confidence.
 */
import type { CheckDefinition } from '../types.js';
import { evaluation, listSome, type Evaluation } from './common.js';
import { detectEmbedded, gatherDaemonSets, isFlannelDaemonSet } from './flannel-objects.js';
import { gatherNodes } from './common.js';
import { sortedUnique, summarizePod, type DaemonSetSummary } from './summaries.js';

interface CniSignature {
  cni: string;
  name: RegExp;
  labels: RegExp;
  image: RegExp;
}

const SIGNATURES: CniSignature[] = [
  { cni: 'Canal', name: /^canal$/, labels: /^canal$/, image: /\/canal[:@]/ },
  {
    cni: 'Calico',
    name: /^calico-node$/,
    labels: /^calico-node$/,
    image: /calico\/node[:@]|calico\/cni[:@]/,
  },
  { cni: 'Cilium', name: /^cilium$/, labels: /^cilium$/, image: /cilium\/cilium[:@]/ },
  { cni: 'Weave', name: /^weave-net$/, labels: /^weave-net$/, image: /weave-kube[:@]|weaveworks\/weave/ },
  { cni: 'Multus', name: /multus/, labels: /^multus$/, image: /multus-cni/ },
  { cni: 'kube-router', name: /^kube-router$/, labels: /^kube-router$/, image: /kube-router[:@]/ },
  {
    cni: 'Antrea',
    name: /^antrea-agent$/,
    labels: /^antrea$/,
    image: /antrea\/antrea-(?:agent|ubuntu)|antrea-agent/,
  },
];

export interface OtherCni {
  cni: string;
  namespace: string;
  daemonSet: string;
  images: string[];
  nodes: string[];
}

/** Pure: which DaemonSets belong to another CNI. */
export function detectOtherCnis(daemonSets: readonly DaemonSetSummary[]): Array<Omit<OtherCni, 'nodes'>> {
  const found: Array<Omit<OtherCni, 'nodes'>> = [];
  for (const ds of daemonSets) {
    if (isFlannelDaemonSet(ds)) continue;
    const labelValues = [
      ds.labels['k8s-app'],
      ds.labels.app,
      ds.labels.name,
      ds.labels['app.kubernetes.io/name'],
      ds.labels.component,
    ].filter((v): v is string => !!v);
    const sig = SIGNATURES.find(
      (s) =>
        s.name.test(ds.name) ||
        labelValues.some((v) => s.labels.test(v)) ||
        ds.images.some((i) => s.image.test(i)),
    );
    if (sig) found.push({ cni: sig.cni, namespace: ds.namespace, daemonSet: ds.name, images: ds.images });
  }
  return found.sort(
    (a, b) =>
      a.cni.localeCompare(b.cni) ||
      a.namespace.localeCompare(b.namespace) ||
      a.daemonSet.localeCompare(b.daemonSet),
  );
}

export interface OtherCnisFacts {
  others: OtherCni[];
  flannelDeployed: boolean;
  embedded: boolean;
}

export function evaluateOtherCnis(facts: OtherCnisFacts): Evaluation {
  const flannel = facts.flannelDeployed || facts.embedded;
  const evidence = facts.others.map(
    (o) =>
      `kubectl -n ${o.namespace} get ds ${o.daemonSet}: ${o.cni} (${listSome(o.images, 2)})${o.nodes.length ? ` on ${listSome(o.nodes, 4)}` : ''}`,
  );
  const resultFacts = {
    others: facts.others.map((o) => ({
      cni: o.cni,
      daemonSet: `${o.namespace}/${o.daemonSet}`,
      nodes: o.nodes,
    })),
  };
  if (facts.others.length === 0)
    return evaluation('ok', 'No other CNI deployed beside Flannel', [], [], resultFacts);
  const names = sortedUnique(facts.others.map((o) => o.cni));
  if (!flannel) {
    return evaluation(
      'warn',
      `Flannel is not deployed but ${names.join(', ')} is`,
      evidence,
      [],
      resultFacts,
    );
  }
  const notes: string[] = [];
  if (names.includes('Canal') && facts.flannelDeployed)
    notes.push(
      'Canal bundles Flannel networking with Calico policy; a separate Flannel DaemonSet beside it runs flanneld twice',
    );
  // Multus is a meta-plugin: it sorts first in /etc/cni/net.d on purpose and delegates the cluster network.
  // Whether that network is Flannel's is decided per node from its 00-multus config (node-cni-config).
  // Canal is Flannel networking plus Calico policy: with no Flannel DaemonSet of its own beside it, the
  // Flannel annotations are Canal's flanneld and there is nothing to compete with.
  const competing = facts.others.filter(
    (o) => o.cni !== 'Multus' && !(o.cni === 'Canal' && !facts.flannelDeployed),
  );
  if (names.includes('Multus'))
    notes.push(
      "Multus sorts first in /etc/cni/net.d and delegates the cluster network (clusterNetwork or delegates[0]); node-cni-config checks on each probed node that it is Flannel's conflist",
    );
  if (competing.length === 0) {
    return evaluation(
      'ok',
      `${names.join(', ')} deployed beside Flannel (a meta-plugin)`,
      [...evidence, ...notes],
      [],
      resultFacts,
    );
  }
  const competingNames = sortedUnique(competing.map((o) => o.cni));
  const nodes = sortedUnique(competing.flatMap((o) => o.nodes));
  return evaluation(
    'warn',
    `${names.join(', ')} deployed beside Flannel`,
    [...evidence, ...notes],
    [
      {
        cause: 'cni-config-conflict',
        confidence: 0.3,
        summary: `${competingNames.join(', ')} runs beside Flannel; its CNI config may sort before 10-flannel.conflist`,
        nodes,
        evidence: evidence.filter((line) => !/\bMultus\b/.test(line)),
        data: { cnis: competingNames },
      },
    ],
    resultFacts,
  );
}

export const check: CheckDefinition<OtherCnisFacts> = {
  id: 'other-cnis',
  scope: 'api',
  title: 'Other CNIs',
  async gather(ctx) {
    const daemonSets = await gatherDaemonSets(ctx.kube);
    const found = detectOtherCnis(daemonSets);
    const flannelDeployed = daemonSets.some(isFlannelDaemonSet);
    const others: OtherCni[] = [];
    for (const o of found) {
      const pods = (await ctx.kube.core.listNamespacedPod({ namespace: o.namespace })).items.map(
        summarizePod,
      );
      const nodes = sortedUnique(
        pods
          .filter((p) => p.owner?.kind === 'DaemonSet' && p.owner.name === o.daemonSet)
          .map((p) => p.node ?? '')
          .filter((n) => n),
      );
      others.push({ ...o, nodes });
    }
    const embedded = !flannelDeployed && detectEmbedded(await gatherNodes(ctx.kube), 0) !== undefined;
    return { others, flannelDeployed, embedded };
  },
  evaluate: (facts) => evaluateOtherCnis(facts),
};
