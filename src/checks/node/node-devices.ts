/**
 * Network devices on each node (domain/flannel.md §4): cni0 must carry the gateway of the node's
 * current podCIDR (FLANNEL_SUBNET), else the bridge plugin fails with `"cni0" already has an IP
 * address different from ...`; the backend device (flannel.1 for vxlan) must exist where flanneld runs.
 * Also records vxlan VNI/port/MTU and the NIC MTU for the network report.
 */
import type { NetDevice } from '../probe/schema.js';
import { nodeCheck, type NodeCheckFacts, type NodeOutcome, type ProbedNode } from './common.js';
import {
  cidrContainsAddress,
  formatIpv4,
  formatIpv4Cidr,
  gatewayCidr,
  parseIpv4Cidr,
} from '../../util/ipv4.js';

/** The device each backend creates (flannel.<VNI> for vxlan; none for host-gw). */
function backendDevice(devices: NetDevice[], backend: string): NetDevice | undefined {
  switch (backend) {
    case 'host-gw':
    case 'alloc':
      return undefined;
    case 'udp':
      return devices.find((d) => d.name === 'flannel0');
    case 'wireguard':
      return devices.find((d) => d.name === 'flannel-wg');
    default:
      return devices.find((d) => /^flannel\.\d+$/.test(d.name) && (d.type === 'vxlan' || d.type === 'other'));
  }
}

function expectedDeviceName(backend: string): string | undefined {
  if (backend === 'host-gw' || backend === 'alloc') return undefined;
  if (backend === 'udp') return 'flannel0';
  if (backend === 'wireguard') return 'flannel-wg';
  return 'flannel.1';
}

/** The uplink whose MTU bounds the overlay: vxlan's `dev`, else the first plain device with an IPv4. */
function uplink(devices: NetDevice[], overlay: NetDevice | undefined): NetDevice | undefined {
  const named = overlay?.vxlan?.dev;
  if (named) return devices.find((d) => d.name === named);
  return devices.find(
    (d) =>
      d.type === 'other' &&
      d.ipv4.length > 0 &&
      !/^(lo|cni0|docker\d*|flannel|veth|cali|tunl|kube-ipvs)/.test(d.name),
  );
}

export function evaluateNode(
  nf: ProbedNode,
  _params: Record<string, unknown>,
  all: NodeCheckFacts,
): NodeOutcome {
  const report = nf.probe.report;
  const devices = report.devices;
  if (devices.length === 0) {
    const why = report.errors.filter((e) => /addresses|links/.test(e));
    return {
      status: 'error',
      summary: 'the probe could not list network devices',
      evidence: why.length ? why : ['ip -o addr show / ip -d link show printed nothing'],
    };
  }
  const backend = nf.backendType ?? 'vxlan';
  const podCidr = parseIpv4Cidr(nf.podCIDR);
  const subnet = parseIpv4Cidr(report.subnetEnv.subnet);
  // The podCIDR is what cni0 should carry; FLANNEL_SUBNET is what the bridge plugin is told to use. When the
  // two disagree, subnet.env is wrong (node-subnet-env), not cni0.
  const podGateway = podCidr ? gatewayCidr(podCidr) : undefined;
  const envGateway = subnet ? `${formatIpv4(subnet.address)}/${subnet.prefix}` : undefined;
  const expected = podGateway ?? envGateway;
  const cni0 = devices.find((d) => d.name === 'cni0');
  const overlay = backendDevice(devices, backend);
  const nic = uplink(devices, overlay);
  const facts = {
    backend,
    missingRoutes: [] as string[],
    cni0: cni0 ? { addresses: cni0.ipv4.map((a) => a.cidr), mtu: cni0.mtu ?? null } : null,
    overlay: overlay
      ? {
          name: overlay.name,
          type: overlay.type,
          mtu: overlay.mtu ?? null,
          vni: overlay.vxlan?.id ?? null,
          port: overlay.vxlan?.dstport ?? null,
          addresses: overlay.ipv4.map((a) => a.cidr),
        }
      : null,
    nic: nic ? { name: nic.name, mtu: nic.mtu ?? null } : null,
    expectedGateway: expected ?? null,
  };
  const evidence: string[] = [];
  const findings: NodeOutcome['findings'] = [];
  let status: NodeOutcome['status'] = 'ok';
  const problems: string[] = [];
  const envLine = report.subnetEnv.subnet
    ? [`${report.subnetEnv.path}: FLANNEL_SUBNET=${report.subnetEnv.subnet}`]
    : [];

  if (!cni0) {
    evidence.push(
      'ip link show cni0: no such device (the bridge plugin creates it on the first pod sandbox)',
    );
  } else {
    const addrs = cni0.ipv4.map((a) => a.cidr);
    evidence.push(`ip -4 addr show cni0: ${addrs.join(', ') || 'no IPv4 address'}`);
    const envWrong = podGateway !== undefined && envGateway !== undefined && envGateway !== podGateway;
    if (expected && addrs.length > 0 && !addrs.includes(expected)) {
      if (envWrong && addrs.includes(envGateway)) {
        // cni0 was made from the wrong subnet.env: deleting it now would only recreate it from that file.
        const lines = [
          `cni0 has ${addrs.join(', ')}, the gateway of FLANNEL_SUBNET ${report.subnetEnv.subnet}; node podCIDR ${nf.podCIDR} needs ${podGateway}`,
          ...envLine,
          'the bridge plugin built cni0 from the wrong subnet.env: deleting cni0 alone would recreate it the same way; once flanneld has rewritten subnet.env, cni0 must be re-created',
        ];
        status = 'fail';
        problems.push(`cni0 follows the wrong subnet.env (${addrs.join(', ')}, podCIDR needs ${podGateway})`);
        evidence.push(...lines);
        findings.push({
          cause: 'subnet-env-mismatch',
          confidence: 0.6,
          summary: `cni0 carries ${addrs.join(', ')} from the wrong FLANNEL_SUBNET ${report.subnetEnv.subnet}, not the node podCIDR gateway ${podGateway}`,
          evidence: lines,
          data: { cni0FollowsSubnetEnv: { [nf.node]: { addresses: addrs, expected: podGateway } } },
        });
      } else {
        const wants = podCidr ? `node podCIDR ${nf.podCIDR}` : `FLANNEL_SUBNET ${report.subnetEnv.subnet}`;
        const lines = [`cni0 has ${addrs.join(', ')}; ${wants} needs ${expected}`, ...envLine];
        status = 'fail';
        problems.push(`cni0 has ${addrs.join(', ')}, expected ${expected}`);
        evidence.push(...lines);
        findings.push({
          cause: 'stale-cni0',
          confidence: 0.9,
          summary: `cni0 holds ${addrs.join(', ')} from an old podCIDR; the node's podCIDR needs ${expected}, so the bridge plugin fails with "cni0" already has an IP address different from ${expected}`,
          evidence: lines,
          data: { staleCni0: { [nf.node]: { addresses: addrs, expected } } },
        });
      }
    } else if (envWrong && addrs.includes(podGateway)) {
      evidence.push(
        `cni0 carries the podCIDR gateway ${podGateway}, but FLANNEL_SUBNET says ${report.subnetEnv.subnet}: the bridge plugin refuses new pods ("cni0" already has an IP address different from ${report.subnetEnv.subnet}) until subnet.env is right (see node-subnet-env)`,
      );
    }
  }

  const wantDevice = expectedDeviceName(backend);
  if (overlay) {
    const vx = overlay.vxlan;
    evidence.push(
      `ip -d link show ${overlay.name}: ${overlay.type}${vx ? ` id ${vx.id}${vx.dstport ? ` dstport ${vx.dstport}` : ''}` : ''}${overlay.mtu ? ` mtu ${overlay.mtu}` : ''}${overlay.ipv4.length ? `, ${overlay.ipv4.map((a) => a.cidr).join(', ')}` : ''}`,
    );
    const addr = parseIpv4Cidr(overlay.ipv4[0]?.cidr);
    if (
      podCidr &&
      addr &&
      overlay.name.startsWith('flannel.') &&
      !cidrContainsAddress(podCidr, addr.address)
    ) {
      if (status === 'ok') status = 'warn';
      problems.push(
        `${overlay.name} address ${formatIpv4(addr.address)} is outside podCIDR ${formatIpv4Cidr(podCidr)}`,
      );
      evidence.push(
        `${overlay.name} carries ${overlay.ipv4[0].cidr}, outside the node podCIDR ${nf.podCIDR} (flannel.1 and cni0 out of sync)`,
      );
    }
  } else if (wantDevice) {
    evidence.push(`ip link show ${wantDevice}: no such device`);
    const flannelRunning = nf.flannelPod?.phase === 'Running';
    if (all.flannelDeployed === false) {
      if (status === 'ok') status = 'fail';
      problems.push(`no ${wantDevice}${cni0 ? '' : ' and no cni0'}`);
      findings.push({
        cause: 'flannel-not-deployed',
        confidence: 0.4,
        summary: `no ${wantDevice}${cni0 ? '' : ' and no cni0'} on the node: no flanneld ever ran there`,
        evidence: [`ip link show: no ${wantDevice}${cni0 ? '' : ', no cni0'}`],
      });
    } else if (all.flannelDeployed === true || nf.flannelPod) {
      if (status === 'ok') status = 'fail';
      problems.push(`${wantDevice} missing`);
      findings.push({
        cause: 'flannel-pod-failing',
        confidence: flannelRunning ? 0.55 : 0.45,
        summary: flannelRunning
          ? `the Flannel pod runs but ${wantDevice} is missing: flanneld did not finish its start-up (check its log)`
          : `${wantDevice} is missing: flanneld is not running on the node (${nf.flannelPod ? `pod ${nf.flannelPod.name} ${nf.flannelPod.phase ?? 'without status'}` : 'no Flannel pod on the node'})`,
        evidence: [`ip link show ${wantDevice}: no such device`],
      });
    }
  }
  if (nic) evidence.push(`uplink ${nic.name} mtu ${nic.mtu ?? '?'}`);

  // host-gw has no device: flanneld programs a route to each peer's podCIDR via the peer's node IP, which
  // works only when every node is on one L2 segment (backends.md). A missing route means pods there are
  // unreachable from this node.
  const missingRoutes: string[] = [];
  if (backend === 'host-gw' && report.routes && all.peers) {
    for (const peer of all.peers) {
      if (peer.name === nf.node || !peer.internalIP) continue;
      for (const cidr of peer.podCIDRs.filter((c) => !c.includes(':'))) {
        const ok = report.routes.some((r) => r.dst === cidr && r.via === peer.internalIP);
        if (!ok) missingRoutes.push(`${cidr} via ${peer.internalIP} (${peer.name})`);
      }
    }
    const total = all.peers.filter((p) => p.name !== nf.node && p.internalIP && p.podCIDRs.length).length;
    evidence.push(
      missingRoutes.length
        ? `ip -4 route: no host-gw route for ${missingRoutes.slice(0, 6).join(', ')}${missingRoutes.length > 6 ? ` and ${missingRoutes.length - 6} more` : ''}: flanneld adds them only for peers on the same L2 segment (a cloud network or a router in between needs the vxlan backend)`
        : `ip -4 route: a host-gw route to each of ${total} peer podCIDRs via the peer's node IP`,
    );
    if (missingRoutes.length) {
      if (status === 'ok') status = 'warn';
      problems.push(`${missingRoutes.length} host-gw route(s) missing`);
    }
  }

  const summary =
    problems.length > 0
      ? problems.join('; ')
      : `${cni0 ? `cni0 ${cni0.ipv4.map((a) => a.cidr).join(', ') || 'present'}` : 'cni0 not created yet'}${overlay ? `, ${overlay.name} present` : ''}`;
  facts.missingRoutes = missingRoutes;
  return { status, summary, evidence, findings, facts };
}

export const check = nodeCheck({
  id: 'node-devices',
  title: 'cni0 and Flannel devices on the node',
  needs: { flannel: true, peers: true },
  evaluateNode,
});
