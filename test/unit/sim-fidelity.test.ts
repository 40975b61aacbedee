/**
 * Simulator fidelity for issue 7/9: flanneld's node-local crashes and RBAC, backends as configured, dual-stack
 * leases and host-local range sets, Multus delegation, DaemonSet eviction only on NoExecute, relative times.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { decideFlanneld, subnetEnv } from '../../src/sim/kube/cluster/flanneld.js';
import { daemonPodFits, daemonPodMayStay } from '../../src/sim/kube/cluster/placement.js';
import { NodeHost } from '../../src/sim/kube/host/node-host.js';
import { podSandboxId } from '../../src/sim/kube/host/ids.js';
import { expandTimes, parseScenario } from '../../src/sim/kube/scenario/load.js';
import { nodeSchema } from '../../src/sim/kube/scenario/schema.js';
import { UserError } from '../../src/util/errors.js';

const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-fidelity-test-'));
afterAll(() => fs.rmSync(baseDir, { recursive: true, force: true }));

const NET_CONF = '{"Network": "10.244.0.0/16", "Backend": {"Type": "vxlan"}}';
const base = {
  nodeName: 'worker-1',
  internalIP: '192.168.56.11',
  podCIDR: '10.244.1.0/24',
  netConf: NET_CONF,
};
const lastLine = (log: string) => log.trim().split('\n').pop() ?? '';

describe('flanneld start-up (domain/flannel.md §1.3 H, I)', () => {
  it('exits on a node without br_netfilter, unless nftables mode is on', () => {
    const out = decideFlanneld({ ...base, brNetfilter: false });
    expect(out.kind).toBe('crash');
    expect(lastLine(out.log)).toMatch(
      /^E\d{4} [\d:.]+ +1 main\.go:292\] Failed to check br_netfilter: stat \/proc\/sys\/net\/bridge\/bridge-nf-call-iptables: no such file or directory$/,
    );
    const nft = decideFlanneld({
      ...base,
      brNetfilter: false,
      netConf: '{"Network": "10.244.0.0/16", "EnableNFTables": true, "Backend": {"Type": "vxlan"}}',
    });
    expect(nft.kind).toBe('up');
  });

  it('exits when --iface names no interface, or one without an address, and uses the first that works', () => {
    const interfaces = [
      { name: 'eth0', addresses: ['192.168.56.11/24'] },
      { name: 'eth1', addresses: [] },
    ];
    const missing = decideFlanneld({ ...base, interfaces, ifaces: ['ens5'] });
    expect(missing.log).toMatch(
      /Could not find valid interface matching ens5: error looking up interface ens5: route ip\+net: no such network interface/,
    );
    expect(lastLine(missing.log)).toMatch(
      /Failed to find interface to use that matches the interfaces and\/or regexes provided$/,
    );
    const noAddr = decideFlanneld({ ...base, interfaces, ifaces: ['eth1'] });
    expect(noAddr.log).toMatch(
      /Could not find valid interface matching eth1: failed to find IPv4 address for interface eth1/,
    );
    expect(noAddr.kind).toBe('crash');
    const fallback = decideFlanneld({ ...base, interfaces, ifaces: ['eth1', 'eth0'] });
    if (fallback.kind !== 'up') throw new Error(fallback.error);
    expect(fallback.lease.iface).toBe('eth0');
  });

  it('exits when its ServiceAccount may not read its own pod (RBAC objects missing)', () => {
    const forbidden =
      'pods "kube-flannel-ds-abcde" is forbidden: User "system:serviceaccount:kube-system:flannel" cannot get resource "pods" in API group "" in the namespace "kube-system"';
    const out = decideFlanneld({
      ...base,
      pod: { namespace: 'kube-system', name: 'kube-flannel-ds-abcde', forbidden },
    });
    expect(lastLine(out.log)).toContain(
      `Failed to create SubnetManager: error retrieving pod spec for 'kube-system/kube-flannel-ds-abcde': ${forbidden}`,
    );
  });

  it('follows the configured backend: host-gw has the NIC MTU and no VXLAN config', () => {
    const hostGw = decideFlanneld({
      ...base,
      netConf: '{"Network": "10.244.0.0/16", "Backend": {"Type": "host-gw"}}',
    });
    if (hostGw.kind !== 'up') throw new Error(hostGw.error);
    expect(hostGw.lease).toMatchObject({ backendType: 'host-gw', mtu: 1500 });
    expect(hostGw.log).toMatch(/route_network\.go:\d+\] watching for new subnet leases/);
  });

  it('takes a dual-stack lease and writes the IPv6 variables', () => {
    const out = decideFlanneld({
      ...base,
      podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'],
      netConf:
        '{"Network": "10.244.0.0/16", "EnableIPv6": true, "IPv6Network": "fd00:10:244::/56", "Backend": {"Type": "vxlan"}}',
    });
    if (out.kind !== 'up') throw new Error(out.error);
    expect(subnetEnv(out.lease)).toBe(
      'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n',
    );
    const outside = decideFlanneld({
      ...base,
      podCIDRs: ['10.244.1.0/24', 'fd00:99::/64'],
      netConf:
        '{"Network": "10.244.0.0/16", "EnableIPv6": true, "IPv6Network": "fd00:10:244::/56", "Backend": {"Type": "vxlan"}}',
    });
    expect(lastLine(outside.log)).toMatch(
      /doesn't contain "fd00:99::\/64" IPv6 PodCIDR of the "worker-1" node/,
    );
  });
});

const FLANNEL_CONFLIST = JSON.stringify({
  name: 'cbr0',
  cniVersion: '0.3.1',
  plugins: [
    { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
    { type: 'portmap', capabilities: { portMappings: true } },
  ],
});
const CALICO_CONFLIST = JSON.stringify({
  name: 'k8s-pod-network',
  cniVersion: '0.3.1',
  plugins: [{ type: 'calico' }],
});
const BINS = {
  flannel: 'v1.9.1-flannel3',
  bridge: 'v1.9.1',
  'host-local': 'v1.9.1',
  portmap: 'v1.9.1',
  loopback: 'v1.9.1',
  multus: 'v4.1.0',
  'multus-shim': 'v4.1.0',
  calico: 'v3.27.0',
};
let n = 0;
function host(files: Record<string, string>, extra: Record<string, unknown> = {}): NodeHost {
  n += 1;
  return NodeHost.create(
    baseDir,
    nodeSchema.parse({
      name: `n${n}`,
      internalIP: '192.168.56.11',
      podCIDR: '10.244.1.0/24',
      host: { cniBinaries: BINS, files, ...extra },
    }),
  );
}
function add(h: NodeHost, name = `p${n}`) {
  return h.cniAdd({
    sandboxId: podSandboxId('shop', name, 0),
    podName: name,
    namespace: 'shop',
    podUid: `u-${name}`,
  });
}

describe('Multus in the simulated CNI stack', () => {
  const env =
    'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n';
  it('runs the chain delegates[0] or clusterNetwork names, the thick daemon reading /host/etc/cni/net.d', () => {
    for (const multus of [
      {
        cniVersion: '0.3.1',
        name: 'multus-cni-network',
        type: 'multus',
        delegates: [JSON.parse(FLANNEL_CONFLIST)],
      },
      {
        cniVersion: '0.3.1',
        name: 'multus-cni-network',
        type: 'multus-shim',
        clusterNetwork: '/host/etc/cni/net.d/10-flannel.conflist',
      },
      { cniVersion: '0.3.1', name: 'multus-cni-network', type: 'multus', clusterNetwork: '/etc/cni/net.d' },
    ]) {
      const h = host({
        '/etc/cni/net.d/00-multus.conf': JSON.stringify(multus),
        '/etc/cni/net.d/10-flannel.conflist': FLANNEL_CONFLIST,
        '/run/flannel/subnet.env': env,
      });
      expect({ multus: multus.type, result: add(h) }).toMatchObject({
        multus: multus.type,
        result: { ok: true, ip: '10.244.1.2', network: 'cbr0' },
      });
    }
  });

  it('wraps the delegate error as Multus does, naming the inner plugin', () => {
    const h = host({
      '/etc/cni/net.d/00-multus.conf': JSON.stringify({
        cniVersion: '0.3.1',
        name: 'multus-cni-network',
        type: 'multus',
        clusterNetwork: '/etc/cni/net.d/10-flannel.conflist',
      }),
      '/etc/cni/net.d/10-flannel.conflist': FLANNEL_CONFLIST,
    });
    const r = add(h, 'web');
    expect(r).toMatchObject({ ok: false, pluginType: 'multus' });
    if (r.ok) throw new Error('expected a failure');
    expect(r.pluginError).toBe(
      `[shop/web/u-web:cbr0]: error adding container to network "cbr0": plugin type="flannel" failed (add): failed to load flannel 'subnet.env' file: open /run/flannel/subnet.env: no such file or directory. Check the flannel pod log for this node.`,
    );
    const calico = host({
      '/etc/cni/net.d/00-multus.conf': JSON.stringify({
        cniVersion: '0.3.1',
        name: 'multus-cni-network',
        type: 'multus',
        clusterNetwork: '/etc/cni/net.d/10-calico.conflist',
      }),
      '/etc/cni/net.d/10-calico.conflist': CALICO_CONFLIST,
      '/etc/cni/net.d/10-flannel.conflist': FLANNEL_CONFLIST,
      '/run/flannel/subnet.env': env,
    });
    const c = add(calico, 'api');
    if (c.ok) throw new Error('expected a failure');
    expect(c.pluginError).toMatch(
      /error adding container to network "k8s-pod-network": plugin type="calico" failed \(add\)/,
    );
  });
});

describe('host-local range sets and dual-stack pods', () => {
  it('takes one address per range set from the flannel delegate', () => {
    const h = host({
      '/etc/cni/net.d/10-flannel.conflist': FLANNEL_CONFLIST,
      '/run/flannel/subnet.env':
        'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n',
    });
    expect(add(h)).toMatchObject({ ok: true, ips: ['10.244.1.2', 'fd00:10:244:1::2'] });
    expect(h.device('cni0')?.addresses).toEqual(['10.244.1.1/24', 'fd00:10:244:1::1/64']);
    expect(h.list('/var/lib/cni/networks/cbr0')).toEqual(
      expect.arrayContaining(['10.244.1.2', 'fd00:10:244:1::2', 'last_reserved_ip.0', 'last_reserved_ip.1']),
    );
  });

  it('prints connected and flanneld routes for `ip route`', () => {
    const h = host({}, { routes: [{ dst: '10.244.2.0/24', via: '192.168.56.12', dev: 'eth0' }] });
    expect(h.readFile('/.sim/net/route')).toBe(
      'default via 192.168.56.1 dev eth0\n192.168.56.0/24 dev eth0 proto kernel scope link src 192.168.56.11\n10.244.2.0/24 via 192.168.56.12 dev eth0\n',
    );
  });
});

describe('DaemonSet placement: only NoExecute evicts', () => {
  const spec = {
    tolerations: [{ key: 'node-role.kubernetes.io/master', operator: 'Exists', effect: 'NoSchedule' }],
  };
  const node = (effect: string) => ({
    name: 'a',
    labels: {},
    unschedulable: false,
    taints: [{ key: 'dedicated', value: 'db', effect }],
  });
  it('keeps a running pod behind a new NoSchedule taint, evicts behind NoExecute', () => {
    expect(daemonPodFits(spec, true, node('NoSchedule'))).toBe(false);
    expect(daemonPodMayStay(spec, true, node('NoSchedule'))).toBe(true);
    expect(daemonPodMayStay(spec, true, node('NoExecute'))).toBe(false);
  });
});

describe('scenario files', () => {
  it('expand times relative to now, also in klog form, and reject a bad one naming the field', () => {
    const now = Date.parse('2025-09-22T10:00:00Z');
    expect(expandTimes({ a: ['{{now}}', '{{now-3d}}', '{{now+90s}}', 'I{{klog:now-5m}} x'] }, now)).toEqual({
      a: ['2025-09-22T10:00:00Z', '2025-09-19T10:00:00Z', '2025-09-22T10:01:30Z', 'I0922 09:55:00.000000 x'],
    });
    const text = [
      'name: t',
      'description: t',
      'rootCause: none',
      'kubernetesVersion: v1.33.4',
      'nodes: [{ name: a, internalIP: 192.168.56.10 }]',
      'objects:',
      '  - apiVersion: v1',
      '    kind: ConfigMap',
      '    metadata: { name: c, annotations: { at: "{{now-3w}}" } }',
    ].join('\n');
    expect(() => parseScenario(text, 'x.yaml')).toThrow(UserError);
    expect(() => parseScenario(text, 'x.yaml')).toThrow(
      /objects\[0\]\.metadata\.annotations\.at \(line 9\): \{\{now-3w\}\} is not a time/,
    );
  });

  it('check dual-stack podCIDRs and logs against the pods they name', () => {
    const text = (extra: string) =>
      [
        'name: t',
        'description: t',
        'rootCause: none',
        'kubernetesVersion: v1.33.4',
        'nodes: [{ name: a, internalIP: 192.168.56.10, podCIDR: 10.244.0.0/24, podCIDRs: [10.244.1.0/24] }]',
        extra,
      ].join('\n');
    expect(() => parseScenario(text(''), 'x.yaml')).toThrow(
      /nodes\[0\]\.podCIDRs.*must start with podCIDR 10\.244\.0\.0\/24/,
    );
    expect(() =>
      parseScenario(
        text('logs: [{ pod: kube-flannel/nope, container: kube-flannel, lines: [x] }]').replace(
          'podCIDRs: [10.244.1.0/24]',
          'podCIDRs: [10.244.0.0/24, "fd00::/64"]',
        ),
        'x.yaml',
      ),
    ).toThrow(/logs\[0\]\.pod.*no Pod kube-flannel\/nope in objects/);
  });
});
