import { afterAll, beforeEach, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeSchema, type Runtime } from '../../src/sim/kube/scenario/schema.js';
import { NodeHost } from '../../src/sim/kube/host/node-host.js';
import { goJsonError, planCniAdd, selectConfig, type HostView } from '../../src/sim/kube/host/cni-plan.js';
import { pluginBinaryStub } from '../../src/sim/kube/host/cni-versions.js';
import { podSandboxId } from '../../src/sim/kube/host/ids.js';
import { brokenSandboxMessage, sandboxFailureMessage } from '../../src/sim/kube/host/sandbox-message.js';

const IP_STUB = fileURLToPath(new URL('../../src/sim/kube/host/bin/ip', import.meta.url));

const FLANNEL_CONFLIST = JSON.stringify(
  {
    name: 'cbr0',
    cniVersion: '0.3.1',
    plugins: [
      { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  },
  null,
  2,
);
const CONTAINERD_CONFLIST = JSON.stringify({
  cniVersion: '1.0.0',
  name: 'containerd-net',
  plugins: [
    {
      type: 'bridge',
      bridge: 'cni0',
      isGateway: true,
      ipMasq: true,
      promiscMode: true,
      ipam: {
        type: 'host-local',
        ranges: [[{ subnet: '10.88.0.0/16' }], [{ subnet: '2001:4860:4860::/64' }]],
        routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }],
      },
    },
    { type: 'portmap', capabilities: { portMappings: true } },
  ],
});
const CALICO_CONFLIST = JSON.stringify({
  name: 'k8s-pod-network',
  cniVersion: '0.3.1',
  plugins: [
    { type: 'calico', datastore_type: 'kubernetes', ipam: { type: 'calico-ipam' } },
    { type: 'portmap', snat: true, capabilities: { portMappings: true } },
  ],
});
const SUBNET_ENV =
  'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n';
const ALL_BINARIES = {
  flannel: 'v1.9.1-flannel3',
  bridge: 'v1.9.1',
  'host-local': 'v1.9.1',
  portmap: 'v1.9.1',
  loopback: 'v1.9.1',
};

const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-node-host-test-'));
afterAll(() => fs.rmSync(baseDir, { recursive: true, force: true }));

let counter = 0;
function sandbox(name = `web-${counter}`) {
  counter += 1;
  return {
    sandboxId: podSandboxId('shop', name, counter),
    podName: name,
    namespace: 'shop',
    podUid: `uid-${counter}`,
  };
}

interface HostOpts {
  runtime?: Runtime;
  files?: Record<string, string>;
  binaries?: Record<string, string>;
  devices?: unknown[];
}

/** A worker whose Flannel is up (conflist, binaries, subnet.env), but no pod has run yet (no cni0). */
function makeHost(opts: HostOpts = {}): NodeHost {
  counter += 1;
  const node = nodeSchema.parse({
    name: `node-${counter}`,
    internalIP: '192.168.56.11',
    podCIDR: '10.244.1.0/24',
    runtime: opts.runtime ?? 'containerd',
    host: {
      cniBinaries: opts.binaries ?? ALL_BINARIES,
      files: opts.files ?? {
        '/etc/cni/net.d/10-flannel.conflist': FLANNEL_CONFLIST,
        '/run/flannel/subnet.env': SUBNET_ENV,
      },
      devices: opts.devices ?? [],
    },
  });
  return NodeHost.create(baseDir, node);
}

function failure(result: ReturnType<NodeHost['cniAdd']>): string {
  if (result.ok) throw new Error(`expected a failure, got IP ${result.ip}`);
  return result.pluginError;
}

function ip(host: NodeHost, ...args: string[]): string {
  return execFileSync('sh', [IP_STUB, ...args], {
    env: { ...process.env, FLANNEL_OPS_SIM_NODE_ROOT: host.root },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe('NodeHost tree', () => {
  it('materialises the scenario node under <baseDir>/nodes/<name> with /var/run -> /run', () => {
    const host = makeHost();
    expect(host.root).toBe(path.join(baseDir, 'nodes', host.name));
    expect(host.readFile('/etc/cni/net.d/10-flannel.conflist')).toBe(FLANNEL_CONFLIST);
    expect(host.list('/opt/cni/bin')).toEqual(['bridge', 'flannel', 'host-local', 'loopback', 'portmap']);
    expect(fs.statSync(host.hostPath('/opt/cni/bin/flannel')).mode & 0o777).toBe(0o755);
    host.writeFile('/var/run/netns/cni-test', '');
    expect(host.exists('/run/netns/cni-test')).toBe(true);
    expect(() => host.readFile('/../../etc/passwd')).not.toThrow();
    expect(host.readFile('/../../etc/passwd')).toBeUndefined();
  });

  it('prints its devices through the ip stand-in (lo and eth0 by default)', () => {
    const host = makeHost();
    expect(ip(host, '-o', '-4', 'addr', 'show')).toContain(
      '2: eth0    inet 192.168.56.11/24 brd 192.168.56.255 scope global eth0',
    );
    host.setDevice({
      name: 'flannel.1',
      type: 'vxlan',
      mtu: 1450,
      addresses: ['10.244.1.0/32'],
      vxlan: { vni: 1, port: 8472, local: '192.168.56.11', dev: 'eth0' },
    });
    const link = ip(host, '-d', 'link', 'show', 'flannel.1');
    expect(link).toMatch(/^3: flannel\.1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 /);
    expect(link).toContain('vxlan id 1 local 192.168.56.11 dev eth0 srcport 0 0 dstport 8472 nolearning');
    host.removeDevice('flannel.1');
    expect(() => ip(host, 'link', 'show', 'flannel.1')).toThrow();
  });
});

describe('NodeHost.cniAdd on a healthy Flannel node', () => {
  it('creates cni0 with the FLANNEL_SUBNET gateway on the first ADD and reserves the next IP', () => {
    const host = makeHost();
    expect(host.device('cni0')).toBeUndefined();
    const req = sandbox();
    const result = host.cniAdd(req);
    expect(result).toMatchObject({ ok: true, ip: '10.244.1.2', network: 'cbr0' });
    expect(host.device('cni0')).toMatchObject({ type: 'bridge', mtu: 1450, addresses: ['10.244.1.1/24'] });
    expect(ip(host, '-4', 'addr', 'show', 'cni0')).toContain(
      'inet 10.244.1.1/24 brd 10.244.1.255 scope global cni0',
    );
    expect(host.readFile('/var/lib/cni/networks/cbr0/10.244.1.2')).toBe(`${req.sandboxId}\r\neth0`);
    expect(host.readFile('/var/lib/cni/networks/cbr0/last_reserved_ip.0')).toBe('10.244.1.2');
    expect(host.exists('/var/lib/cni/networks/cbr0/lock')).toBe(true);
    const netns = host.list('/var/run/netns');
    expect(netns).toHaveLength(1);
    expect(netns[0]).toMatch(/^cni-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(host.exists(`/var/lib/cni/flannel/${req.sandboxId}`)).toBe(true);
    expect(host.devices().filter((d) => d.type === 'veth' && d.master === 'cni0')).toHaveLength(1);
  });

  it('hands out IPs round-robin after last_reserved_ip.0 and releases them on DEL', () => {
    const host = makeHost();
    const a = sandbox();
    const b = sandbox();
    expect(host.cniAdd(a)).toMatchObject({ ip: '10.244.1.2' });
    expect(host.cniAdd(b)).toMatchObject({ ip: '10.244.1.3' });
    host.cniDel(a.sandboxId);
    expect(host.exists('/var/lib/cni/networks/cbr0/10.244.1.2')).toBe(false);
    expect(host.list('/var/run/netns')).toHaveLength(1);
    expect(host.exists(`/var/lib/cni/flannel/${a.sandboxId}`)).toBe(false);
    // The freed .2 is not reused until the cursor wraps around.
    expect(host.cniAdd(sandbox())).toMatchObject({ ip: '10.244.1.4' });
    host.cniDel(b.sandboxId);
    host.cniDel(b.sandboxId); // idempotent
    expect(host.list('/var/lib/cni/networks/cbr0')).toEqual(['10.244.1.4', 'last_reserved_ip.0', 'lock']);
  });

  it('exhausts a /24 after 253 ADDs with the current host-local wording, and recovers after a DEL', () => {
    const host = makeHost();
    const added = [];
    for (let n = 0; n < 253; n++) {
      const req = sandbox();
      const result = host.cniAdd(req);
      expect(result.ok).toBe(true);
      added.push(req);
    }
    expect(failure(host.cniAdd(sandbox()))).toBe(
      'failed to allocate for range 0: no IP addresses available in range set: 10.244.1.1-10.244.1.254',
    );
    host.cniDel(added[100].sandboxId);
    expect(host.cniAdd(sandbox())).toMatchObject({ ok: true, ip: '10.244.1.102' });
  });

  it('uses the legacy wording with an old host-local binary and keeps the delegate prefix with an old flannel plugin', () => {
    const host = makeHost({
      binaries: { ...ALL_BINARIES, flannel: 'v1.0.1', 'host-local': 'v0.5.2' },
      files: {
        '/etc/cni/net.d/10-flannel.conflist': FLANNEL_CONFLIST,
        '/run/flannel/subnet.env': SUBNET_ENV.replace('10.244.1.1/24', '10.244.1.1/30'),
      },
    });
    expect(host.cniAdd(sandbox())).toMatchObject({ ok: true, ip: '10.244.1.2' });
    const req = sandbox();
    expect(failure(host.cniAdd(req))).toBe(
      'failed to delegate add: no IP addresses available in network: cbr0',
    );
    expect(host.readFile('/var/lib/cni/networks/cbr0/10.244.1.2')).not.toContain('\r\n');
  });
});

describe('NodeHost.cniAdd failure classes and healing', () => {
  it('no config: not ready with the runtime text; healing by installing the conflist', () => {
    const cases: Array<[Runtime, string, string]> = [
      [
        'containerd',
        'cni plugin not initialized',
        'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized',
      ],
      [
        'dockershim',
        'cni config uninitialized',
        'runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:docker: network plugin is not ready: cni config uninitialized',
      ],
    ];
    for (const [runtime, error, condition] of cases) {
      const host = makeHost({ runtime, files: { '/run/flannel/subnet.env': SUBNET_ENV } });
      expect(host.networkReady()).toEqual({ ready: false, message: condition });
      expect(failure(host.cniAdd(sandbox()))).toBe(error);
      host.writeFile('/etc/cni/net.d/10-flannel.conflist', FLANNEL_CONFLIST);
      expect(host.networkReady()).toEqual({ ready: true });
      expect(host.cniAdd(sandbox())).toMatchObject({ ok: true, ip: '10.244.1.2' });
    }
  });

  it('a corrupt conflist is a load error naming the file', () => {
    const host = makeHost({
      files: {
        '/etc/cni/net.d/10-flannel.conflist': '{\n  "name": "cbr0",\n  plugins: []\n}',
        '/run/flannel/subnet.env': SUBNET_ENV,
      },
    });
    expect(failure(host.cniAdd(sandbox()))).toBe(
      "failed to load CNI config list file /etc/cni/net.d/10-flannel.conflist: error parsing configuration list: invalid character 'p' looking for beginning of object key string",
    );
    expect(host.networkReady().ready).toBe(false);
  });

  it('the lexicographically first config wins: containerd-net gives 10.88.x.x (and IPv6) IPs without error', () => {
    const host = makeHost({
      files: {
        '/etc/cni/net.d/10-containerd-net.conflist': CONTAINERD_CONFLIST,
        '/etc/cni/net.d/10-flannel.conflist': FLANNEL_CONFLIST,
        '/run/flannel/subnet.env': SUBNET_ENV,
      },
    });
    // containerd's sample config has two range sets (IPv4 and IPv6): one address from each.
    expect(host.cniAdd(sandbox())).toMatchObject({
      ok: true,
      ip: '10.88.0.2',
      ips: ['10.88.0.2', '2001:4860:4860::2'],
      network: 'containerd-net',
    });
    expect(host.device('cni0')?.addresses).toEqual(['10.88.0.1/16', '2001:4860:4860::1/64']);
    expect(host.exists('/var/lib/cni/networks/containerd-net/10.88.0.2')).toBe(true);
    expect(host.exists('/var/lib/cni/networks/containerd-net/2001:4860:4860::2')).toBe(true);
    expect(host.readFile('/var/lib/cni/networks/containerd-net/last_reserved_ip.1')).toBe(
      '2001:4860:4860::2',
    );
  });

  it('a leftover calico config first: the calico plugin is missing; removing the file heals the node', () => {
    const host = makeHost({
      files: {
        '/etc/cni/net.d/10-calico.conflist': CALICO_CONFLIST,
        '/etc/cni/net.d/10-flannel.conflist': FLANNEL_CONFLIST,
        '/run/flannel/subnet.env': SUBNET_ENV,
      },
    });
    const result = host.cniAdd(sandbox());
    expect(result).toEqual({
      ok: false,
      pluginError: 'failed to find plugin "calico" in path [/opt/cni/bin]',
      pluginType: 'calico',
      network: 'k8s-pod-network',
    });
    host.remove('/etc/cni/net.d/10-calico.conflist');
    expect(host.cniAdd(sandbox())).toMatchObject({ ok: true, ip: '10.244.1.2', network: 'cbr0' });
  });

  it('dockershim skips configs whose plugins are missing (kubelet validates them)', () => {
    const host = makeHost({
      runtime: 'dockershim',
      files: {
        '/etc/cni/net.d/10-calico.conflist': CALICO_CONFLIST,
        '/etc/cni/net.d/10-flannel.conflist': FLANNEL_CONFLIST,
        '/run/flannel/subnet.env': SUBNET_ENV,
      },
    });
    expect(host.cniAdd(sandbox())).toMatchObject({ ok: true, network: 'cbr0' });
  });

  it('missing plugin binaries, each with its wording; installing the binary heals', () => {
    const cases: Array<[string, string, string]> = [
      ['flannel', 'failed to find plugin "flannel" in path [/opt/cni/bin]', 'flannel'],
      ['bridge', 'failed to delegate add: failed to find plugin "bridge" in path [/opt/cni/bin]', 'flannel'],
      ['host-local', 'failed to find plugin "host-local" in path [/opt/cni/bin]', 'flannel'],
      ['portmap', 'failed to find plugin "portmap" in path [/opt/cni/bin]', 'portmap'],
    ];
    for (const [missing, error, pluginType] of cases) {
      const binaries = { ...ALL_BINARIES } as Record<string, string>;
      delete binaries[missing];
      const host = makeHost({ binaries });
      expect(host.cniAdd(sandbox())).toMatchObject({ ok: false, pluginError: error, pluginType });
      // A failed ADD leaves no reservation and no netns behind (the runtime tears down).
      expect(host.list('/var/lib/cni/networks/cbr0').filter((f) => /^\d/.test(f))).toEqual([]);
      expect(host.list('/var/run/netns')).toEqual([]);
      host.writeFile(`/opt/cni/bin/${missing}`, pluginBinaryStub(missing, 'v1.9.1'), 0o755);
      expect(host.cniAdd(sandbox())).toMatchObject({ ok: true, ip: '10.244.1.2' });
    }
  });

  it('older flannel plugins keep "failed to delegate add: " before the delegate errors', () => {
    const binaries = { ...ALL_BINARIES, flannel: 'v1.4.1-flannel1' } as Record<string, string>;
    delete binaries['host-local'];
    const host = makeHost({ binaries });
    expect(failure(host.cniAdd(sandbox()))).toBe(
      'failed to delegate add: failed to find plugin "host-local" in path [/opt/cni/bin]',
    );
  });

  it('subnet.env missing: three plugin generations; incomplete: the missing keys; writing it heals', () => {
    const cases: Array<[string, string]> = [
      ['v1.0.1', 'open /run/flannel/subnet.env: no such file or directory'],
      [
        'v1.6.2-flannel1',
        'loadFlannelSubnetEnv failed: open /run/flannel/subnet.env: no such file or directory',
      ],
      [
        'v1.9.1-flannel3',
        "failed to load flannel 'subnet.env' file: open /run/flannel/subnet.env: no such file or directory. Check the flannel pod log for this node.",
      ],
    ];
    for (const [version, error] of cases) {
      const host = makeHost({
        binaries: { ...ALL_BINARIES, flannel: version },
        files: { '/etc/cni/net.d/10-flannel.conflist': FLANNEL_CONFLIST },
      });
      expect(host.cniAdd(sandbox())).toMatchObject({
        ok: false,
        pluginError: error,
        pluginType: 'flannel',
        network: 'cbr0',
      });
      host.writeFile('/run/flannel/subnet.env', 'FLANNEL_MTU=1450\n');
      expect(failure(host.cniAdd(sandbox()))).toContain(
        '/run/flannel/subnet.env is missing FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK, FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET, FLANNEL_IPMASQ',
      );
      host.writeFile('/run/flannel/subnet.env', SUBNET_ENV);
      expect(host.cniAdd(sandbox())).toMatchObject({ ok: true, ip: '10.244.1.2' });
    }
  });

  it('a stale cni0 address gives error D without leaking; deleting cni0 heals and recreates it', () => {
    const host = makeHost({
      devices: [{ name: 'cni0', type: 'bridge', mtu: 1450, addresses: ['10.244.9.1/24'] }],
    });
    expect(failure(host.cniAdd(sandbox()))).toBe(
      'failed to set bridge addr: "cni0" already has an IP address different from 10.244.1.1/24',
    );
    expect(host.list('/var/lib/cni/networks/cbr0').filter((f) => /^\d/.test(f))).toEqual([]);
    expect(host.list('/var/run/netns')).toEqual([]);
    host.removeDevice('cni0');
    expect(host.cniAdd(sandbox())).toMatchObject({ ok: true, ip: '10.244.1.2' });
    expect(host.device('cni0')?.addresses).toEqual(['10.244.1.1/24']);
  });
});

describe('pure CNI planning', () => {
  const view = (files: Record<string, string>, runtime: Runtime = 'containerd'): HostView => ({
    runtime,
    devices: [],
    readFile: (p) => files[p],
    list: (dir) =>
      [
        ...new Set(
          Object.keys(files)
            .filter((p) => p.startsWith(dir + '/'))
            .map((p) => p.slice(dir.length + 1).split('/')[0]),
        ),
      ].sort(),
  });

  it('ignores files without a CNI config extension and picks the first by name', () => {
    const v = view({
      '/etc/cni/net.d/calico-kubeconfig': 'not json',
      '/etc/cni/net.d/99-loopback.conf': JSON.stringify({
        cniVersion: '0.3.1',
        name: 'lo',
        type: 'loopback',
      }),
      '/etc/cni/net.d/10-flannel.conflist': FLANNEL_CONFLIST,
    });
    const selected = selectConfig(v);
    expect(selected.kind === 'ok' && selected.list.file).toBe('10-flannel.conflist');
  });

  it('words JSON syntax errors like Go', () => {
    expect(goJsonError('{"a": 1}')).toBeUndefined();
    expect(goJsonError('{"a": 1')).toBe('unexpected end of JSON input');
    expect(goJsonError('{"a": 1,}')).toBe("invalid character '}' looking for beginning of object key string");
    expect(goJsonError('xyz')).toBe("invalid character 'x' looking for beginning of value");
    expect(goJsonError('{"a" 1}')).toBe("invalid character '1' after object key");
    expect(goJsonError('[1 2]')).toBe("invalid character '2' after array element");
  });

  it('plans nothing durable for a failed ADD without a bridge to create', () => {
    const v = view({
      '/etc/cni/net.d/10-flannel.conflist': FLANNEL_CONFLIST,
      '/opt/cni/bin/flannel': 'v1.9.1-flannel3',
    });
    const plan = planCniAdd(v, sandbox(), { netns: 'cni-x', veth: 'vethx', mac: '02:00:00:00:00:02' });
    expect(plan.result.ok).toBe(false);
    expect(plan.effects).toEqual([]);
  });
});

describe('runtime wrappers (domain/flannel.md §1.2, §7)', () => {
  const fixtureId = '566461a584386191b1cc4dcc05193d30f7120f467ab2c694e2811eda1db34247';
  const exhaustion =
    'failed to allocate for range 0: no IP addresses available in range set: 10.244.1.1-10.244.1.254';

  it('containerd >= 1.6 names the failing plugin type', () => {
    expect(
      sandboxFailureMessage(
        'containerd',
        { sandboxId: fixtureId, podName: 'web', namespace: 'default', podUid: 'u' },
        exhaustion,
      ),
    ).toBe(
      `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "${fixtureId}": plugin type="flannel" failed (add): ${exhaustion}`,
    );
    expect(
      sandboxFailureMessage(
        'containerd',
        { sandboxId: fixtureId, podName: 'web', namespace: 'default', podUid: 'u' },
        'failed to find plugin "calico" in path [/opt/cni/bin]',
        { pluginType: 'calico', network: 'k8s-pod-network' },
      ),
    ).toContain('plugin type="calico" failed (add): failed to find plugin "calico"');
  });

  it('containerd <= 1.5 has no plugin type part', () => {
    expect(
      sandboxFailureMessage(
        'containerd-1.5',
        { sandboxId: fixtureId, podName: 'web', namespace: 'default', podUid: 'u' },
        exhaustion,
      ),
    ).toBe(
      `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "${fixtureId}": ${exhaustion}`,
    );
  });

  it('dockershim matches the §7 fixture', () => {
    const ctx = {
      sandboxId: 'cff2bad94b2e...',
      podName: 'web-7cb9ccb4f5-cwcs7',
      namespace: 'default',
      podUid: 'u',
    };
    expect(sandboxFailureMessage('dockershim', ctx, exhaustion)).toBe(
      `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to set up sandbox container "cff2bad94b2e..." network for pod "web-7cb9ccb4f5-cwcs7": networkPlugin cni failed to set up pod "web-7cb9ccb4f5-cwcs7_default" network: ${exhaustion}`,
    );
  });

  it('CRI-O matches the §7 fixture', () => {
    const ctx = {
      sandboxId: 'a1e1f9e2...',
      podName: 'coredns-7c65d6cfc9-prlbd',
      namespace: 'kube-system',
      podUid: '335070f1-cc11-4569-bf97-e2ba7d480ee2',
    };
    expect(
      sandboxFailureMessage(
        'cri-o',
        ctx,
        'loadFlannelSubnetEnv failed: open /run/flannel/subnet.env: no such file or directory',
      ),
    ).toBe(
      'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to create pod network sandbox k8s_coredns-7c65d6cfc9-prlbd_kube-system_335070f1-cc11-4569-bf97-e2ba7d480ee2_0(a1e1f9e2...): error adding pod kube-system_coredns-7c65d6cfc9-prlbd to CNI network "cbr0": plugin type="flannel" failed (add): loadFlannelSubnetEnv failed: open /run/flannel/subnet.env: no such file or directory',
    );
  });

  it('scenario overrides: a full message template or a replacement plugin error', () => {
    const scenario = {
      failure: {
        sandbox: [
          { pluginError: 'no IP addresses available in network: cni0' },
          { nodes: ['worker-1'], message: 'failed for "{{pod}}_{{namespace}}" in {{sandboxId}} on {{node}}' },
        ],
      },
    };
    const ctx = { sandboxId: 'abc', podName: 'web-1', namespace: 'shop', podUid: 'u' };
    expect(brokenSandboxMessage(scenario, { name: 'worker-1', runtime: 'dockershim' }, ctx, 'ignored')).toBe(
      'failed for "web-1_shop" in abc on worker-1',
    );
    expect(brokenSandboxMessage(scenario, { name: 'worker-2', runtime: 'containerd' }, ctx, 'ignored')).toBe(
      'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "abc": plugin type="flannel" failed (add): no IP addresses available in network: cni0',
    );
    expect(
      brokenSandboxMessage(
        { failure: { sandbox: [] } },
        { name: 'w', runtime: 'containerd-1.5' },
        ctx,
        'boom',
      ),
    ).toBe(
      'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "abc": boom',
    );
  });
});

beforeEach(() => {
  counter += 1;
});
