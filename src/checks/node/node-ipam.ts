/**
 * host-local reservations in /var/lib/cni/networks/<conflist name>/ against the pod IPs the API says
 * are in use on the node (domain/flannel.md §2, selective rule). A reservation counts as leaked only when
 * its IP is no pod's IP on the node and, when the probe could ask the runtime (`crictl pods`), its owner is
 * no sandbox, Ready or NotReady (a NotReady sandbox keeps its IP until kubelet tears it down). The release
 * action re-checks owners against the runtime's sandboxes before it removes anything.
 */
import { ipamNetworkName, nodeCheck, type NodeOutcome, type ProbedNode } from './common.js';
import {
  cidrContainsAddress,
  compareIps,
  formatIpv4Cidr,
  parseIpv4,
  parseIpv4Cidr,
  summarizeIps,
  usablePodIps,
  type Ipv4Cidr,
} from '../../util/ipv4.js';

/** A handful of unmatched reservations can be sandboxes whose pod status is not written yet. */
const TRANSIENT_LEAKS = 2;

export function evaluateNode(nf: ProbedNode, _params: Record<string, unknown>): NodeOutcome {
  const report = nf.probe.report;
  const netName = ipamNetworkName(report);
  const dir = `${report.ipam.dir}/${netName}`;
  const network = report.ipam.networks.find((n) => n.name === netName);
  if (network && !network.readable) {
    return {
      status: 'error',
      summary: `cannot read ${dir}`,
      evidence: [`${dir} exists but the probe cannot list it`],
    };
  }
  const podCidr = parseIpv4Cidr(nf.podCIDR) ?? parseIpv4Cidr(report.subnetEnv.subnet);
  const rangeSize = podCidr ? usablePodIps(podCidr.prefix) : undefined;
  const pods = nf.pods ?? [];
  const usedIps = new Set(pods.flatMap((p) => p.ips));
  const usedInRange = podCidr ? [...usedIps].filter((ip) => inCidr(podCidr, ip)) : [...usedIps];
  const reservations = network?.reservations ?? [];
  // With the runtime's view, a reservation whose owner is a sandbox (Ready, or NotReady: stopped but not
  // torn down yet, it keeps its IP until kubelet's CNI DEL) is not leaked, whatever the API says.
  const sandboxes = report.sandboxes;
  const sandboxState = new Map((sandboxes ?? []).map((sb) => [sb.id, sb] as const));
  const heldByNotReady = sandboxes
    ? reservations.filter(
        (r) => !usedIps.has(r.ip) && sandboxState.get(r.containerId)?.state === 'SANDBOX_NOTREADY',
      )
    : [];
  const leaked = reservations
    .filter((r) => !r.unreadable && !usedIps.has(r.ip) && !sandboxState.has(r.containerId))
    .map((r) => r.ip)
    .sort(compareIps);
  const inRange = podCidr ? reservations.filter((r) => inCidr(podCidr, r.ip)) : reservations;
  const leakedInRange = podCidr ? leaked.filter((ip) => inCidr(podCidr, ip)) : leaked;
  const leakedOutside = leaked.filter((ip) => !leakedInRange.includes(ip));
  const unreadable = reservations.filter((r) => r.unreadable).map((r) => r.ip);
  const facts = {
    network: netName,
    reserved: reservations.length,
    reservedInRange: inRange.length,
    rangeSize: rangeSize ?? null,
    podIpsInUse: usedIps.size,
    leaked: leaked.length,
    ...(sandboxes ? { heldByNotReadySandboxes: heldByNotReady.length } : {}),
  };
  const rangeText = podCidr
    ? `podCIDR ${formatIpv4Cidr(podCidr)} holds ${rangeSize} pod IPs`
    : 'no podCIDR known';
  const evidence = [
    network
      ? `ls ${dir}: ${reservations.length} reservations, ${inRange.length} in the pod range (${rangeText})`
      : `${dir} does not exist yet (${rangeText})`,
    `kubectl get pods -A -o wide --field-selector spec.nodeName=${nf.node}: ${pods.length} non-hostNetwork pods, ${usedIps.size} pod IPs in use`,
  ];
  if (leakedInRange.length)
    evidence.push(`reserved but no pod's IP (${leakedInRange.length}): ${summarizeIps(leakedInRange)}`);
  if (leakedOutside.length) {
    evidence.push(
      `reservations outside the current podCIDR (${leakedOutside.length}, from an old range): ${summarizeIps(leakedOutside)}`,
    );
  }
  if (unreadable.length) evidence.push(`owner unreadable, left alone: ${summarizeIps(unreadable)}`);
  if (sandboxes) {
    evidence.push(
      `crictl pods: ${sandboxes.length} sandboxes (${sandboxes.filter((sb) => sb.state === 'SANDBOX_NOTREADY').length} NotReady)`,
    );
  }
  if (heldByNotReady.length) {
    evidence.push(
      `held by NotReady sandboxes, not leaked (${heldByNotReady.length}): ${summarizeIps(heldByNotReady.map((r) => r.ip).sort(compareIps))} — their pods are gone and kubelet tears them down (CNI DEL); restarting kubelet re-drives a stuck teardown`,
    );
  }

  // Real pods fill the range: releasing nothing would help, the range is too small.
  if (rangeSize !== undefined && usedInRange.length >= rangeSize) {
    const lines = [
      ...evidence,
      ...(nf.maxPods && nf.maxPods > rangeSize
        ? [`kubelet allows ${nf.maxPods} pods, more than the range's ${rangeSize}`]
        : []),
    ];
    return {
      status: 'fail',
      summary: `${usedInRange.length} running pods fill the ${rangeSize}-IP range ${formatIpv4Cidr(podCidr!)}`,
      evidence: lines,
      findings: [
        {
          cause: 'ipam-exhausted',
          confidence: 0.9,
          summary: `real pods use all ${rangeSize} IPs of ${formatIpv4Cidr(podCidr!)}: the node needs a larger pod range (SubnetLen / --node-cidr-mask-size) or a lower --max-pods`,
          evidence: lines,
        },
      ],
      facts,
    };
  }

  if (leaked.length === 0) {
    const nearlyFull = rangeSize !== undefined && inRange.length >= rangeSize * 0.9;
    return {
      status: nearlyFull ? 'warn' : 'ok',
      summary: nearlyFull
        ? `${inRange.length} of ${rangeSize} IPs reserved, all by pods`
        : `${reservations.length} reservations, all used by pods`,
      evidence,
      facts,
    };
  }

  const full = rangeSize !== undefined && inRange.length >= rangeSize;
  const significant =
    leakedInRange.length > TRANSIENT_LEAKS && leakedInRange.length >= Math.min(10, (rangeSize ?? 0) * 0.1);
  const confidence = full ? 0.95 : significant ? 0.7 : leakedInRange.length ? 0.35 : 0.3;
  const summary = full
    ? `${leakedInRange.length} leaked reservations fill ${dir}: the range ${formatIpv4Cidr(podCidr!)} is exhausted while only ${usedInRange.length} pods use it`
    : leakedInRange.length
      ? `${leakedInRange.length} host-local reservations in ${dir} belong to no pod on the node`
      : `${leakedOutside.length} stale reservations from an old podCIDR remain in ${dir}`;
  return {
    status: confidence >= 0.5 ? 'fail' : 'warn',
    summary,
    evidence,
    findings: [
      {
        cause: 'ipam-leak',
        confidence,
        summary,
        evidence,
        data: { leakedIps: { [nf.node]: leaked }, ipamNetwork: { [nf.node]: netName } },
      },
    ],
    facts,
  };
}

function inCidr(cidr: Ipv4Cidr, ip: string): boolean {
  const n = parseIpv4(ip);
  return n !== undefined && cidrContainsAddress(cidr, n);
}

export const check = nodeCheck({
  id: 'node-ipam',
  title: 'host-local IP reservations on the node',
  needs: { pods: true },
  evaluateNode,
});
