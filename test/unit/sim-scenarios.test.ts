import { afterAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import {
  BUILTIN_SCENARIOS,
  builtinScenarioPath,
  expandScenario,
  loadScenario,
  parseScenario,
} from '../../src/sim/kube/scenario/load.js';
import type { Scenario } from '../../src/sim/kube/scenario/schema.js';
import { NodeHost } from '../../src/sim/kube/host/node-host.js';
import { podSandboxId } from '../../src/sim/kube/host/ids.js';
import { UserError } from '../../src/util/errors.js';

const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-scenarios-test-'));
afterAll(() => fs.rmSync(baseDir, { recursive: true, force: true }));

const EXPECTED_CAUSES: Record<string, string> = {
  healthy: 'none',
  'flannel-missing': 'flannel-not-deployed',
  'flannel-config-corrupt': 'flannel-config-corrupt',
  'flannel-crashloop': 'podcidr-outside-network',
  'podcidr-missing': 'podcidr-missing',
  'ipam-leak': 'ipam-leak',
  'stale-cni0': 'stale-cni0',
  'cni-conflict': 'cni-config-conflict',
  'flannel-daemonset-deleted': 'flannel-partially-deployed',
  'flannel-image-pull': 'flannel-pod-failing',
  'ipam-exhausted': 'ipam-exhausted',
  'cni-plugins-missing': 'cni-plugin-missing',
  'subnet-env-deleted': 'subnet-env-missing',
  'version-mismatch': 'version-mismatch',
  'k3s-embedded': 'none',
  'legacy-kube-system': 'none',
  'containerd-net-leftover': 'cni-config-conflict',
  'multus-flannel': 'none',
  'flannel-old-restarts': 'none',
  'flannel-untolerated-taint': 'flannel-pod-failing',
  'subnet-env-mismatch': 'subnet-env-mismatch',
  'version-rbac-removed': 'version-mismatch',
  'flannel-br-netfilter': 'flannel-pod-failing',
  'host-gw': 'none',
  'dual-stack': 'none',
  'ipam-leak-notready': 'ipam-leak',
};

const CURRENT_MANIFEST = [
  'ClusterRole/flannel',
  'ClusterRoleBinding/flannel',
  'ConfigMap/kube-flannel-cfg',
  'DaemonSet/kube-flannel-ds',
  'Namespace/kube-flannel',
  'ServiceAccount/flannel',
];
/** The Flannel objects each built-in deploys (kind/name, any namespace), when not CURRENT_MANIFEST. */
const FLANNEL_OBJECTS: Record<string, string[]> = {
  'flannel-missing': [],
  'k3s-embedded': [],
  'flannel-daemonset-deleted': CURRENT_MANIFEST.filter((o) => o !== 'DaemonSet/kube-flannel-ds'),
  // The pre-v0.19 manifest: no kube-flannel namespace.
  'legacy-kube-system': CURRENT_MANIFEST.filter((o) => o !== 'Namespace/kube-flannel'),
  // v0.13.0 in kube-system whose rbac v1beta1 objects could not be re-created on Kubernetes 1.22.
  'version-rbac-removed': [
    'ConfigMap/kube-flannel-cfg',
    'DaemonSet/kube-flannel-ds',
    'ServiceAccount/flannel',
  ],
};

const SUBNET_ENV_MISSING =
  "failed to load flannel 'subnet.env' file: open /run/flannel/subnet.env: no such file or directory. Check the flannel pod log for this node.";

function objectsOf(s: Scenario, kind: string) {
  return s.objects.filter((o) => o.kind === kind);
}

function hostsOf(s: Scenario): Map<string, NodeHost> {
  return new Map(s.nodes.map((n) => [n.name, NodeHost.create(path.join(baseDir, s.name), n)]));
}

let seq = 0;
function add(host: NodeHost) {
  seq += 1;
  return host.cniAdd({
    sandboxId: podSandboxId('test', `p-${seq}`),
    podName: `p-${seq}`,
    namespace: 'test',
    podUid: `u-${seq}`,
  });
}

function expectUserError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return (err as Error).message;
  }
  throw new Error('expected a UserError');
}

describe('built-in scenarios', () => {
  it('lists exactly the built-ins, each with a file', () => {
    expect([...BUILTIN_SCENARIOS].sort()).toEqual(Object.keys(EXPECTED_CAUSES).sort());
    for (const name of BUILTIN_SCENARIOS) expect(fs.existsSync(builtinScenarioPath(name))).toBe(true);
  });

  it.each(Object.entries(EXPECTED_CAUSES))('%s loads and states rootCause %s', (name, cause) => {
    const s = loadScenario({ name });
    expect(s.name).toBe(name);
    expect(s.rootCause).toBe(cause);
    expect(s.nodes.length).toBeGreaterThanOrEqual(3);
    expect(objectsOf(s, 'Deployment').length).toBeGreaterThan(0);
    expect(objectsOf(s, 'DaemonSet').some((d) => d.metadata.name === 'fluent-bit')).toBe(true);
    expect(s.generate).toBeDefined();
  });

  it('deploys the kube-flannel.yml v0.28.9 objects unless the scenario is about them', () => {
    for (const name of BUILTIN_SCENARIOS) {
      const s = loadScenario({ name });
      const flannel = s.objects.filter(
        (o) =>
          [
            'Namespace',
            'ClusterRole',
            'ClusterRoleBinding',
            'ServiceAccount',
            'ConfigMap',
            'DaemonSet',
          ].includes(o.kind) &&
          (o.metadata.namespace === 'kube-flannel' ||
            o.metadata.name === 'kube-flannel' ||
            o.metadata.name === 'flannel' ||
            o.metadata.name === 'kube-flannel-cfg' ||
            o.metadata.name === 'kube-flannel-ds'),
      );
      expect({ name, objects: flannel.map((o) => `${o.kind}/${o.metadata.name}`).sort() }).toEqual({
        name,
        objects: FLANNEL_OBJECTS[name] ?? CURRENT_MANIFEST,
      });
      const ds = flannel.find((o) => o.kind === 'DaemonSet') as unknown as
        | {
            metadata: { labels: Record<string, string> };
            spec: {
              selector: { matchLabels: Record<string, string> };
              template: { spec: { containers: { image: string }[] } };
            };
          }
        | undefined;
      if (!ds) continue;
      expect(ds.metadata.labels.app).toBe('flannel');
      expect(ds.spec.selector.matchLabels).toEqual({ app: 'flannel' });
      const IMAGES: Record<string, string> = {
        'legacy-kube-system': 'rancher/mirrored-flannelcni-flannel:v0.18.1',
        'version-rbac-removed': 'quay.io/coreos/flannel:v0.13.0',
      };
      expect(ds.spec.template.spec.containers[0].image).toBe(
        IMAGES[name] ?? 'ghcr.io/flannel-io/flannel:v0.28.9',
      );
    }
  });

  it('k3s-embedded: no Flannel objects, nodes carry k3s and flannel annotations and accept pods', () => {
    const s = loadScenario({ name: 'k3s-embedded' });
    expect(s.kubernetesVersion).toBe('v1.33.4+k3s1');
    for (const n of s.nodes) {
      expect(Object.keys(n.annotations)).toEqual(
        expect.arrayContaining(['flannel.alpha.coreos.com/backend-type', 'k3s.io/node-args']),
      );
    }
    for (const host of hostsOf(s).values()) expect(add(host).ok).toBe(true);
  });

  it('ipam-exhausted: worker-1 /27 is full of reservations owned by running pods', () => {
    const s = loadScenario({ name: 'ipam-exhausted' });
    const cm = objectsOf(s, 'ConfigMap').find((o) => o.metadata.name === 'kube-flannel-cfg') as unknown as {
      data: Record<string, string>;
    };
    expect(JSON.parse(cm.data['net-conf.json']).SubnetLen).toBe(27);
    expect(s.nodes.map((n) => n.podCIDR)).toEqual(['10.244.0.0/27', '10.244.0.32/27', '10.244.0.64/27']);
    const pods = objectsOf(s, 'Pod').filter((p) => (p.spec as { nodeName?: string }).nodeName === 'worker-1');
    expect(pods).toHaveLength(29);
    const hosts = hostsOf(s);
    const reserved = hosts
      .get('worker-1')!
      .list('/var/lib/cni/networks/cbr0')
      .filter((f) => /^\d/.test(f));
    expect(reserved.sort()).toEqual(pods.map((p) => (p.status as { podIP: string }).podIP).sort());
    expect(add(hosts.get('worker-1')!)).toMatchObject({
      ok: false,
      pluginError:
        'failed to allocate for range 0: no IP addresses available in range set: 10.244.0.33-10.244.0.62',
    });
    expect(add(hosts.get('worker-2')!).ok).toBe(true);
  });

  it('cni-plugins-missing: worker-2 has only the flannel binary', () => {
    const hosts = hostsOf(loadScenario({ name: 'cni-plugins-missing' }));
    expect(hosts.get('worker-2')!.list('/opt/cni/bin')).toEqual(['flannel']);
    expect(add(hosts.get('worker-2')!)).toMatchObject({
      ok: false,
      pluginError: 'failed to delegate add: failed to find plugin "bridge" in path [/opt/cni/bin]',
    });
    expect(add(hosts.get('worker-1')!).ok).toBe(true);
  });

  it('flannel-image-pull: worker-3 cannot reach ghcr.io and has no Flannel files yet', () => {
    const s = loadScenario({ name: 'flannel-image-pull' });
    const worker3 = s.nodes.find((n) => n.name === 'worker-3')!;
    expect(worker3.host.unreachableRegistries).toEqual(['ghcr.io']);
    const host = hostsOf(s).get('worker-3')!;
    expect(host.unreachableRegistries).toEqual(['ghcr.io']);
    expect(host.networkReady().ready).toBe(false);
    expect(s.nodes.filter((n) => n.host.unreachableRegistries.length > 0)).toHaveLength(1);
  });

  it('healthy: every node accepts pods, and seeded reservations belong to the running pods', () => {
    const s = loadScenario({ name: 'healthy' });
    for (const host of hostsOf(s).values()) {
      expect(host.networkReady()).toEqual({ ready: true });
      expect(host.device('flannel.1')?.vxlan).toMatchObject({ vni: 1, port: 8472 });
      expect(add(host).ok).toBe(true);
    }
    const pods = objectsOf(s, 'Pod');
    expect(pods.length).toBeGreaterThan(0);
  });

  it('flannel-missing: nothing of Flannel on the nodes; seed wording overrides, dockershim on some nodes', () => {
    const s = loadScenario({ name: 'flannel-missing' });
    expect(s.nodes.some((n) => n.runtime === 'dockershim')).toBe(true);
    for (const [name, host] of hostsOf(s)) {
      expect(host.list('/etc/cni/net.d')).toEqual([]);
      expect(host.exists('/run/flannel/subnet.env')).toBe(false);
      expect(host.exists('/opt/cni/bin/flannel')).toBe(false);
      expect(host.device('flannel.1')).toBeUndefined();
      expect(host.device('cni0')).toBeUndefined();
      expect(host.networkReady().ready).toBe(false);
      expect(add(host).ok).toBe(false);
      expect(name).toBeTruthy();
    }
    const overrides = JSON.stringify(s.failure.sandbox);
    expect(overrides).toContain('no IP addresses available in network: cni0');
    expect(overrides).toContain('networkPlugin cni failed to set up pod');
  });

  it('flannel-config-corrupt: net-conf.json is invalid JSON; pods fail on subnet.env', () => {
    const s = loadScenario({ name: 'flannel-config-corrupt' });
    const cm = objectsOf(s, 'ConfigMap').find((o) => o.metadata.name === 'kube-flannel-cfg') as unknown as {
      data: Record<string, string>;
    };
    expect(() => JSON.parse(cm.data['net-conf.json'])).toThrow();
    expect(() => JSON.parse(cm.data['cni-conf.json'])).not.toThrow();
    for (const host of hostsOf(s).values())
      expect(add(host)).toMatchObject({ ok: false, pluginError: SUBNET_ENV_MISSING });
  });

  it('flannel-crashloop: node podCIDRs are outside net-conf Network', () => {
    const s = loadScenario({ name: 'flannel-crashloop' });
    const cm = objectsOf(s, 'ConfigMap')[0] as unknown as { data: Record<string, string> };
    expect(JSON.parse(cm.data['net-conf.json']).Network).toBe('10.244.0.0/16');
    for (const n of s.nodes) expect(n.podCIDR).toMatch(/^10\.42\.\d+\.0\/24$/);
    for (const host of hostsOf(s).values())
      expect(add(host)).toMatchObject({ ok: false, pluginError: SUBNET_ENV_MISSING });
  });

  it('podcidr-missing: no node has a podCIDR, also when generated', () => {
    const s = loadScenario({ name: 'podcidr-missing' });
    expect(s.nodes.every((n) => n.podCIDR === undefined)).toBe(true);
    expect(expandScenario(s, { nodes: 4 }).nodes.every((n) => n.podCIDR === undefined)).toBe(true);
  });

  it('ipam-leak: worker-1 is exhausted by reservations of no pod; the real ones are the pods podIPs', () => {
    const s = loadScenario({ name: 'ipam-leak' });
    const hosts = hostsOf(s);
    const worker1 = hosts.get('worker-1')!;
    const dir = '/var/lib/cni/networks/cbr0';
    const reserved = worker1.list(dir).filter((f) => /^\d/.test(f));
    expect(reserved).toHaveLength(253);
    const pods = objectsOf(s, 'Pod').filter((p) => (p.spec as { nodeName?: string }).nodeName === 'worker-1');
    const podIPs = new Map(pods.map((p) => [(p.status as { podIP: string }).podIP, p.metadata.name]));
    expect(podIPs.size).toBeGreaterThanOrEqual(2);
    for (const [ip, podName] of podIPs) {
      expect(worker1.readFile(`${dir}/${ip}`)).toBe(`${podSandboxId('shop', podName!)}\r\neth0`);
    }
    const owners = new Set(pods.map((p) => podSandboxId('shop', p.metadata.name!)));
    const leaked = reserved.filter(
      (ipFile) => !owners.has(worker1.readFile(`${dir}/${ipFile}`)!.split('\r\n')[0]),
    );
    expect(leaked.length).toBe(253 - podIPs.size);
    expect(add(worker1)).toMatchObject({
      ok: false,
      pluginError:
        'failed to allocate for range 0: no IP addresses available in range set: 10.244.1.1-10.244.1.254',
    });
    expect(add(hosts.get('worker-2')!).ok).toBe(true);
    // Releasing the leaked reservations heals the node.
    for (const ipFile of leaked) worker1.remove(`${dir}/${ipFile}`);
    expect(add(worker1).ok).toBe(true);
  });

  it('stale-cni0: worker-1 cni0 holds 10.244.9.1/24 against podCIDR 10.244.1.0/24', () => {
    const s = loadScenario({ name: 'stale-cni0' });
    const node = s.nodes.find((n) => n.name === 'worker-1')!;
    expect(node.podCIDR).toBe('10.244.1.0/24');
    const hosts = hostsOf(s);
    const worker1 = hosts.get('worker-1')!;
    expect(worker1.device('cni0')?.addresses).toEqual(['10.244.9.1/24']);
    expect(worker1.readFile('/run/flannel/subnet.env')).toContain('FLANNEL_SUBNET=10.244.1.1/24');
    expect(add(worker1)).toMatchObject({
      ok: false,
      pluginError: 'failed to set bridge addr: "cni0" already has an IP address different from 10.244.1.1/24',
    });
    expect(add(hosts.get('worker-2')!).ok).toBe(true);
  });

  it('cni-conflict: 10-calico.conflist sorts first on worker-2 and its plugin is missing', () => {
    const s = loadScenario({ name: 'cni-conflict' });
    const hosts = hostsOf(s);
    const worker2 = hosts.get('worker-2')!;
    const confs = worker2.list('/etc/cni/net.d').filter((f) => f.endsWith('.conflist'));
    expect(confs).toEqual(['10-calico.conflist', '10-flannel.conflist']);
    expect(add(worker2)).toMatchObject({
      ok: false,
      pluginError: 'failed to find plugin "calico" in path [/opt/cni/bin]',
      pluginType: 'calico',
    });
    expect(add(hosts.get('worker-1')!).ok).toBe(true);
  });

  it('--nodes N replicates the template with podCIDR 10.244.<i>.0/24', () => {
    const s = expandScenario(loadScenario({ name: 'healthy' }), { nodes: 300 });
    expect(s.nodes).toHaveLength(300);
    expect(s.nodes[0]).toMatchObject({ name: 'node-1', podCIDR: '10.244.1.0/24' });
    expect(s.nodes[41].host.files['/run/flannel/subnet.env']).toContain('FLANNEL_SUBNET=10.244.42.1/24');
    expect(s.nodes[41].host.devices.find((d) => d.name === 'cni0')?.addresses).toEqual(['10.244.42.1/24']);
    expect(new Set(s.nodes.map((n) => n.internalIP)).size).toBe(300);
    const kept = expandScenario(loadScenario({ name: 'ipam-leak' }), { nodes: 2 });
    expect(kept.nodes.map((n) => n.name)).toEqual(['cp-1', 'worker-1', 'worker-2', 'worker-3', 'worker-4']);
  });
});

describe('bad scenario files', () => {
  const good = () => YAML.parse(fs.readFileSync(builtinScenarioPath('stale-cni0'), 'utf8'));

  function writeScenario(doc: unknown, name = 'bad.yaml'): string {
    const file = path.join(baseDir, name);
    fs.writeFileSync(file, typeof doc === 'string' ? doc : YAML.stringify(doc));
    return file;
  }

  it('names the file, the field path (with line) and the reason', () => {
    const doc = good();
    doc.nodes[1].podCIDR = '10.244.1.0/33';
    const file = writeScenario(doc);
    const msg = expectUserError(() => loadScenario({ file }));
    expect(msg).toMatch(
      new RegExp(
        `^scenario file ${file}: nodes\\[1\\]\\.podCIDR \\(line \\d+\\): must be IPv4/prefix like 10\\.244\\.1\\.0/24$`,
      ),
    );
  });

  it('reports unknown fields, bad enums and missing fields', () => {
    const doc = good();
    doc.nodes[0].host.devices[0].mtuu = 1500;
    expect(expectUserError(() => loadScenario({ file: writeScenario(doc) }))).toMatch(
      /nodes\[0\]\.host\.devices\[0\]\.mtuu \(line \d+\): unknown field/,
    );
    const doc2 = good();
    doc2.rootCause = 'cosmic-rays';
    expect(expectUserError(() => loadScenario({ file: writeScenario(doc2) }))).toMatch(
      /rootCause \(line \d+\): must be one of "none", "flannel-not-deployed"/,
    );
    const doc3 = good();
    delete doc3.nodes[2].internalIP;
    doc3.nodes[2].runtime = 'docker';
    const msg = expectUserError(() => loadScenario({ file: writeScenario(doc3) }));
    expect(msg).toContain('nodes[2].internalIP');
    expect(msg).toContain('is required');
    expect(msg).toMatch(
      /nodes\[2\]\.runtime \(line \d+\): must be one of "containerd", "containerd-1.5", "cri-o", "dockershim"/,
    );
  });

  it('quotes host file paths in field paths', () => {
    const doc = good();
    doc.nodes[0].host.files['etc/relative'] = 'x';
    expect(expectUserError(() => loadScenario({ file: writeScenario(doc) }))).toContain(
      'nodes[0].host.files["etc/relative"]',
    );
  });

  it('reports YAML syntax errors with line and column', () => {
    const file = writeScenario('name: x\nnodes:\n  - name: a\n   bad: [\n');
    expect(expectUserError(() => loadScenario({ file }))).toMatch(
      new RegExp(`^scenario file ${file}: invalid YAML at line \\d+, column \\d+: `),
    );
  });

  it('reports duplicate node names, unknown override nodes and bad generate templates', () => {
    const doc = good();
    doc.nodes[2].name = doc.nodes[1].name;
    doc.failure = { sandbox: [{ nodes: ['nope'], pluginError: 'x' }] };
    const msg = expectUserError(() => loadScenario({ file: writeScenario(doc) }));
    expect(msg).toContain('nodes[2].name');
    expect(msg).toContain('duplicate node name "worker-1"');
    expect(msg).toContain('failure.sandbox[0].nodes[0]');
    const doc2 = good();
    doc2.generate.nodeTemplate.runtime = 'rkt';
    expect(expectUserError(() => loadScenario({ file: writeScenario(doc2) }))).toMatch(
      /generate\.nodeTemplate\.runtime \(line \d+\): must be one of/,
    );
  });

  it('reports an unreadable file and an unknown built-in name', () => {
    expect(expectUserError(() => loadScenario({ file: path.join(baseDir, 'missing.yaml') }))).toMatch(
      /^scenario file .*missing\.yaml: cannot read it: ENOENT/,
    );
    expect(expectUserError(() => loadScenario({ name: 'nope' }))).toBe(
      `unknown scenario "nope"; built-in scenarios: ${BUILTIN_SCENARIOS.join(', ')}`,
    );
    expect(expectUserError(() => parseScenario('name: x\n', 'inline.yaml'))).toMatch(
      /^scenario file inline\.yaml: /,
    );
  });
});
