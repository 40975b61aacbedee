/** Hand-built probe reports and node facts for the node-check unit tests (what flannel-probe.sh would print). */
import { enrichProbeOutput, type ProbeOutput, type ProbeReport } from '../../src/checks/probe/schema.js';
import type { NodeCheckFacts, NodeFacts, PodOnNode } from '../../src/checks/node/common.js';

export const FLANNEL_CONFLIST = JSON.stringify({
  name: 'cbr0',
  cniVersion: '0.3.1',
  plugins: [
    { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
    { type: 'portmap', capabilities: { portMappings: true } },
  ],
});

export const CALICO_CONFLIST = JSON.stringify({
  name: 'k8s-pod-network',
  cniVersion: '0.3.1',
  plugins: [{ type: 'calico', ipam: { type: 'calico-ipam' } }, { type: 'portmap' }],
});

export interface DeviceSpec {
  name: string;
  kind?: 'vxlan' | 'bridge';
  mtu?: number;
  addrs?: string[];
  vxlan?: { id: number; port: number; dev: string };
}

export interface ReportSpec {
  confs?: Array<[string, string]>;
  bins?: string[];
  devices?: DeviceSpec[];
  subnetEnv?: Record<string, string> | null;
  ipam?: { network: string; files: Array<[string, string]> } | null;
  netns?: string[];
}

export function defaultDevices(third: number): DeviceSpec[] {
  return [
    { name: 'eth0', mtu: 1500, addrs: [`192.168.56.${10 + third}/24`] },
    {
      name: 'flannel.1',
      kind: 'vxlan',
      mtu: 1450,
      addrs: [`10.244.${third}.0/32`],
      vxlan: { id: 1, port: 8472, dev: 'eth0' },
    },
    { name: 'cni0', kind: 'bridge', mtu: 1450, addrs: [`10.244.${third}.1/24`] },
  ];
}

export function subnetEnvFor(third: number, mtu = 1450): Record<string, string> {
  return {
    FLANNEL_NETWORK: '10.244.0.0/16',
    FLANNEL_SUBNET: `10.244.${third}.1/24`,
    FLANNEL_MTU: String(mtu),
    FLANNEL_IPMASQ: 'true',
  };
}

export function probeReport(node: string, third: number, spec: ReportSpec = {}): ProbeReport {
  const confs = spec.confs ?? [['10-flannel.conflist', FLANNEL_CONFLIST]];
  const bins = spec.bins ?? ['bridge', 'flannel', 'host-local', 'loopback', 'portmap'];
  const devices = [
    { name: 'lo', mtu: 65536, addrs: ['127.0.0.1/8'] } as DeviceSpec,
    ...(spec.devices ?? defaultDevices(third)),
  ];
  const env = spec.subnetEnv === undefined ? subnetEnvFor(third) : spec.subnetEnv;
  const ipam = spec.ipam === undefined ? null : spec.ipam;
  const addrLines: string[] = [];
  const linkLines: string[] = [];
  devices.forEach((d, i) => {
    for (const a of d.addrs ?? [])
      addrLines.push(
        `${i + 1}: ${d.name}    inet ${a} scope global ${d.name}\\       valid_lft forever preferred_lft forever`,
      );
    const flags = d.name === 'lo' ? '<LOOPBACK,UP,LOWER_UP>' : '<BROADCAST,MULTICAST,UP,LOWER_UP>';
    linkLines.push(
      `${i + 1}: ${d.name}: ${flags} mtu ${d.mtu ?? 1500} qdisc noqueue state UP mode DEFAULT group default qlen 1000`,
    );
    linkLines.push(
      `    link/${d.name === 'lo' ? 'loopback' : 'ether'} 00:00:00:00:00:0${i} brd ff:ff:ff:ff:ff:ff promiscuity 0`,
    );
    if (d.kind === 'vxlan' && d.vxlan) {
      linkLines.push(
        `    vxlan id ${d.vxlan.id} local 192.168.56.11 dev ${d.vxlan.dev} srcport 0 0 dstport ${d.vxlan.port} nolearning ttl auto`,
      );
    } else if (d.kind === 'bridge') {
      linkLines.push('    bridge forward_delay 1500 hello_time 200 max_age 2000');
    }
  });
  const output: ProbeOutput = {
    probeVersion: 1,
    node,
    time: '2025-09-22T10:00:00Z',
    hostRoot: '/host',
    cniConf: {
      dir: '/host/etc/cni/net.d',
      exists: true,
      files: confs.map(([name, content]) => ({
        name,
        size: content.length,
        readable: true,
        truncated: false,
        content,
      })),
      otherEntries: [],
    },
    cniBin: {
      dir: '/host/opt/cni/bin',
      exists: true,
      files: bins.map((name) => ({
        name,
        type: 'file' as const,
        symlink: false,
        size: 1000,
        executable: true,
      })),
      required: {},
    },
    net: {
      addr: { command: 'ip -o addr show', exitCode: 0, lines: addrLines },
      link: { command: 'ip -d link show', exitCode: 0, lines: linkLines },
      sysClassNet: { dir: '/sys/class/net', readable: true, names: devices.map((d) => d.name) },
    },
    subnetEnv: env
      ? {
          path: '/host/run/flannel/subnet.env',
          present: true,
          readable: true,
          entries: Object.entries(env).map(([key, value]) => ({ key, value })),
          otherLines: [],
        }
      : {
          path: '/host/run/flannel/subnet.env',
          present: false,
          readable: false,
          entries: [],
          otherLines: [],
        },
    ipam: {
      dir: '/host/var/lib/cni/networks',
      exists: true,
      networks: ipam
        ? [
            {
              name: ipam.network,
              readable: true,
              lock: true,
              files: [
                ...ipam.files.map(([ip, id]) => ({ name: ip, lines: [`${id}\r`, 'eth0'] })),
                { name: 'last_reserved_ip.0', lines: [ipam.files.at(-1)?.[0] ?? ''] },
              ],
              otherEntries: [],
            },
          ]
        : [],
      otherEntries: [],
    },
    netns: { dir: '/host/var/run/netns', exists: true, entries: spec.netns ?? [] },
    errors: [],
  };
  return enrichProbeOutput(output);
}

export function pod(name: string, ip?: string, extra: Partial<PodOnNode> = {}): PodOnNode {
  return {
    namespace: 'shop',
    name,
    phase: ip ? 'Running' : 'Pending',
    ips: ip ? [ip] : [],
    terminating: false,
    ...extra,
  };
}

export function nodeFacts(report: ProbeReport, extra: Partial<NodeFacts> = {}): NodeFacts {
  const third = Number(/10\.244\.(\d+)\./.exec(report.subnetEnv.subnet ?? '')?.[1] ?? 1);
  return {
    node: report.node,
    probe: { ok: true, report },
    nodeFound: true,
    podCIDR: `10.244.${third}.0/24`,
    maxPods: 110,
    backendType: 'vxlan',
    pods: [],
    flannelPod: {
      namespace: 'kube-flannel',
      name: `kube-flannel-ds-${report.node}`,
      phase: 'Running',
      ready: true,
    },
    ...extra,
  };
}

export function facts(nodes: NodeFacts[], flannelDeployed = true): NodeCheckFacts {
  return { nodes, flannelDeployed };
}

/** host-local files for every IP from .from to .to of 10.244.<third>.0/24, owned by made-up sandboxes. */
export function reservations(third: number, from: number, to: number): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = from; i <= to; i++) out.push([`10.244.${third}.${i}`, i.toString(16).padStart(64, 'a')]);
  return out;
}
