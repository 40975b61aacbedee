/**
 * The pure parts behind node action pods: how a container's host paths reach the node's tree, how the
 * output is mapped back, what crictl / systemctl / `ip link delete` answer, and the shell stand-ins
 * (nsenter, ip netns) run as processes.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspectSandbox, rfc3339Nano, type CriSandbox } from '../../src/sim/kube/host/cri.js';
import { NodeHost } from '../../src/sim/kube/host/node-host.js';
import {
  isSafeRoot,
  LineUnmapper,
  rewriteContainerPaths,
  unmapRoots,
} from '../../src/sim/kube/host/node-paths.js';
import { runNodeTool, type NodeView } from '../../src/sim/kube/host/node-tools.js';
import { nodeSchema } from '../../src/sim/kube/scenario/schema.js';

const BIN = fileURLToPath(new URL('../../src/sim/kube/host/bin', import.meta.url));
const BINS = { containerBin: '/sim/bin', hostBin: '/sim/node-bin' };
const CROOT = '/tmp/sim-x/actions/kube-system_flannel-ops-action-abcde_1234abcd';

describe('rewriteContainerPaths', () => {
  const rw = (text: string) => rewriteContainerPaths(text, CROOT, BINS);

  it('puts the container root in front of every node-state path of the contract scripts', () => {
    expect(rw('dir=/var/lib/cni/networks/cbr0')).toBe(`dir=${CROOT}/var/lib/cni/networks/cbr0`);
    expect(rw('[ ! -e "/var/run/netns/$ns" ]')).toBe(`[ ! -e "${CROOT}/var/run/netns/$ns" ]`);
    expect(rw(`grep -o '/var/run/netns/[A-Za-z0-9._-]*\\|/run/netns/[A-Za-z0-9._-]*'`)).toBe(
      `grep -o '${CROOT}/var/run/netns/[A-Za-z0-9._-]*\\|${CROOT}/run/netns/[A-Za-z0-9._-]*'`,
    );
    expect(rw('cat /run/flannel/subnet.env;ls /etc/cni/net.d /opt/cni/bin >/var/lib/kubelet/x')).toBe(
      `cat ${CROOT}/run/flannel/subnet.env;ls ${CROOT}/etc/cni/net.d ${CROOT}/opt/cni/bin >${CROOT}/var/lib/kubelet/x`,
    );
    expect(rw('d=${D:-/var/lib/cni}; cd /var')).toBe(`d=\${D:-${CROOT}/var/lib/cni}; cd ${CROOT}/var`);
  });

  it("leaves this machine's tools, relative paths and longer names alone", () => {
    for (const text of [
      'exec /bin/sh -c x',
      'head -n 1 /dev/null',
      '/usr/bin/flock /tmp/x',
      'cat ./var/x ~/run/y ${d}/run/z $(pwd)/etc',
      '/variable /runner /etc-old /opt.d',
      'http://example/var/x',
    ])
      expect(rw(text)).toBe(text);
  });

  it('sends absolute paths of the node tools to the stand-ins', () => {
    expect(rw('/usr/sbin/ip link delete cni0; /sbin/ip a; /usr/bin/nsenter -t 1')).toBe(
      '/sim/bin/ip link delete cni0; /sim/bin/ip a; /sim/bin/nsenter -t 1',
    );
    expect(rw('/usr/bin/systemctl restart kubelet && /usr/local/bin/crictl pods')).toBe(
      '/sim/node-bin/systemctl restart kubelet && /sim/node-bin/crictl pods',
    );
  });

  it('never rewrites what it inserted, even when the root itself is under /var', () => {
    const root = '/var/tmp/sim/actions/p';
    expect(rewriteContainerPaths('ls /var/lib', root, BINS)).toBe('ls /var/tmp/sim/actions/p/var/lib');
  });

  it('accepts only roots that are safe in shell text and sed expressions', () => {
    expect(isSafeRoot('/tmp/flannel-ops-sim-Ab.3/nodes/worker-1')).toBe(true);
    for (const bad of ['relative/x', '/tmp/with space', "/tmp/q'uote", '/tmp/a|b', '/tmp/../etc', '/tmp/x/'])
      expect(isSafeRoot(bad)).toBe(false);
  });
});

describe('unmapRoots and LineUnmapper', () => {
  const NROOT = '/tmp/sim.1/nodes/worker-1';

  it('prints host paths as the node would', () => {
    expect(unmapRoots(`error no-ipam-dir ${NROOT}/var/lib/cni/networks/x\n`, [NROOT, CROOT])).toBe(
      'error no-ipam-dir /var/lib/cni/networks/x\n',
    );
    expect(unmapRoots(`cwd=${NROOT}\n${CROOT}/etc`, [NROOT, CROOT])).toBe('cwd=/\n/etc');
    // worker-10 is another node; the dot in the root is not a wildcard.
    expect(unmapRoots('/tmp/sim.1/nodes/worker-10/x /tmp/simX1/nodes/worker-1/x', [NROOT])).toBe(
      '/tmp/sim.1/nodes/worker-10/x /tmp/simX1/nodes/worker-1/x',
    );
  });

  it('maps a root split across chunks, and flushes an unterminated last line', () => {
    const u = new LineUnmapper([NROOT]);
    expect(u.push(`a ${NROOT.slice(0, 10)}`)).toBe('');
    expect(u.push(`${NROOT.slice(10)}/run/x\nb ${NROOT}`)).toBe('a /run/x\n');
    expect(u.flush()).toBe('b /');
    expect(u.flush()).toBe('');
  });
});

// ---- node tools --------------------------------------------------------------------------------

const T0 = Date.parse('2025-09-20T08:00:00Z');

function sandbox(over: Partial<CriSandbox>): CriSandbox {
  return {
    id: 'a'.repeat(64),
    name: 'web-1',
    namespace: 'shop',
    uid: 'uid-web-1',
    attempt: 0,
    ready: true,
    createdAt: new Date(T0).toISOString(),
    ip: '10.244.1.2',
    netnsPath: '/var/run/netns/cni-aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa',
    hostNetwork: false,
    hostPID: false,
    labels: { app: 'web' },
    annotations: {},
    ...over,
  };
}

const READY = sandbox({});
const ORPHAN = sandbox({
  id: 'b'.repeat(64),
  name: 'gone-1',
  ready: false,
  ip: '10.244.1.9',
  createdAt: new Date(T0 + 60_000).toISOString(),
  netnsPath: '/var/run/netns/cni-bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb',
});
const HOSTNET = sandbox({
  id: 'c'.repeat(64),
  name: 'kube-proxy-x',
  namespace: 'kube-system',
  ip: '',
  netnsPath: undefined,
  hostNetwork: true,
  hostPID: true,
  createdAt: new Date(T0 - 3_600_000).toISOString(),
});

const view: NodeView = {
  runtime: 'containerd',
  devices: [
    { name: 'lo', type: 'loopback', mtu: 65536, addresses: ['127.0.0.1/8'] },
    { name: 'eth0', type: 'ether', mtu: 1500, addresses: ['192.168.56.11/24'] },
    { name: 'cni0', type: 'bridge', mtu: 1450, addresses: ['10.244.9.1/24'] },
  ],
  sandboxes: [READY, ORPHAN, HOSTNET],
  pathPrefix: '',
  now: T0 + 120_000,
};

const run = (tool: 'crictl' | 'systemctl' | 'ip', ...args: string[]) => runNodeTool(tool, args, view);

describe('crictl', () => {
  it('pods -q --no-trunc lists every sandbox id, newest first; --state filters', () => {
    expect(run('crictl', 'pods', '-q', '--no-trunc').result).toEqual({
      stdout: `${ORPHAN.id}\n${READY.id}\n${HOSTNET.id}\n`,
      stderr: '',
      exitCode: 0,
    });
    expect(run('crictl', 'pods', '-q', '--no-trunc', '--state', 'ready').result.stdout).toBe(
      `${READY.id}\n${HOSTNET.id}\n`,
    );
    expect(run('crictl', 'pods', '-q', '--no-trunc', '--state=NotReady').result.stdout).toBe(
      `${ORPHAN.id}\n`,
    );
    expect(run('crictl', 'pods', '-q').result.stdout.split('\n')[0]).toBe('b'.repeat(13));
  });

  it('pods without -q prints the table', () => {
    const lines = run('crictl', 'pods', '--name', 'web').result.stdout.split('\n');
    expect(lines[0]).toMatch(/^POD ID {14}CREATED {13}STATE {15}NAME {16}NAMESPACE {11}ATTEMPT {13}RUNTIME$/);
    expect(lines[1]).toMatch(/^a{13} {7}2 minutes ago {7}Ready {15}web-1 {15}shop {16}0 {19}\(default\)$/);
    expect(lines).toHaveLength(3);
  });

  it('rejects what crictl rejects', () => {
    expect(run('crictl', 'pods', '--state', 'running').result).toMatchObject({
      exitCode: 1,
      stderr: expect.stringContaining('level=fatal msg="--state should be ready or notready"'),
    });
    expect(run('crictl', 'pods', '--bogus').result.exitCode).toBe(1);
  });

  it('inspectp -o json gives containerd shape with the netns path; a NOTREADY sandbox keeps its IP', () => {
    const out = run('crictl', 'inspectp', '-o', 'json', ORPHAN.id.slice(0, 8), READY.id);
    const docs = out.result.stdout
      .trim()
      .split(/\n(?=\{)/)
      .map((d) => JSON.parse(d));
    expect(docs).toHaveLength(2);
    expect(docs[0].status).toMatchObject({
      id: ORPHAN.id,
      state: 'SANDBOX_NOTREADY',
      network: { ip: '10.244.1.9' },
      createdAt: '2025-09-20T08:01:00.000000000Z',
      metadata: { name: 'gone-1', namespace: 'shop', attempt: 0 },
    });
    expect(docs[0].info.processStatus).toBe('deleted');
    expect(docs[1].status.state).toBe('SANDBOX_READY');
    expect(docs[1].status.labels).toMatchObject({ app: 'web', 'io.kubernetes.pod.name': 'web-1' });
    const netns = (d: {
      info: { runtimeSpec: { linux: { namespaces: Array<{ type: string; path?: string }> } } };
    }) => d.info.runtimeSpec.linux.namespaces.find((n) => n.type === 'network')?.path;
    expect(docs.map(netns)).toEqual([ORPHAN.netnsPath, READY.netnsPath]);
  });

  it('inspectp of a host-network sandbox has no network namespace; the path prefix applies to netns paths', () => {
    const doc = inspectSandbox(HOSTNET) as {
      status: { linux: { namespaces: { options: Record<string, unknown> } } };
      info: { runtimeSpec: { linux: { namespaces: Array<{ type: string }> } } };
    };
    expect(doc.status.linux.namespaces.options).toMatchObject({ network: 'NODE', pid: 'NODE' });
    expect(doc.info.runtimeSpec.linux.namespaces.map((n) => n.type)).toEqual(['ipc', 'uts', 'mount']);
    const prefixed = runNodeTool('crictl', ['inspectp', READY.id], { ...view, pathPrefix: '/n/w1' });
    expect(prefixed.result.stdout).toContain(`"path": "/n/w1${READY.netnsPath}"`);
  });

  it('inspectp of an unknown id fails like crictl', () => {
    const out = run('crictl', 'inspectp', '-o', 'json', 'ffff');
    expect(out.result.exitCode).toBe(1);
    expect(out.result.stderr).toMatch(
      /^time="[^"]+" level=fatal msg="getting the pod sandbox status for \\"ffff\\": rpc error: code = NotFound desc = an error occurred when try to find sandbox: not found"\n$/,
    );
  });

  it('rfc3339Nano prints nine fractional digits', () => {
    expect(rfc3339Nano('2024-01-30T03:02:34.011Z')).toBe('2024-01-30T03:02:34.011000000Z');
  });
});

describe('systemctl', () => {
  it('restart kubelet asks for a kubelet restart; is-active reports the kubelet and the runtime active', () => {
    expect(run('systemctl', 'restart', 'kubelet')).toEqual({
      result: { stdout: '', stderr: '', exitCode: 0 },
      effect: { kind: 'restart-kubelet' },
    });
    expect(run('systemctl', 'restart', 'kubelet.service').effect).toEqual({ kind: 'restart-kubelet' });
    expect(run('systemctl', 'is-active', 'kubelet', 'containerd').result).toEqual({
      stdout: 'active\nactive\n',
      stderr: '',
      exitCode: 0,
    });
    expect(run('systemctl', 'restart', 'containerd').effect).toBeUndefined();
  });

  it('an unknown unit is inactive (exit 3) and cannot be restarted (exit 5)', () => {
    expect(run('systemctl', 'is-active', 'docker').result).toEqual({
      stdout: 'inactive\n',
      stderr: '',
      exitCode: 3,
    });
    expect(run('systemctl', 'is-active', '-q', 'kubelet').result).toEqual({
      stdout: '',
      stderr: '',
      exitCode: 0,
    });
    expect(run('systemctl', 'restart', 'flanneld').result).toEqual({
      stdout: '',
      stderr: 'Failed to restart flanneld.service: Unit flanneld.service not found.\n',
      exitCode: 5,
    });
  });
});

describe('ip link delete', () => {
  it('deletes a bridge, refuses lo and physical NICs, and reports a missing device', () => {
    expect(run('ip', 'link', 'delete', 'cni0')).toEqual({
      result: { stdout: '', stderr: '', exitCode: 0 },
      effect: { kind: 'delete-link', name: 'cni0' },
    });
    expect(run('ip', 'link', 'del', 'dev', 'cni0').effect).toEqual({ kind: 'delete-link', name: 'cni0' });
    expect(run('ip', 'link', 'delete', 'eth0').result).toEqual({
      stdout: '',
      stderr: 'RTNETLINK answers: Operation not supported\n',
      exitCode: 2,
    });
    expect(run('ip', 'link', 'delete', 'flannel.9')).toEqual({
      result: { stdout: '', stderr: 'Cannot find device "flannel.9"\n', exitCode: 1 },
    });
  });
});

// ---- NodeHost.deleteLink and the shell stand-ins ------------------------------------------------

const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-action-tools-test-'));
afterAll(() => fs.rmSync(baseDir, { recursive: true, force: true }));

function makeHost(name: string): NodeHost {
  return NodeHost.create(
    baseDir,
    nodeSchema.parse({
      name,
      internalIP: '192.168.56.11',
      podCIDR: '10.244.1.0/24',
      host: {
        devices: [
          { name: 'cni0', type: 'bridge', mtu: 1450, addresses: ['10.244.1.1/24'] },
          { name: 'veth1234abcd', type: 'veth', mtu: 1450, addresses: [], master: 'cni0' },
        ],
        netns: ['cni-11111111-1111-1111-1111-111111111111'],
      },
    }),
  );
}

describe('NodeHost.deleteLink', () => {
  it('deleting a bridge releases its ports and rewrites what `ip` prints', () => {
    const host = makeHost('del-link');
    expect(host.deleteLink('cni0')).toBe('deleted');
    expect(host.device('cni0')).toBeUndefined();
    expect(host.device('veth1234abcd')).not.toHaveProperty('master');
    expect(host.readFile('/.sim/net/link')).not.toContain('cni0');
    expect(host.deleteLink('cni0')).toBe('missing');
    expect(host.deleteLink('lo')).toBe('unsupported');
  });
});

function sh(script: string, args: string[], env: Record<string, string>, cwd?: string) {
  const r = spawnSync('sh', [path.join(BIN, script), ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    encoding: 'utf8',
    cwd,
  });
  return { stdout: r.stdout, stderr: r.stderr, code: r.status };
}

describe('nsenter stand-in', () => {
  const host = makeHost('nsenter');
  const croot = path.join(baseDir, 'actions', 'pod-1');
  fs.mkdirSync(croot, { recursive: true });
  const env = (mode: string) => ({
    FLANNEL_OPS_SIM_NSENTER: mode,
    FLANNEL_OPS_SIM_CONTAINER_ROOT: croot,
    FLANNEL_OPS_SIM_NODE_ROOT: host.root,
    FLANNEL_OPS_SIM_HOST_BIN: '/sim/node-bin',
  });
  const probe = 'printf "%s|" "$PWD" "$1" "$2"; printf "%s" "$PATH" | cut -d: -f1';

  it('enters the node: container-root paths become node-root paths, cwd is the node /, host tools join PATH', () => {
    const r = sh(
      'nsenter',
      [
        '-t',
        '1',
        '-m',
        '-u',
        '-i',
        '-n',
        '-p',
        '--',
        'sh',
        '-c',
        probe,
        'sh',
        `${croot}/var/lib/cni`,
        'two words\n',
      ],
      env('node'),
      croot,
    );
    expect(r).toEqual({
      stdout: `${host.root}|${host.root}/var/lib/cni|two words\n|/sim/node-bin\n`,
      stderr: '',
      code: 0,
    });
  });

  it('without -m, or in a pod without hostPID, the command keeps the container view', () => {
    const args = ['sh', '-c', 'printf "%s" "$1"', 'sh', `${croot}/run`];
    expect(sh('nsenter', ['-t', '1', '-n', '--', ...args], env('node'), croot).stdout).toBe(`${croot}/run`);
    expect(sh('nsenter', ['--target=1', '-a', ...args], env('self'), croot).stdout).toBe(`${croot}/run`);
  });

  it('an unprivileged pod is refused, and a missing target is an error', () => {
    expect(sh('nsenter', ['-t', '1', '-m', '-u', '-i', '-n', '-p', '--', 'true'], env('denied'))).toEqual({
      stdout: '',
      stderr: "nsenter: reassociate to namespace 'ns/ipc' failed: Operation not permitted\n",
      code: 1,
    });
    expect(sh('nsenter', ['-m', 'true'], env('node')).stderr).toBe(
      'nsenter: neither filename nor target pid supplied for ns/mnt\n',
    );
    expect(sh('nsenter', ['-t', 'one', '-m', 'true'], env('node')).stderr).toBe(
      "nsenter: failed to parse pid: 'one'\n",
    );
  });
});

describe('ip netns stand-in', () => {
  it('lists and deletes the node’s /var/run/netns entries, refusing names that leave it', () => {
    const host = makeHost('netns');
    const env = { FLANNEL_OPS_SIM_NODE_ROOT: host.root };
    expect(sh('ip', ['netns', 'list'], env).stdout).toBe('cni-11111111-1111-1111-1111-111111111111\n');
    expect(sh('ip', ['netns', 'delete', 'cni-11111111-1111-1111-1111-111111111111'], env).code).toBe(0);
    expect(host.list('/run/netns')).toEqual([]);
    expect(sh('ip', ['netns', 'del', 'cni-x'], env)).toEqual({
      stdout: '',
      stderr: 'Cannot remove namespace file "/var/run/netns/cni-x": No such file or directory\n',
      code: 1,
    });
    expect(sh('ip', ['netns', 'delete', '../../etc'], env)).toMatchObject({
      code: 1,
      stderr: 'Invalid netns name "../../etc"\n',
    });
  });

  it('ip link delete without a node agent is not permitted', () => {
    const host = makeHost('noagent');
    expect(sh('ip', ['link', 'delete', 'cni0'], { FLANNEL_OPS_SIM_NODE_ROOT: host.root })).toEqual({
      stdout: '',
      stderr: 'RTNETLINK answers: Operation not permitted\n',
      code: 2,
    });
    expect(host.device('cni0')).toBeDefined();
  });
});
