/**
 * Runs flannel-probe.sh with the system `sh` (dash here) against node host trees built in temp
 * dirs, with the simulator's `ip` stand-in first in PATH, and checks the facts parseProbeOutput
 * derives from what it prints.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseProbeOutput, type ProbeReport } from '../../src/checks/probe/schema.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = join(repo, 'src/checks/probe/flannel-probe.sh');
const SIM_BIN = join(repo, 'src/sim/kube/host/bin');

const FLANNEL_CONFLIST = `{
  "name": "cbr0",
  "cniVersion": "0.3.1",
  "plugins": [
    {
      "type": "flannel",
      "delegate": {
        "hairpinMode": true,
        "isDefaultGateway": true
      }
    },
    {
      "type": "portmap",
      "capabilities": {
        "portMappings": true
      }
    }
  ]
}
`;
const CALICO_CONFLIST = JSON.stringify(
  {
    name: 'k8s-pod-network',
    cniVersion: '0.3.1',
    plugins: [
      { type: 'calico', log_level: 'info', datastore_type: 'kubernetes', ipam: { type: 'calico-ipam' } },
      { type: 'portmap', snat: true, capabilities: { portMappings: true } },
    ],
  },
  null,
  2,
);
const SUBNET_ENV =
  'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n';
const UPSTREAM_PLUGINS = [
  'bandwidth',
  'bridge',
  'dhcp',
  'firewall',
  'host-device',
  'host-local',
  'loopback',
  'portmap',
];

type Tree = Record<string, string | { content: string; mode: number }>;

let base: string;
let realLink: string;
let realAddr: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'flannel-ops-probe-'));
  realLink = await readFile(new URL('../fixtures/probe/ip-d-link-show.txt', import.meta.url), 'utf8');
  realAddr = await readFile(new URL('../fixtures/probe/ip-o-addr-show.txt', import.meta.url), 'utf8');
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

const sandboxId = (n: number) => n.toString(16).padStart(8, '0').repeat(8);

async function buildNode(name: string, tree: Tree, dirs: string[] = []): Promise<string> {
  const root = join(base, name);
  for (const dir of dirs) await mkdir(join(root, dir), { recursive: true });
  for (const [path, spec] of Object.entries(tree)) {
    const file = join(root, path);
    await mkdir(dirname(file), { recursive: true });
    const { content, mode } = typeof spec === 'string' ? { content: spec, mode: 0o644 } : spec;
    await writeFile(file, content);
    await chmod(file, mode);
  }
  return root;
}

function bins(names: string[]): Tree {
  return Object.fromEntries(
    names.map((n) => [`opt/cni/bin/${n}`, { content: `#!/bin/sh\n# ${n}\n`, mode: 0o755 }]),
  );
}

/** A healthy vxlan node: flannel conflist, all plugins, subnet.env, two pods, real device text. */
function healthyTree(): Tree {
  return {
    'etc/cni/net.d/10-flannel.conflist': FLANNEL_CONFLIST,
    ...bins([...UPSTREAM_PLUGINS, 'flannel']),
    'run/flannel/subnet.env': SUBNET_ENV,
    'var/lib/cni/networks/cbr0/10.244.1.2': `${sandboxId(1)}\r\neth0`,
    'var/lib/cni/networks/cbr0/10.244.1.3': `${sandboxId(2)}\r\neth0`,
    'var/lib/cni/networks/cbr0/last_reserved_ip.0': '10.244.1.3',
    'var/lib/cni/networks/cbr0/lock': '',
    'var/run/netns/cni-1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901': '',
    'var/run/netns/cni-2b2c3d4e-5f60-7182-93a4-b5c6d7e8f902': '',
    '.sim/net/link': realLink,
    '.sim/net/addr': realAddr,
    'sys/class/net/lo': '',
    'sys/class/net/eth0': '',
    'sys/class/net/flannel.1': '',
    'sys/class/net/cni0': '',
  };
}

function runProbe(
  root: string,
  env: Record<string, string> = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      'sh',
      [SCRIPT],
      {
        env: {
          PATH: `${SIM_BIN}:${process.env.PATH}`,
          FLANNEL_OPS_SIM_NODE_ROOT: root,
          HOST_ROOT: root,
          SYS_CLASS_NET_DIR: join(root, 'sys/class/net'),
          NODE_NAME: 'node-1',
          ...env,
        },
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => (err ? reject(Object.assign(err, { stderr })) : resolve({ stdout, stderr })),
    );
  });
}

async function probe(root: string, env: Record<string, string> = {}): Promise<ProbeReport> {
  const { stdout, stderr } = await runProbe(root, env);
  expect(stderr).toBe('');
  expect(stdout.trim().split('\n')).toHaveLength(1);
  return parseProbeOutput(stdout);
}

describe('flannel-probe.sh', () => {
  it('reports a healthy node exactly', async () => {
    const root = await buildNode('healthy', healthyTree());
    const report = await probe(root);

    expect(report.node).toBe('node-1');
    expect(report.hostRoot).toBe(root);
    expect(report.cniConfigs).toHaveLength(1);
    expect(report.effectiveConfig).toMatchObject({
      file: '10-flannel.conflist',
      name: 'cbr0',
      cniVersion: '0.3.1',
      loadable: true,
      content: FLANNEL_CONFLIST,
      size: Buffer.byteLength(FLANNEL_CONFLIST),
      plugins: [
        { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
        { type: 'portmap' },
      ],
    });
    expect(report.cniBin.missing).toEqual([]);
    expect(report.cniBin.files.map((f) => f.name)).toEqual([
      'bandwidth',
      'bridge',
      'dhcp',
      'firewall',
      'flannel',
      'host-device',
      'host-local',
      'loopback',
      'portmap',
    ]);
    expect(report.cniBin.files.find((f) => f.name === 'flannel')).toEqual({
      name: 'flannel',
      type: 'file',
      symlink: false,
      size: '#!/bin/sh\n# flannel\n'.length,
      executable: true,
    });

    const devices = new Map(report.devices.map((d) => [d.name, d]));
    expect(devices.get('cni0')).toMatchObject({
      type: 'bridge',
      mtu: 1450,
      ipv4: [{ cidr: '10.244.1.1/24' }],
    });
    expect(devices.get('flannel.1')).toMatchObject({
      type: 'vxlan',
      mtu: 1450,
      ipv4: [{ cidr: '10.244.1.0/32' }],
      vxlan: { id: 1, dstport: 8472, local: '10.0.0.11', dev: 'eth0' },
    });
    expect(report.sysClassNet).toEqual(['cni0', 'eth0', 'flannel.1', 'lo']);

    expect(report.subnetEnv).toMatchObject({
      present: true,
      network: '10.244.0.0/16',
      subnet: '10.244.1.1/24',
      mtu: 1450,
      ipmasq: true,
    });
    expect(report.reservations).toEqual([
      { network: 'cbr0', ip: '10.244.1.2', containerId: sandboxId(1), ifname: 'eth0' },
      { network: 'cbr0', ip: '10.244.1.3', containerId: sandboxId(2), ifname: 'eth0' },
    ]);
    expect(report.ipam.networks).toEqual([
      expect.objectContaining({
        name: 'cbr0',
        lock: true,
        lastReserved: { '0': '10.244.1.3' },
        otherFiles: [],
      }),
    ]);
    expect(report.netns.entries).toEqual([
      'cni-1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901',
      'cni-2b2c3d4e-5f60-7182-93a4-b5c6d7e8f902',
    ]);
    expect(report.errors).toEqual([]);
  });

  it('reports a node without flannel at all', async () => {
    const loAndEth0Link = realLink.split('\n').slice(0, 2).join('\n') + '\n';
    const root = await buildNode('no-flannel', {
      ...bins(UPSTREAM_PLUGINS),
      '.sim/net/link': loAndEth0Link,
      '.sim/net/addr': realAddr.split('\n').slice(0, 2).join('\n') + '\n',
    });
    const report = await probe(root);
    expect(report.cniConf.exists).toBe(false);
    expect(report.cniConfigs).toEqual([]);
    expect(report.effectiveConfig).toBeNull();
    expect(report.cniBin.missing).toEqual(['flannel']);
    expect(report.subnetEnv).toMatchObject({ present: false, vars: {} });
    expect(report.ipam).toEqual({ dir: '/var/lib/cni/networks', exists: false, networks: [] });
    expect(report.netns).toEqual({ dir: '/var/run/netns', exists: false, entries: [] });
    expect(report.devices.map((d) => d.name)).toEqual(['lo']);
    expect(report.sysClassNet).toBeNull();
    expect(report.errors).toEqual([]);
  });

  it('lists all 253 reservations of a leaking /24 with their owners', async () => {
    const tree = healthyTree();
    for (let host = 2; host <= 254; host++) {
      tree[`var/lib/cni/networks/cbr0/10.244.1.${host}`] = `${sandboxId(host)}\r\neth0`;
    }
    tree['var/lib/cni/networks/cbr0/last_reserved_ip.0'] = '10.244.1.254';
    const root = await buildNode('ipam-leak', tree);
    const report = await probe(root);
    expect(report.reservations).toHaveLength(253);
    const byIp = new Map(report.reservations.map((r) => [r.ip, r]));
    for (let host = 2; host <= 254; host++) {
      expect(byIp.get(`10.244.1.${host}`)).toEqual({
        network: 'cbr0',
        ip: `10.244.1.${host}`,
        containerId: sandboxId(host),
        ifname: 'eth0',
      });
    }
    expect(report.ipam.networks[0]).toMatchObject({ lock: true, lastReserved: { '0': '10.244.1.254' } });
  });

  it('shows a stale cni0 whose address differs from FLANNEL_SUBNET', async () => {
    const root = await buildNode('stale-cni0', {
      ...healthyTree(),
      '.sim/net/addr': realAddr.replace('inet 10.244.1.1/24', 'inet 10.244.9.1/24'),
    });
    const report = await probe(root);
    const cni0 = report.devices.find((d) => d.name === 'cni0');
    expect(cni0?.ipv4).toEqual([{ address: '10.244.9.1', prefix: 24, cidr: '10.244.9.1/24' }]);
    expect(report.subnetEnv.subnet).toBe('10.244.1.1/24');
  });

  it('lists configs in the order the runtime reads them, a calico conflist first', async () => {
    const root = await buildNode('cni-conflict', {
      ...healthyTree(),
      'etc/cni/net.d/10-calico.conflist': CALICO_CONFLIST,
      'etc/cni/net.d/calico-kubeconfig': 'apiVersion: v1\nkind: Config\n',
      'etc/cni/net.d/99-loopback.conf': '{"cniVersion":"0.3.1","name":"lo","type":"loopback"}',
      'etc/cni/net.d/05-broken.conflist': '{"name":"x","plugins":[{"type":"bridge"}',
      'etc/cni/net.d/50-huge.conflist': `{"name":"huge","plugins":[${' '.repeat(70_000)}{"type":"bridge"}]}`,
    });
    const report = await probe(root);
    expect(report.cniConfigs.map((c) => [c.file, c.loadable])).toEqual([
      ['05-broken.conflist', false],
      ['10-calico.conflist', true],
      ['10-flannel.conflist', true],
      ['50-huge.conflist', false],
      ['99-loopback.conf', true],
    ]);
    const huge = report.cniConfigs.find((c) => c.file === '50-huge.conflist');
    expect(huge).toMatchObject({
      truncated: true,
      size: 70_045,
      problem: 'larger than the probe reads (70045 bytes)',
    });
    expect(huge?.content).toHaveLength(65536);
    expect(report.effectiveConfig).toMatchObject({
      file: '10-calico.conflist',
      name: 'k8s-pod-network',
      plugins: [{ type: 'calico' }, { type: 'portmap' }],
    });
    expect(report.cniConf.otherEntries).toEqual(['calico-kubeconfig']);
  });

  it('reports a missing subnet.env while the run dir exists', async () => {
    const tree = healthyTree();
    delete tree['run/flannel/subnet.env'];
    const root = await buildNode('subnet-env-missing', tree, ['run/flannel']);
    const report = await probe(root);
    expect(report.subnetEnv).toEqual({
      path: '/run/flannel/subnet.env',
      present: false,
      readable: false,
      vars: {},
      otherLines: [],
    });
  });

  it('names a missing bridge binary and a non-executable portmap', async () => {
    const tree = healthyTree();
    delete tree['opt/cni/bin/bridge'];
    tree['opt/cni/bin/portmap'] = { content: 'not executable', mode: 0o644 };
    const root = await buildNode('plugin-missing', tree);
    const report = await probe(root);
    expect(report.cniBin.missing).toEqual(['bridge', 'portmap']);
    expect(report.cniBin.files.find((f) => f.name === 'portmap')).toMatchObject({
      executable: false,
      size: 14,
    });
  });

  it('escapes \\r\\n reservation files, odd names and odd config text correctly', async () => {
    const weirdConf =
      '{"name":"cbr0","cniVersion":"0.3.1",\r\n"plugins":[{"type":"flannel","note":"tab\\there \\"q\\" \\\\ é"}]}';
    const root = await buildNode('odd-names', {
      ...healthyTree(),
      'etc/cni/net.d/10-flannel.conflist': weirdConf,
      'var/lib/cni/networks/cbr0/10.244.1.7': `${sandboxId(7)}\r\neth0\r\n`,
      'var/lib/cni/networks/cbr0/10.244.1.8': `${sandboxId(8)}`,
      'var/lib/cni/networks/cbr0/we"ird\\name': 'quote"back\\slash\ttab\r\nline2',
      'var/lib/cni/networks/cbr0/ leading space': 'x',
      'var/lib/cni/networks/cbr0/.hidden': 'y',
      'var/lib/cni/networks/cbr0/new\nline': 'z',
      'var/lib/cni/networks/cbr0/last_reserved_ip.1': '10.244.1.8\r\n',
      'var/run/netns/cni-odd "ns"\t1': '',
    });
    await mkdir(join(root, 'var/lib/cni/networks/cbr0/subdir'));
    await mkdir(join(root, 'var/lib/cni/networks/other-net'));
    const { stdout } = await runProbe(root);
    const raw = JSON.parse(stdout) as {
      ipam: { networks: Array<{ name: string; files: Array<{ name: string; lines: string[] }> }> };
    };
    const cbr0Files = raw.ipam.networks.find((n) => n.name === 'cbr0')!.files;
    expect(cbr0Files.map((f) => f.name)).toEqual([
      ' leading space',
      '.hidden',
      '10.244.1.2',
      '10.244.1.3',
      '10.244.1.7',
      '10.244.1.8',
      'last_reserved_ip.0',
      'last_reserved_ip.1',
      'new\nline',
      'we"ird\\name',
    ]);
    expect(cbr0Files.find((f) => f.name === 'we"ird\\name')?.lines).toEqual([
      'quote"back\\slash\ttab\r',
      'line2',
    ]);

    const report = parseProbeOutput(stdout);
    expect(report.effectiveConfig?.content).toBe(weirdConf);
    expect(report.effectiveConfig?.plugins).toEqual([{ type: 'flannel' }]);
    expect(report.reservations.filter((r) => r.network === 'cbr0')).toEqual([
      { network: 'cbr0', ip: '10.244.1.2', containerId: sandboxId(1), ifname: 'eth0' },
      { network: 'cbr0', ip: '10.244.1.3', containerId: sandboxId(2), ifname: 'eth0' },
      { network: 'cbr0', ip: '10.244.1.7', containerId: sandboxId(7), ifname: 'eth0' },
      { network: 'cbr0', ip: '10.244.1.8', containerId: sandboxId(8) },
    ]);
    const cbr0 = report.ipam.networks.find((n) => n.name === 'cbr0')!;
    expect(cbr0.lastReserved).toEqual({ '0': '10.244.1.3', '1': '10.244.1.8' });
    expect(cbr0.otherFiles).toEqual([' leading space', '.hidden', 'new\nline', 'we"ird\\name']);
    expect(cbr0.otherEntries).toEqual(['subdir']);
    expect(report.ipam.networks.map((n) => [n.name, n.lock, n.reservations.length])).toEqual([
      ['cbr0', true, 4],
      ['other-net', false, 0],
    ]);
    expect(report.netns.entries).toContain('cni-odd "ns"\t1');
  });

  it('keeps going when a command fails, listing the error', async () => {
    const root = await buildNode('ip-broken', healthyTree());
    const report = await probe(root, { FLANNEL_OPS_SIM_NODE_ROOT: '' });
    expect(report.devices).toEqual([]);
    expect(report.errors).toEqual([
      expect.stringMatching(/^addresses: 'ip -o addr show' failed \(exit \d+\): .*FLANNEL_OPS_SIM_NODE_ROOT/),
      expect.stringMatching(/^links: 'ip link show' failed \(exit \d+\): .*FLANNEL_OPS_SIM_NODE_ROOT/),
      expect.stringMatching(/^routes: 'ip -4 route show' failed \(exit \d+\): .*FLANNEL_OPS_SIM_NODE_ROOT/),
    ]);
    expect(report.routes).toBeNull();
    expect(report.effectiveConfig?.name).toBe('cbr0');
    expect(report.reservations).toHaveLength(2);
  });

  it('never modifies the host tree', async () => {
    const root = await buildNode('read-only-check', healthyTree());
    const before = await snapshot(root);
    await probe(root);
    expect(await snapshot(root)).toEqual(before);
  });
});

async function snapshot(root: string): Promise<Record<string, string>> {
  const { readdir, stat } = await import('node:fs/promises');
  const out: Record<string, string> = {};
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const info = await stat(path);
      if (entry.isDirectory()) {
        out[path] = `dir ${info.mode}`;
        await walk(path);
      } else {
        out[path] = `${info.mode} ${info.mtimeMs} ${(await readFile(path)).toString('base64')}`;
      }
    }
  };
  await walk(root);
  return out;
}
