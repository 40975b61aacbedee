import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import {
  parseAddrLines,
  parseDevices,
  parseLinkLines,
  parseProbeOutput,
  ProbeOutputError,
  type ProbeOutput,
} from '../../src/checks/probe/schema.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/probe/${name}`, import.meta.url), 'utf8')
    .replace(/\n$/, '')
    .split('\n');

const FLANNEL_CONFLIST = `{
  "name": "cbr0",
  "cniVersion": "0.3.1",
  "plugins": [
    { "type": "flannel", "delegate": { "hairpinMode": true, "isDefaultGateway": true } },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
`;

const SANDBOX_A = '566461a584386191b1cc4dcc05193d30f7120f467ab2c694e2811eda1db34247';
const SANDBOX_B = '27160a7396731fab0b66773efde66e8b570f33d3aeb64967bdc12b0726d40cee';

function conf(name: string, content: string) {
  return { name, size: Buffer.byteLength(content), readable: true, truncated: false, content };
}

/** What flannel-probe.sh prints for a healthy vxlan node (the shape, with real iproute2 text). */
function healthyOutput(): ProbeOutput {
  return {
    probeVersion: 1,
    node: 'node-1',
    time: '2025-01-01T00:00:00Z',
    hostRoot: '/host',
    cniConf: {
      dir: '/host/etc/cni/net.d',
      exists: true,
      files: [conf('10-flannel.conflist', FLANNEL_CONFLIST)],
      otherEntries: [],
    },
    cniBin: {
      dir: '/host/opt/cni/bin',
      exists: true,
      files: ['bandwidth', 'bridge', 'flannel', 'host-local', 'loopback', 'portmap'].map((name) => ({
        name,
        type: 'file' as const,
        symlink: false,
        size: 4_000_000,
        executable: true,
      })),
      required: { flannel: true, bridge: true, 'host-local': true, portmap: true, loopback: true },
    },
    net: {
      addr: { command: 'ip -o addr show', exitCode: 0, lines: fixture('ip-o-addr-show.txt') },
      link: { command: 'ip -d link show', exitCode: 0, lines: fixture('ip-d-link-show.txt') },
      sysClassNet: { dir: '/sys/class/net', readable: true, names: ['cni0', 'eth0', 'flannel.1', 'lo'] },
    },
    subnetEnv: {
      path: '/host/run/flannel/subnet.env',
      present: true,
      readable: true,
      entries: [
        { key: 'FLANNEL_NETWORK', value: '10.244.0.0/16' },
        { key: 'FLANNEL_SUBNET', value: '10.244.1.1/24' },
        { key: 'FLANNEL_MTU', value: '1450' },
        { key: 'FLANNEL_IPMASQ', value: 'true' },
      ],
      otherLines: [],
    },
    ipam: {
      dir: '/host/var/lib/cni/networks',
      exists: true,
      networks: [
        {
          name: 'cbr0',
          readable: true,
          lock: true,
          files: [
            { name: '10.244.1.2', lines: [`${SANDBOX_A}\r`, 'eth0'] },
            { name: '10.244.1.3', lines: [SANDBOX_B] },
            { name: 'last_reserved_ip.0', lines: ['10.244.1.3'] },
          ],
          otherEntries: [],
        },
      ],
      otherEntries: [],
    },
    netns: {
      dir: '/host/var/run/netns',
      exists: true,
      entries: ['cni-1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901'],
    },
    errors: [],
  };
}

const parse = (out: unknown) => parseProbeOutput(JSON.stringify(out));

describe('parseProbeOutput on a healthy node', () => {
  const report = parse(healthyOutput());

  it('takes the flannel conflist as the effective config, with its delegate', () => {
    expect(report.effectiveConfig).toMatchObject({
      file: '10-flannel.conflist',
      format: 'conflist',
      loadable: true,
      name: 'cbr0',
      cniVersion: '0.3.1',
      plugins: [
        { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
        { type: 'portmap' },
      ],
    });
    expect(report.effectiveConfig?.plugins[1].delegate).toBeUndefined();
  });

  it('parses devices from real iproute2 text', () => {
    const byName = new Map(report.devices.map((d) => [d.name, d]));
    expect(byName.get('flannel.1')).toMatchObject({
      type: 'vxlan',
      mtu: 1450,
      state: 'UNKNOWN',
      mac: '7e:8a:a8:cf:26:d0',
      ipv4: [{ address: '10.244.1.0', prefix: 32, cidr: '10.244.1.0/32' }],
      vxlan: { id: 1, dstport: 8472, local: '10.0.0.11', dev: 'eth0', learning: false },
    });
    expect(byName.get('cni0')).toMatchObject({
      type: 'bridge',
      mtu: 1450,
      ipv4: [{ address: '10.244.1.1', prefix: 24, cidr: '10.244.1.1/24' }],
    });
    expect(byName.get('veth6e3c7d6b')).toMatchObject({
      type: 'veth',
      master: 'cni0',
      peer: 'eth1',
      ipv4: [],
    });
    expect(byName.get('lo')).toMatchObject({
      type: 'loopback',
      ipv4: [{ cidr: '127.0.0.1/8' }],
      ipv6: ['::1/128'],
    });
    expect(byName.get('eth0')?.ipv4).toEqual([{ address: '10.0.0.11', prefix: 24, cidr: '10.0.0.11/24' }]);
    expect(report.devices.map((d) => d.index)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('parses subnet.env', () => {
    expect(report.subnetEnv).toMatchObject({
      present: true,
      network: '10.244.0.0/16',
      subnet: '10.244.1.1/24',
      mtu: 1450,
      ipmasq: true,
    });
  });

  it('turns reservation files into (ip, containerId, ifname, network) and keeps the cursor apart', () => {
    expect(report.reservations).toEqual([
      { network: 'cbr0', ip: '10.244.1.2', containerId: SANDBOX_A, ifname: 'eth0' },
      { network: 'cbr0', ip: '10.244.1.3', containerId: SANDBOX_B },
    ]);
    expect(report.ipam.networks[0]).toMatchObject({
      lock: true,
      lastReserved: { '0': '10.244.1.3' },
      otherFiles: [],
    });
  });

  it('reports no missing plugins, the netns entries and sysfs names', () => {
    expect(report.cniBin.missing).toEqual([]);
    expect(report.netns.entries).toEqual(['cni-1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901']);
    expect(report.sysClassNet).toEqual(['cni0', 'eth0', 'flannel.1', 'lo']);
    expect(report.errors).toEqual([]);
  });
});

describe('parseProbeOutput on broken nodes', () => {
  it('lets a calico conflist that sorts first win', () => {
    const out = healthyOutput();
    const calico = JSON.stringify({
      name: 'k8s-pod-network',
      cniVersion: '0.3.1',
      plugins: [
        { type: 'calico', ipam: { type: 'calico-ipam' } },
        { type: 'bandwidth' },
        { type: 'portmap' },
      ],
    });
    out.cniConf.files.unshift(conf('10-calico.conflist', calico));
    const report = parse(out);
    expect(report.cniConfigs.map((c) => c.file)).toEqual(['10-calico.conflist', '10-flannel.conflist']);
    expect(report.effectiveConfig?.name).toBe('k8s-pod-network');
    expect(report.effectiveConfig?.plugins.map((p) => p.type)).toEqual(['calico', 'bandwidth', 'portmap']);
  });

  it('skips configs the runtime cannot load, saying why', () => {
    const out = healthyOutput();
    out.cniConf.files.unshift(
      conf('00-broken.conflist', '{"name": "cbr0", "plugins": ['),
      conf('01-empty.conflist', '{"name": "x", "cniVersion": "0.3.1", "plugins": []}'),
      conf('02-notype.conflist', '{"name": "y", "plugins": [{"delegate": {}}]}'),
      { name: '03-unreadable.conf', size: 10, readable: false },
    );
    const report = parse(out);
    const problems = Object.fromEntries(report.cniConfigs.map((c) => [c.file, c.problem]));
    expect(problems['00-broken.conflist']).toMatch(/^invalid JSON/);
    expect(problems['01-empty.conflist']).toBe('no plugins in the list');
    expect(problems['02-notype.conflist']).toBe('plugins[0] has no "type"');
    expect(problems['03-unreadable.conf']).toBe('not readable');
    expect(report.effectiveConfig?.file).toBe('10-flannel.conflist');
  });

  it('reads a single-plugin .conf file', () => {
    const out = healthyOutput();
    out.cniConf.files = [
      conf(
        '10-flannel.conf',
        '{"name":"cbr0","cniVersion":"0.2.0","type":"flannel","delegate":{"isDefaultGateway":true}}',
      ),
    ];
    const report = parse(out);
    expect(report.effectiveConfig).toMatchObject({
      format: 'conf',
      name: 'cbr0',
      plugins: [{ type: 'flannel', delegate: { isDefaultGateway: true } }],
    });
  });

  it('has no effective config when the directory is empty', () => {
    const out = healthyOutput();
    out.cniConf.files = [];
    expect(parse(out).effectiveConfig).toBeNull();
  });

  it('names the plugins that are missing or not executable', () => {
    const out = healthyOutput();
    out.cniBin.files = out.cniBin.files
      .filter((f) => f.name !== 'bridge')
      .map((f) => (f.name === 'portmap' ? { ...f, executable: false } : f));
    expect(parse(out).cniBin.missing).toEqual(['bridge', 'portmap']);
  });

  it('reports subnet.env as absent', () => {
    const out = healthyOutput();
    out.subnetEnv = { ...out.subnetEnv, present: false, readable: false, entries: [] };
    const env = parse(out).subnetEnv;
    expect(env.present).toBe(false);
    expect(env.subnet).toBeUndefined();
    expect(env.vars).toEqual({});
  });

  it('separates odd files and unreadable reservations from owners', () => {
    const out = healthyOutput();
    out.ipam.networks[0].files = [
      { name: '10.244.1.9', lines: [], error: 'unreadable' },
      { name: 'fd00__5', lines: [`${SANDBOX_A}\r`, 'eth0'] },
      { name: 'notes.txt', lines: ['hello'] },
    ];
    const report = parse(out);
    expect(report.reservations).toEqual([
      { network: 'cbr0', ip: '10.244.1.9', containerId: '', unreadable: true },
      { network: 'cbr0', ip: 'fd00::5', containerId: SANDBOX_A, ifname: 'eth0' },
    ]);
    expect(report.ipam.networks[0].otherFiles).toEqual(['notes.txt']);
    expect(report.errors).toEqual(['cannot read /var/lib/cni/networks/cbr0/10.244.1.9: unreadable']);
  });

  it('yields no devices when ip failed, keeping the error', () => {
    const out = healthyOutput();
    out.net.addr = { command: 'ip -o addr show', exitCode: 127, lines: [] };
    out.net.link = { command: 'ip -d link show', exitCode: 127, lines: [] };
    out.errors = ["addresses: 'ip -o addr show' failed (exit 127): sh: 1: ip: not found"];
    const report = parse(out);
    expect(report.devices).toEqual([]);
    expect(report.errors).toEqual(out.errors);
  });
});

describe('invalid probe output names the field', () => {
  const cases: Array<[string, (o: Record<string, unknown> & ProbeOutput) => unknown, RegExp]> = [
    ['wrong version', (o) => ({ ...o, probeVersion: 2 }), /field "probeVersion"/],
    [
      'size as text',
      (o) => {
        (o.cniConf.files[0] as unknown as Record<string, unknown>).size = '224';
        return o;
      },
      /field "cniConf\.files\[0\]\.size"/,
    ],
    [
      'missing lines',
      (o) => {
        delete (o.ipam.networks[0].files[1] as Partial<(typeof o.ipam.networks)[0]['files'][0]>).lines;
        return o;
      },
      /field "ipam\.networks\[0\]\.files\[1\]\.lines"/,
    ],
    ['missing errors list', (o) => ({ ...o, errors: undefined }), /field "errors"/],
  ];
  for (const [label, mutate, expected] of cases) {
    it(label, () => {
      const out = mutate(healthyOutput() as Record<string, unknown> & ProbeOutput);
      expect(() => parse(out)).toThrow(ProbeOutputError);
      expect(() => parse(out)).toThrow(expected);
    });
  }

  it('rejects text that is not JSON, quoting its start', () => {
    expect(() => parseProbeOutput('sh: 1: awk: not found\n{"probeVersion":1')).toThrow(
      /probe output is not JSON .*it starts with: sh: 1: awk: not found/,
    );
  });

  it('rejects empty output', () => {
    expect(() => parseProbeOutput('  \n')).toThrow('probe output is empty');
  });
});

describe('iproute2 parsers', () => {
  it('parses ip -o link show (one line per device)', () => {
    const links = parseLinkLines(fixture('ip-o-link-show.txt'));
    expect(links.map((l) => [l.name, l.mtu, l.linkType])).toEqual([
      ['lo', 65536, 'loopback'],
      ['uplink0', 1500, 'ether'],
      ['eth0', 1500, 'ether'],
      ['flannel.1', 1450, 'ether'],
      ['cni0', 1450, 'ether'],
      ['eth1', 1500, 'ether'],
      ['veth6e3c7d6b', 1450, 'ether'],
    ]);
    expect(links.find((l) => l.name === 'veth6e3c7d6b')?.master).toBe('cni0');
  });

  it('parses peer addresses and ignores noise', () => {
    const entries = parseAddrLines([
      '9: wg0    inet 10.9.0.1 peer 10.9.0.2/32 scope global wg0\\       valid_lft forever preferred_lft forever',
      'garbage',
      '',
    ]);
    expect(entries).toEqual([
      { index: 9, name: 'wg0', family: 'inet', address: '10.9.0.1', prefix: 32, cidr: '10.9.0.1/32' },
    ]);
  });

  it('keeps devices without details as "other" (busybox ip has no -d)', () => {
    const devices = parseDevices(
      [
        '4: cni0    inet 10.244.9.1/24 brd 10.244.9.255 scope global cni0\\       valid_lft forever preferred_lft forever',
      ],
      [
        '4: cni0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP qlen 1000',
        '    link/ether 9a:2b:4f:c2:1e:11 brd ff:ff:ff:ff:ff:ff',
      ],
    );
    expect(devices).toEqual([
      {
        name: 'cni0',
        index: 4,
        type: 'other',
        flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
        mtu: 1500,
        state: 'UP',
        linkType: 'ether',
        mac: '9a:2b:4f:c2:1e:11',
        ipv4: [{ address: '10.244.9.1', prefix: 24, cidr: '10.244.9.1/24' }],
        ipv6: [],
      },
    ]);
  });
});

describe('hostPathOf', () => {
  it("reports the node's own path, wherever the probe container mounted it", async () => {
    const { hostPathOf } = await import('../../src/checks/probe/schema.js');
    expect(hostPathOf('/host/run/flannel/subnet.env', '/host')).toBe('/run/flannel/subnet.env');
    // The simulator mounts the same paths under a per-pod container root.
    expect(hostPathOf('/tmp/sim-1/probes/p_1/host/etc/cni/net.d', '/host')).toBe('/etc/cni/net.d');
    expect(hostPathOf('/custom/cni', '/host')).toBe('/custom/cni');
    expect(hostPathOf('/host/opt/cni/bin', '/host/')).toBe('/opt/cni/bin');
  });
});
