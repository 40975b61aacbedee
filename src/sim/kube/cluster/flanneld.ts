import { goJsonError } from '../host/cni-plan.js';
import { cidrContainsCidr, formatIpv4Cidr, gatewayCidr, parseIpv4Cidr } from '../../../util/ipv4.js';
import { klogLine } from './klog.js';

/**
 * What flanneld (`--ip-masq --kube-subnet-mgr`) does on start-up, decided from its inputs alone
 * (domain/flannel.md §1.3 F, G, I and §3): crash with the log line a user would find, or come up with
 * the lease it writes to /run/flannel/subnet.env.
 */

export interface FlanneldInput {
  nodeName: string;
  internalIP: string;
  podCIDR?: string;
  /** Contents of net-conf.json as mounted from the ConfigMap; undefined when the key is absent. */
  netConf?: string;
  netConfPath?: string;
  now?: number;
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
}

export type FlanneldOutcome =
  { kind: 'crash'; error: string; log: string } | { kind: 'up'; lease: FlannelLease; log: string };

export const SUBNET_FILE = '/run/flannel/subnet.env';
const VXLAN_MTU = 1450; // 1500-byte NIC minus the 50-byte VXLAN overhead

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

  const netConfPath = input.netConfPath ?? '/etc/kube-flannel/net-conf.json';
  if (input.netConf === undefined)
    return crash(
      'main.go:236',
      `Failed to create SubnetManager: failed to read net conf: open ${netConfPath}: no such file or directory`,
    );
  const syntax = goJsonError(input.netConf);
  if (syntax)
    return crash('main.go:236', `Failed to create SubnetManager: error parsing subnet config: ${syntax}`);
  const parsed: unknown = JSON.parse(input.netConf);
  const conf = (parsed && typeof parsed === 'object' ? parsed : {}) as Record<string, unknown>;
  const network = typeof conf.Network === 'string' ? parseIpv4Cidr(conf.Network) : undefined;
  if (!network)
    return crash(
      'main.go:236',
      'Failed to create SubnetManager: error parsing subnet config: please define a correct Network parameter in the flannel config',
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
      'main.go:241',
      `Created subnet manager: Kubernetes Subnet Manager - ${input.nodeName}`,
      tick(),
    ),
    klogLine('I', 'main.go:244', 'Installing signal handlers', tick()),
    klogLine('I', 'main.go:523', `Found network config - Backend type: ${backendType}`, tick()),
    klogLine('I', 'match.go:211', 'Determining IP address of default interface', tick()),
    klogLine('I', 'match.go:264', `Using interface with name eth0 and address ${input.internalIP}`, tick()),
    klogLine(
      'I',
      'match.go:286',
      `Defaulting external address to interface address (${input.internalIP})`,
      tick(),
    ),
    klogLine(
      'I',
      'vxlan.go:141',
      `VXLAN config: VNI=${vni} Port=0 GBP=false Learning=false DirectRouting=false`,
      tick(),
    ),
  );

  if (!input.podCIDR)
    return crash(
      'main.go:341',
      `Error registering network: failed to acquire lease: node "${input.nodeName}" pod cidr not assigned`,
    );
  const podCidr = parseIpv4Cidr(input.podCIDR);
  if (!podCidr)
    return crash(
      'main.go:341',
      `Error registering network: failed to acquire lease: invalid CIDR address: ${input.podCIDR}`,
    );
  if (!cidrContainsCidr(network, podCidr))
    return crash(
      'main.go:341',
      `Error registering network: failed to acquire lease: subnet "${formatIpv4Cidr(network)}" specified in the flannel net config doesn't contain "${input.podCIDR}" PodCIDR of the "${input.nodeName}" node`,
    );

  const lease: FlannelLease = {
    network: formatIpv4Cidr(network),
    subnet: gatewayCidr(podCidr),
    podNetwork: formatIpv4Cidr(podCidr),
    mtu: VXLAN_MTU,
    ipMasq: true,
    backendType,
    vni,
    port,
  };
  lines.push(
    klogLine(
      'I',
      'kube.go:510',
      `Creating the node lease for IPv4. This is the n.Spec.PodCIDRs: [${lease.podNetwork}]`,
      tick(),
    ),
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
    klogLine('I', 'vxlan_network.go:65', 'watching for new subnet leases', tick()),
    klogLine('I', 'iptables.go:283', 'bootstrap done', tick()),
    klogLine('I', 'main.go:415', 'Waiting for all goroutines to exit', tick()),
  );
  return { kind: 'up', lease, log: lines.join('\n') + '\n' };
}

/** The file flanneld writes (pkg/subnet WriteSubnetFile). */
export function subnetEnv(lease: FlannelLease): string {
  return (
    `FLANNEL_NETWORK=${lease.network}\n` +
    `FLANNEL_SUBNET=${lease.subnet}\n` +
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
