/**
 * node-podcidrs: every node has a spec.podCIDR, inside the Flannel Network of net-conf.json, and no
 * two nodes' ranges overlap (flanneld's kube subnet manager takes the node's podCIDR as its lease).
 */
import type { CheckDefinition, Finding } from '../types.js';
import { cidrContainsCidr, findOverlaps, isIpv6, parseIpv4Cidr, type Ipv4Cidr } from '../../util/ipv4.js';
import { evaluation, gatherNodes, listSome, plural, type Evaluation } from './common.js';
import { detectEmbedded, gatherFlannelConfigMap, gatherFlannelDaemonSets } from './flannel-objects.js';
import { parseNetConf } from './netconf.js';

export interface NodePodCidrsFacts {
  nodes: Array<{ name: string; podCIDRs: string[] }>;
  /** net-conf.json Network, when the ConfigMap exists and parses. */
  network?: string;
  /** Where the Network came from, e.g. `configmap kube-flannel/kube-flannel-cfg`. */
  networkSource?: string;
  /** Flannel runs (DaemonSet or embedded): it needs the podCIDRs now. */
  flannelPresent: boolean;
}

export function evaluateNodePodCidrs(facts: NodePodCidrsFacts): Evaluation {
  const evidence: string[] = [];
  const findings: Finding[] = [];
  const cmd = `kubectl get nodes -o custom-columns=NAME:.metadata.name,PODCIDR:.spec.podCIDR`;
  const missing = facts.nodes.filter((n) => n.podCIDRs.length === 0).map((n) => n.name);
  const ipv4 = facts.nodes.flatMap((n) =>
    n.podCIDRs.filter((c) => !isIpv6(c)).map((c) => ({ name: n.name, text: c, cidr: parseIpv4Cidr(c) })),
  );
  const network = facts.network ? parseIpv4Cidr(facts.network) : undefined;
  const podCIDRs = Object.fromEntries(facts.nodes.map((n) => [n.name, n.podCIDRs[0] ?? null]));

  if (missing.length > 0) {
    const all = missing.length === facts.nodes.length;
    evidence.push(
      `${cmd}: ${all ? 'no node has' : `${plural(missing.length, 'node')} ${missing.length === 1 ? 'has' : 'have'}`} a podCIDR (${listSome(missing)})`,
    );
    const lines = [
      evidence[evidence.length - 1],
      'kube-controller-manager needs --allocate-node-cidrs=true --cluster-cidr=<Network> (kubeadm: --pod-network-cidr)',
    ];
    findings.push({
      cause: 'podcidr-missing',
      confidence: facts.flannelPresent ? 0.9 : 0.6,
      summary: `${all ? 'No node has' : `${plural(missing.length, 'node')} lack`} a podCIDR, so flanneld cannot take a lease there`,
      nodes: missing,
      evidence: lines,
    });
  }

  const invalid = ipv4.filter((r) => !r.cidr);
  for (const r of invalid)
    evidence.push(`${cmd}: ${r.name} has an unparsable podCIDR ${JSON.stringify(r.text)}`);
  const valid = ipv4.filter((r): r is { name: string; text: string; cidr: Ipv4Cidr } => !!r.cidr);

  if (network) {
    const outside = valid.filter((r) => !cidrContainsCidr(network, r.cidr));
    if (outside.length > 0) {
      const lines = [
        `${facts.networkSource ?? 'net-conf.json'}: Network ${facts.network}`,
        ...outside.slice(0, 8).map((r) => `${cmd}: ${r.name} podCIDR ${r.text} is outside ${facts.network}`),
      ];
      evidence.push(...lines);
      findings.push({
        cause: 'podcidr-outside-network',
        confidence: 0.9,
        summary: `${plural(outside.length, 'node podCIDR')} outside the Flannel Network ${facts.network} (${listSome(
          outside.map((r) => `${r.name} ${r.text}`),
          3,
        )})`,
        nodes: outside.map((r) => r.name),
        evidence: lines,
        data: { network: facts.network, podCIDRs: Object.fromEntries(outside.map((r) => [r.name, r.text])) },
      });
    }
  } else {
    evidence.push('Flannel Network unknown (no valid net-conf.json): podCIDRs not compared with it');
  }

  const overlaps = findOverlaps(valid.map((r) => ({ name: r.name, cidr: r.cidr })));
  for (const o of overlaps.slice(0, 8)) {
    evidence.push(
      `${cmd}: ${o.a} ${o.aCidr} overlaps ${o.b} ${o.bCidr} (pods on both nodes can get the same IP)`,
    );
  }

  const resultFacts = {
    podCIDRs,
    ...(facts.network ? { network: facts.network } : {}),
    missing,
    overlaps: overlaps.map((o) => [o.a, o.b]),
  };
  if (findings.length > 0) {
    return evaluation('fail', findings.map((f) => f.summary).join('; '), evidence, findings, resultFacts);
  }
  if (overlaps.length > 0 || invalid.length > 0) {
    return evaluation(
      'warn',
      overlaps.length
        ? `${plural(overlaps.length, 'pair')} of nodes with overlapping podCIDRs`
        : 'Unparsable podCIDRs',
      evidence,
      [],
      resultFacts,
    );
  }
  return evaluation(
    'ok',
    `All ${plural(facts.nodes.length, 'node')} have a podCIDR${network ? ` inside ${facts.network}` : ''}, no overlaps`,
    evidence,
    [],
    resultFacts,
  );
}

export const check: CheckDefinition<NodePodCidrsFacts> = {
  id: 'node-podcidrs',
  scope: 'api',
  title: 'Node podCIDRs',
  async gather(ctx) {
    const [daemonSets, nodes] = await Promise.all([gatherFlannelDaemonSets(ctx.kube), gatherNodes(ctx.kube)]);
    const cm = await gatherFlannelConfigMap(ctx.kube, daemonSets[0]);
    const net = cm ? parseNetConf(cm.data['net-conf.json']) : undefined;
    const flannelPresent = daemonSets.length > 0 || detectEmbedded(nodes, 0) !== undefined;
    return {
      nodes: nodes.map((n) => ({ name: n.name, podCIDRs: n.podCIDRs })),
      ...(net?.ok && net.value.network
        ? {
            network: net.value.network,
            networkSource: `kubectl -n ${cm!.namespace} get configmap ${cm!.name} (net-conf.json)`,
          }
        : {}),
      flannelPresent,
    };
  },
  evaluate: (facts) => evaluateNodePodCidrs(facts),
};
