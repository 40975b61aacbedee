/**
 * pod-ips: every pod IP (IPv4 and IPv6) against its node's podCIDR(s) and the Flannel Network(s), and
 * duplicate pod IPs across the cluster. A second CNI config that sorts before Flannel's (containerd's
 * 10-containerd-net.conflist, a leftover bridge config) hands out addresses from its own range without any
 * event, NotReady node or stuck pod (flannel#1437); a wrong subnet.env hands out another node's range. Only
 * the pod IPs show it, so the nodes failing here are probed (diagnosis/affected-nodes.ts uses the same
 * pure function) and the node checks say which config or file did it.
 */
import type { CheckDefinition, Finding } from '../types.js';
import { cidrContainsIp, parseCidr, type Cidr } from '../../util/ip.js';
import { evaluation, gatherNodes, listSome, plural, type Evaluation } from './common.js';
import { gatherFlannelConfigMap, gatherFlannelDaemonSets, detectEmbedded } from './flannel-objects.js';
import { parseNetConf } from './netconf.js';

export interface PodIpFacts {
  nodes: Array<{ name: string; podCIDRs: string[] }>;
  pods: Array<{ namespace: string; name: string; node?: string; ips: string[] }>;
  /** net-conf.json Network and IPv6Network, when known. */
  networks: string[];
  /** Flannel runs (DaemonSet or embedded): its ranges are the ones that count. */
  flannelPresent: boolean;
}

export interface PodIpProblem {
  node: string;
  /** Pods with an IP outside every Flannel Network. */
  outsideNetwork: string[];
  /** Pods with an IP inside the Network but outside the node's own podCIDR. */
  outsidePodCidr: string[];
  /** Pods sharing an IP with a pod elsewhere. */
  duplicates: string[];
  /** One line per problem pod, for evidence. */
  lines: string[];
}

const MAX_LINES_PER_NODE = 4;

/** Pods that have a pod network and an IP: hostNetwork pods carry the node's IP and are left out by the caller. */
export function findPodIpProblems(facts: PodIpFacts): PodIpProblem[] {
  const networks = facts.networks.map(parseCidr).filter((c): c is Cidr => !!c);
  const nodeCidrs = new Map(
    facts.nodes.map((n) => [n.name, n.podCIDRs.map(parseCidr).filter((c): c is Cidr => !!c)] as const),
  );
  const owners = new Map<string, string[]>();
  for (const pod of facts.pods)
    for (const ip of pod.ips) owners.set(ip, [...(owners.get(ip) ?? []), `${pod.namespace}/${pod.name}`]);

  const byNode = new Map<string, PodIpProblem>();
  const problemOf = (node: string) => {
    let p = byNode.get(node);
    if (!p) {
      p = { node, outsideNetwork: [], outsidePodCidr: [], duplicates: [], lines: [] };
      byNode.set(node, p);
    }
    return p;
  };
  for (const pod of facts.pods) {
    if (!pod.node) continue;
    const key = `${pod.namespace}/${pod.name}`;
    const cidrs = nodeCidrs.get(pod.node) ?? [];
    for (const ip of pod.ips) {
      const family = ip.includes(':') ? 6 : 4;
      const famNetworks = networks.filter((c) => c.family === family);
      const famCidrs = cidrs.filter((c) => c.family === family);
      const others = (owners.get(ip) ?? []).filter((o) => o !== key);
      if (famNetworks.length && !famNetworks.some((c) => cidrContainsIp(c, ip))) {
        const p = problemOf(pod.node);
        p.outsideNetwork.push(key);
        p.lines.push(
          `pod ${key} has IP ${ip}, outside the Flannel Network ${famNetworks.map((c) => c.text).join(', ')}${famCidrs.length ? ` and the node podCIDR ${famCidrs.map((c) => c.text).join(', ')}` : ''}`,
        );
      } else if (famCidrs.length && !famCidrs.some((c) => cidrContainsIp(c, ip))) {
        const p = problemOf(pod.node);
        p.outsidePodCidr.push(key);
        p.lines.push(
          `pod ${key} has IP ${ip}, outside its node's podCIDR ${famCidrs.map((c) => c.text).join(', ')}`,
        );
      }
      if (others.length > 0) {
        const p = problemOf(pod.node);
        p.duplicates.push(key);
        p.lines.push(`pod ${key} shares IP ${ip} with ${listSome(others, 3)}`);
      }
    }
  }
  return [...byNode.values()]
    .map((p) => ({
      ...p,
      outsideNetwork: [...new Set(p.outsideNetwork)],
      outsidePodCidr: [...new Set(p.outsidePodCidr)],
      duplicates: [...new Set(p.duplicates)],
    }))
    .sort((a, b) => a.node.localeCompare(b.node));
}

export function evaluatePodIps(facts: PodIpFacts): Evaluation {
  const cmd = 'kubectl get pods -A -o wide';
  const withIp = facts.pods.filter((p) => p.ips.length > 0).length;
  if (!facts.flannelPresent) {
    return evaluation('skipped', 'Flannel does not run here, so its ranges say nothing about pod IPs');
  }
  const problems = findPodIpProblems(facts);
  const resultFacts = {
    nodes: Object.fromEntries(
      problems.map((p) => [
        p.node,
        {
          outsideNetwork: p.outsideNetwork.length,
          outsidePodCidr: p.outsidePodCidr.length,
          duplicates: p.duplicates.length,
        },
      ]),
    ),
  };
  if (problems.length === 0) {
    return evaluation(
      'ok',
      `${plural(withIp, 'pod IP')} inside ${facts.networks.length ? facts.networks.join(', ') : 'the node podCIDRs'} and on their own node's podCIDR, no duplicates`,
      [],
      [],
      resultFacts,
    );
  }
  const evidence = problems.flatMap((p) =>
    p.lines.slice(0, MAX_LINES_PER_NODE).map((l) => `${cmd} (node ${p.node}): ${l}`),
  );
  const findings: Finding[] = [];
  const foreign = problems.filter((p) => p.outsideNetwork.length > 0);
  if (foreign.length > 0) {
    const nodes = foreign.map((p) => p.node);
    findings.push({
      cause: 'cni-config-conflict',
      // The API cannot see which config handed the addresses out; the probe of these nodes can.
      confidence: 0.45,
      summary: `Pods on ${listSome(nodes, 3)} have IPs outside the Flannel Network: another CNI config hands out addresses there`,
      nodes,
      evidence: foreign.flatMap((p) =>
        p.lines.slice(0, MAX_LINES_PER_NODE).map((l) => `${cmd} (node ${p.node}): ${l}`),
      ),
    });
  }
  const foreignRange = problems.filter((p) => p.outsideNetwork.length === 0 && p.outsidePodCidr.length > 0);
  if (foreignRange.length > 0) {
    const nodes = foreignRange.map((p) => p.node);
    findings.push({
      cause: 'subnet-env-mismatch',
      confidence: 0.45,
      summary: `Pods on ${listSome(nodes, 3)} have IPs from another node's range: the node's subnet.env (FLANNEL_SUBNET) does not match its podCIDR`,
      nodes,
      evidence: foreignRange.flatMap((p) =>
        p.lines.slice(0, MAX_LINES_PER_NODE).map((l) => `${cmd} (node ${p.node}): ${l}`),
      ),
    });
  }
  const counts = (f: (p: PodIpProblem) => string[]) => problems.reduce((n, p) => n + f(p).length, 0);
  const parts = [
    counts((p) => p.outsideNetwork) &&
      `${plural(
        counts((p) => p.outsideNetwork),
        'pod',
      )} outside the Flannel Network`,
    counts((p) => p.outsidePodCidr) &&
      `${plural(
        counts((p) => p.outsidePodCidr),
        'pod',
      )} outside their node's podCIDR`,
    counts((p) => p.duplicates) &&
      `${plural(
        counts((p) => p.duplicates),
        'pod',
      )} with a duplicate IP`,
  ].filter(Boolean);
  return evaluation(
    'fail',
    `${parts.join(', ')} on ${listSome(
      problems.map((p) => p.node),
      4,
    )}`,
    evidence,
    findings,
    resultFacts,
  );
}

/** Pod IPs of pods with a pod network that hold or will keep an address (not finished, not hostNetwork). */
export function podNetworkIps(pod: {
  spec?: { hostNetwork?: boolean; nodeName?: string };
  status?: { phase?: string; podIP?: string; podIPs?: Array<{ ip?: string }> };
}): string[] {
  if (pod.spec?.hostNetwork) return [];
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return [];
  const ips = new Set<string>();
  for (const entry of pod.status?.podIPs ?? []) if (entry.ip) ips.add(entry.ip);
  if (pod.status?.podIP) ips.add(pod.status.podIP);
  return [...ips];
}

/** net-conf.json's Network and IPv6Network (when IPv6 is enabled). */
export function flannelNetworks(netConfText: string | undefined): string[] {
  if (netConfText === undefined) return [];
  const net = parseNetConf(netConfText);
  if (!net.ok) return [];
  const { network, ipv6Network, enableIPv4, enableIPv6 } = net.value;
  return [...(enableIPv4 && network ? [network] : []), ...(enableIPv6 && ipv6Network ? [ipv6Network] : [])];
}

export const check: CheckDefinition<PodIpFacts> = {
  id: 'pod-ips',
  scope: 'api',
  title: 'Pod IPs against podCIDRs',
  async gather(ctx) {
    const [daemonSets, nodes, pods] = await Promise.all([
      gatherFlannelDaemonSets(ctx.kube),
      gatherNodes(ctx.kube),
      ctx.kube.core.listPodForAllNamespaces({}),
    ]);
    const cm = await gatherFlannelConfigMap(ctx.kube, daemonSets[0]);
    return {
      nodes: nodes.map((n) => ({ name: n.name, podCIDRs: n.podCIDRs })),
      pods: pods.items
        .map((p) => ({
          namespace: p.metadata?.namespace ?? '',
          name: p.metadata?.name ?? '',
          ...(p.spec?.nodeName ? { node: p.spec.nodeName } : {}),
          ips: podNetworkIps(p),
        }))
        .filter((p) => p.ips.length > 0),
      networks: flannelNetworks(cm?.data['net-conf.json']),
      flannelPresent: daemonSets.length > 0 || detectEmbedded(nodes, 0) !== undefined,
    };
  },
  evaluate: (facts) => evaluatePodIps(facts),
};
