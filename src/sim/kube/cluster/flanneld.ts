import { goJsonError } from '../host/cni-plan.js';
import { cidrContainsCidr, formatIpv4Cidr, gatewayCidr, parseIpv4Cidr } from '../../../util/ipv4.js';
import {
  cidrContainsCidr as cidrContainsCidrIp,
  formatCidr,
  formatIp,
  parseCidr,
  type Cidr,
} from '../../../util/ip.js';
import { klogLine } from './klog.js';

/**
 * What flanneld (`--ip-masq --kube-subnet-mgr`) does on start-up, decided from its inputs alone
 * (domain/flannel.md §1.3 F, G, H, I and §3, flannel main.go and pkg/subnet/kube): crash with the log line a
 * user would find, or come up with the lease it writes to /run/flannel/subnet.env. In flanneld's order:
 * its pod (RBAC), net-conf.json, the node informer, the backend type, br_netfilter, the interface
 * (default or --iface), then the lease from the node's podCIDR(s).
 */

export interface FlanneldInterface {
  name: string;
  /** Addresses with prefix. */
  addresses: string[];
}

export interface FlanneldInput {
  nodeName: string;
  internalIP: string;
  podCIDR?: string;
  /** spec.podCIDRs (dual-stack); podCIDR when absent. */
  podCIDRs?: string[];
  /** Contents of net-conf.json as mounted from the ConfigMap; undefined when the key is absent. */
  netConf?: string;
  netConfPath?: string;
  now?: number;
  /** flanneld's pod, and the API server's answer when its ServiceAccount may not read it (a 403 message). */
  pod?: { namespace: string; name: string; forbidden?: string };
  /** /proc/sys/net/bridge/bridge-nf-call-iptables exists (default true). */
  brNetfilter?: boolean;
  /** The node's interfaces; absent = eth0 with internalIP/24. */
  interfaces?: FlanneldInterface[];
  /** --iface values, in order. */
  ifaces?: string[];
  /** --iface-regex values. */
  ifaceRegexes?: string[];
}

export interface FlannelLease {
  network: string; // FLANNEL_NETWORK
  subnet: string; // FLANNEL_SUBNET (podCIDR with host part .1)
  podNetwork: string; // podCIDR network, e.g. 10.244.1.0/24 (flannel.1 carries it as /32)
  mtu: number;
  ipMasq: boolean;
  backendType: string;
  vni: number;
  port: number;
  /** The interface flanneld uses (its address is the public-ip annotation and the VTEP's local). */
  iface: string;
  publicIP: string;
  /** Dual-stack: FLANNEL_IPV6_NETWORK / FLANNEL_IPV6_SUBNET, the IPv6 podCIDR. */
  ipv6Network?: string;
  ipv6Subnet?: string;
  ipv6PodNetwork?: string;
}

export type FlanneldOutcome =
  { kind: 'crash'; error: string; log: string } | { kind: 'up'; lease: FlannelLease; log: string };

export const SUBNET_FILE = '/run/flannel/subnet.env';
/** Encapsulation overhead per backend (flannel pkg/backend/*: vxlan encapOverhead 50, udp 28). */
const OVERHEAD: Record<string, number> = { vxlan: 50, udp: 28, wireguard: 80 };
const NIC_MTU = 1500;

function preamble(input: FlanneldInput, at: () => number): string[] {
  const netConfPath = input.netConfPath ?? '/etc/kube-flannel/net-conf.json';
  return [
    klogLine(
      'I',
      'main.go:215',
      `CLI flags config: {etcdEndpoints:http://127.0.0.1:4001,http://127.0.0.1:2379 etcdPrefix:/coreos.com/network etcdKeyfile: etcdCertfile: etcdCAFile: etcdUsername: etcdPassword: version:false kubeSubnetMgr:true kubeApiUrl: kubeAnnotationPrefix:flannel.alpha.coreos.com kubeConfigFile: iface:[] ifaceRegex:[] ipMasq:true ifaceCanReach: subnetFile:${SUBNET_FILE} publicIP: publicIPv6: subnetLeaseRenewMargin:60 healthzIP:0.0.0.0 healthzPort:0 iptablesResyncSeconds:5 iptablesForwardRules:true netConfPath:${netConfPath} setNodeNetworkUnavailable:true}`,
      at(),
    ),
    klogLine(
      'W',
      'client_config.go:659',
      'Neither --kubeconfig nor --master was specified.  Using the inClusterConfig.  This might not work.',
      at(),
    ),
  ];
}

export function decideFlanneld(input: FlanneldInput): FlanneldOutcome {
  const start = input.now ?? Date.now();
  let step = 0;
  // Each line a fraction of a millisecond after the previous one, like a real start-up.
  const tick = () => start + step++ * 0.173;
  const lines = preamble(input, tick);
  const crash = (location: string, error: string): FlanneldOutcome => {
    lines.push(klogLine('E', location, error, tick()));
    return { kind: 'crash', error, log: lines.join('\n') + '\n' };
  };

  // kube.go NewSubnetManager reads its own pod first (to learn the node name).
  if (input.pod?.forbidden)
    return crash(
      'main.go:251',
      `Failed to create SubnetManager: error retrieving pod spec for '${input.pod.namespace}/${input.pod.name}': ${input.pod.forbidden}`,
    );
  const netConfPath = input.netConfPath ?? '/etc/kube-flannel/net-conf.json';
  if (input.netConf === undefined)
    return crash(
      'main.go:251',
      `Failed to create SubnetManager: failed to read net conf: open ${netConfPath}: no such file or directory`,
    );
  const syntax = goJsonError(input.netConf);
  if (syntax)
    return crash('main.go:251', `Failed to create SubnetManager: error parsing subnet config: ${syntax}`);
  const parsed: unknown = JSON.parse(input.netConf);
  const conf = (parsed && typeof parsed === 'object' ? parsed : {}) as Record<string, unknown>;
  const network = typeof conf.Network === 'string' ? parseIpv4Cidr(conf.Network) : undefined;
  if (!network)
    return crash(
      'main.go:251',
      'Failed to create SubnetManager: error parsing subnet config: please define a correct Network parameter in the flannel config',
    );
  const enableIPv6 = conf.EnableIPv6 === true;
  const ipv6Network =
    enableIPv6 && typeof conf.IPv6Network === 'string' ? parseCidr(conf.IPv6Network) : undefined;
  if (enableIPv6 && (!ipv6Network || ipv6Network.family !== 6))
    return crash(
      'main.go:251',
      'Failed to create SubnetManager: error parsing subnet config: please define a correct IPv6Network parameter in the flannel config',
    );
  const backend = (conf.Backend ?? {}) as Record<string, unknown>;
  const backendType = typeof backend.Type === 'string' ? backend.Type : 'vxlan';
  const vni = typeof backend.VNI === 'number' ? backend.VNI : 1;
  const port = typeof backend.Port === 'number' ? backend.Port : 8472;

  lines.push(
    klogLine('I', 'kube.go:139', 'Waiting 10m0s for node controller to sync', tick()),
    klogLine('I', 'kube.go:469', 'Starting kube subnet manager', tick()),
    klogLine('I', 'kube.go:146', 'Node controller sync successful', tick()),
    klogLine(
      'I',
      'main.go:254',
      `Created subnet manager: Kubernetes Subnet Manager - ${input.nodeName}`,
      tick(),
    ),
    klogLine('I', 'main.go:257', 'Installing signal handlers', tick()),
    klogLine('I', 'main.go:523', `Found network config - Backend type: ${backendType}`, tick()),
  );

  // main.go: from Kubernetes 1.30 kubeadm no longer checks br_netfilter, so flanneld does (iptables mode).
  if (input.brNetfilter === false && conf.EnableNFTables !== true)
    return crash(
      'main.go:292',
      'Failed to check br_netfilter: stat /proc/sys/net/bridge/bridge-nf-call-iptables: no such file or directory',
    );

  const interfaces = input.interfaces ?? [{ name: 'eth0', addresses: [`${input.internalIP}/24`] }];
  const ipv4Of = (i: FlanneldInterface) =>
    i.addresses.filter((a) => !a.includes(':')).map((a) => a.split('/')[0]);
  let iface: FlanneldInterface | undefined;
  const ifaces = input.ifaces ?? [];
  const regexes = input.ifaceRegexes ?? [];
  if (ifaces.length === 0 && regexes.length === 0) {
    lines.push(klogLine('I', 'match.go:211', 'Determining IP address of default interface', tick()));
    iface = interfaces.find((i) => i.name === 'eth0') ?? interfaces.find((i) => ipv4Of(i).length > 0);
    if (!iface)
      return crash(
        'main.go:328',
        'Failed to find any valid interface to use: failed to get default interface: Unable to find default route',
      );
    if (ipv4Of(iface).length === 0)
      return crash(
        'main.go:328',
        `Failed to find any valid interface to use: failed to find IPv4 address for interface ${iface.name}`,
      );
  } else {
    // ipmatch.LookupExtIface per --iface (a name or an IP), then per --iface-regex; the first that works wins.
    for (const name of ifaces) {
      const byIp = interfaces.find((i) => ipv4Of(i).includes(name));
      const found = byIp ?? interfaces.find((i) => i.name === name);
      if (!found) {
        lines.push(
          klogLine(
            'I',
            'main.go:336',
            `Could not find valid interface matching ${name}: error looking up interface ${name}: route ip+net: no such network interface`,
            tick(),
          ),
        );
        continue;
      }
      if (ipv4Of(found).length === 0) {
        lines.push(
          klogLine(
            'I',
            'main.go:336',
            `Could not find valid interface matching ${name}: failed to find IPv4 address for interface ${found.name}`,
            tick(),
          ),
        );
        continue;
      }
      iface = found;
      break;
    }
    for (const re of iface ? [] : regexes) {
      let rx: RegExp | undefined;
      try {
        rx = new RegExp(re);
      } catch {
        rx = undefined;
      }
      const found = rx ? interfaces.find((i) => ipv4Of(i).length > 0 && rx.test(i.name)) : undefined;
      if (found) {
        iface = found;
        break;
      }
      lines.push(
        klogLine(
          'I',
          'main.go:349',
          `Could not find valid interface matching ${re}: could not match pattern ${re} to any of the available network interfaces (${interfaces.map((i) => i.name).join(', ')})`,
          tick(),
        ),
      );
    }
    if (!iface)
      return crash(
        'main.go:367',
        'Failed to find interface to use that matches the interfaces and/or regexes provided',
      );
  }
  const publicIP = ipv4Of(iface)[0];
  lines.push(
    klogLine('I', 'match.go:264', `Using interface with name ${iface.name} and address ${publicIP}`, tick()),
    klogLine('I', 'match.go:286', `Defaulting external address to interface address (${publicIP})`, tick()),
  );
  if (backendType === 'vxlan')
    lines.push(
      klogLine(
        'I',
        'vxlan.go:141',
        `VXLAN config: VNI=${vni} Port=0 GBP=false Learning=false DirectRouting=false`,
        tick(),
      ),
    );

  const podCIDRs = input.podCIDRs?.length ? input.podCIDRs : input.podCIDR ? [input.podCIDR] : [];
  const v4 = podCIDRs.find((c) => !c.includes(':'));
  const v6 = podCIDRs.find((c) => c.includes(':'));
  if (!v4)
    return crash(
      'main.go:341',
      `Error registering network: failed to acquire lease: node "${input.nodeName}" pod cidr not assigned`,
    );
  const podCidr = parseIpv4Cidr(v4);
  if (!podCidr)
    return crash(
      'main.go:341',
      `Error registering network: failed to acquire lease: invalid CIDR address: ${v4}`,
    );
  if (!cidrContainsCidr(network, podCidr))
    return crash(
      'main.go:341',
      `Error registering network: failed to acquire lease: subnet "${formatIpv4Cidr(network)}" specified in the flannel net config doesn't contain "${v4}" PodCIDR of the "${input.nodeName}" node`,
    );
  const v6Cidr = v6 && enableIPv6 ? parseCidr(v6) : undefined;
  if (v6Cidr && ipv6Network && !cidrContainsCidrAny(ipv6Network, v6Cidr))
    return crash(
      'main.go:341',
      `Error registering network: failed to acquire lease: subnet "${conf.IPv6Network as string}" specified in the flannel net config doesn't contain "${v6}" IPv6 PodCIDR of the "${input.nodeName}" node`,
    );

  const mtu = NIC_MTU - (OVERHEAD[backendType] ?? 0);
  const lease: FlannelLease = {
    network: formatIpv4Cidr(network),
    subnet: gatewayCidr(podCidr),
    podNetwork: formatIpv4Cidr(podCidr),
    mtu,
    ipMasq: true,
    backendType,
    vni,
    port,
    iface: iface.name,
    publicIP,
    ...(v6Cidr && ipv6Network
      ? {
          ipv6Network: formatCidr(ipv6Network),
          ipv6Subnet: `${formatIp(6, v6Cidr.network + 1n)}/${v6Cidr.prefix}`,
          ipv6PodNetwork: formatCidr(v6Cidr),
        }
      : {}),
  };
  lines.push(
    klogLine(
      'I',
      'kube.go:510',
      `Creating the node lease for IPv4. This is the n.Spec.PodCIDRs: [${podCIDRs.join(' ')}]`,
      tick(),
    ),
    ...(lease.ipv6PodNetwork
      ? [
          klogLine(
            'I',
            'kube.go:600',
            `Creating the node lease for IPv6. This is the n.Spec.PodCIDRs: [${podCIDRs.join(' ')}]`,
            tick(),
          ),
        ]
      : []),
    klogLine(
      'I',
      'main.go:436',
      `Current network or subnet (${lease.network}, ${lease.podNetwork}) is not equal to previous one (0.0.0.0/0, 0.0.0.0/0), trying to recycle old iptables rules`,
      tick(),
    ),
    klogLine('I', 'main.go:341', 'Setting up masking rules', tick()),
    klogLine('I', 'main.go:362', 'Changing default FORWARD chain policy to ACCEPT', tick()),
    klogLine('I', 'iptables.go:290', 'generated 7 rules', tick()),
    klogLine('I', 'main.go:390', `Wrote subnet file to ${SUBNET_FILE}`, tick()),
    klogLine('I', 'main.go:394', 'Running backend.', tick()),
    klogLine(
      'I',
      backendType === 'host-gw' ? 'route_network.go:55' : 'vxlan_network.go:65',
      'watching for new subnet leases',
      tick(),
    ),
    klogLine('I', 'iptables.go:283', 'bootstrap done', tick()),
    klogLine('I', 'main.go:415', 'Waiting for all goroutines to exit', tick()),
  );
  return { kind: 'up', lease, log: lines.join('\n') + '\n' };
}

function cidrContainsCidrAny(outer: Cidr, inner: Cidr): boolean {
  return cidrContainsCidrIp(outer, inner);
}

/** The file flanneld writes (pkg/subnet WriteSubnetFile). */
export function subnetEnv(lease: FlannelLease): string {
  return (
    `FLANNEL_NETWORK=${lease.network}\n` +
    `FLANNEL_SUBNET=${lease.subnet}\n` +
    (lease.ipv6Network ? `FLANNEL_IPV6_NETWORK=${lease.ipv6Network}\n` : '') +
    (lease.ipv6Subnet ? `FLANNEL_IPV6_SUBNET=${lease.ipv6Subnet}\n` : '') +
    `FLANNEL_MTU=${lease.mtu}\n` +
    `FLANNEL_IPMASQ=${lease.ipMasq}\n`
  );
}

/** A stable, locally administered MAC for the node's flannel.1 VTEP. */
export function vtepMac(nodeName: string): string {
  let h = 2166136261;
  for (const ch of nodeName) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  const bytes = [
    0x02 | ((h >>> 24) & 0xfc),
    (h >>> 16) & 255,
    (h >>> 8) & 255,
    h & 255,
    (h >>> 5) & 255,
    (h >>> 13) & 255,
  ];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}
