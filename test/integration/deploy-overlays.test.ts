/**
 * Every deploy/ overlay renders with the real `kubectl kustomize` and the Kubernetes simulator accepts it
 * (`kubectl apply --server-side --dry-run=server -k`, the real kubectl), and each is wired as a user needs
 * it: the PodDisruptionBudget and NetworkPolicy select the bot's pods, the hub's clusters file names
 * kubeconfigs its Secret volume provides, the Redis component's own redis.conf (run by a real redis-server)
 * keeps an append-only file and never evicts. The RBAC itself is proven in deploy-rbac.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type * as k8s from '@kubernetes/client-node';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import YAML from 'yaml';
import { parseClustersConfig } from '../../src/config/clusters.js';
import { loadEnv } from '../../src/config/env.js';
import { startSimulator, type Simulator } from '../../src/sim/kube/simulator.js';
import type { KubeObject } from '../../src/sim/kube/store.js';
import { freePort } from '../../src/util/net.js';
import { waitFor } from '../helpers/wait.js';

const OVERLAYS = ['single-cluster', 'single-cluster-redis', 'hub', 'watched-cluster'] as const;
type Overlay = (typeof OVERLAYS)[number];
const BOT_LABELS = { 'app.kubernetes.io/name': 'flannel-ops', 'app.kubernetes.io/component': 'bot' };

const workDir = mkdtempSync(join(tmpdir(), 'deploy-overlays-'));
const rendered = new Map<Overlay, KubeObject[]>();
let sim: Simulator;

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { env: { ...process.env, HOME: workDir }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The real kubectl against the simulator, with a fresh discovery cache for every call. */
function kubectl(args: string[]): Promise<RunResult> {
  const cacheDir = mkdtempSync(join(workDir, 'kubectl-cache-'));
  return run('/usr/bin/kubectl', ['--kubeconfig', sim.kubeconfigPath, '--cache-dir', cacheDir, ...args]);
}

function objectsOf(overlay: Overlay, kind: string, name?: string): KubeObject[] {
  return rendered
    .get(overlay)!
    .filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
}

function one(overlay: Overlay, kind: string, name?: string): KubeObject {
  const found = objectsOf(overlay, kind, name);
  expect({ overlay, kind, name, count: found.length }).toEqual({ overlay, kind, name, count: 1 });
  return found[0];
}

function podSpec(o: KubeObject): k8s.V1PodSpec {
  return (o.spec as { template: { spec: k8s.V1PodSpec } }).template.spec;
}

function podLabels(o: KubeObject): Record<string, string> {
  return (o.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
}

/** matchLabels only: what the manifests use. */
function selects(selector: k8s.V1LabelSelector | undefined, labels: Record<string, string>): boolean {
  expect(selector?.matchExpressions).toBeUndefined();
  const wanted = Object.entries(selector?.matchLabels ?? {});
  return wanted.length > 0 && wanted.every(([k, v]) => labels[k] === v);
}

function configMapData(overlay: Overlay, name: string | undefined): Record<string, string> {
  return one(overlay, 'ConfigMap', name).data as Record<string, string>;
}

/** The bot's environment as its container gets it (the env ConfigMap, then the container's own env). */
function botEnv(overlay: Overlay) {
  const container = podSpec(one(overlay, 'Deployment', 'flannel-ops')).containers[0];
  const envName = container.envFrom?.find((e) => e.configMapRef)?.configMapRef?.name;
  const own = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? '']));
  return loadEnv({ ...configMapData(overlay, envName), ...own });
}

beforeAll(async () => {
  for (const overlay of OVERLAYS) {
    const result = await run('/usr/bin/kubectl', ['kustomize', `deploy/overlays/${overlay}`]);
    if (result.code !== 0) throw new Error(`kubectl kustomize deploy/overlays/${overlay}: ${result.stderr}`);
    rendered.set(
      overlay,
      YAML.parseAllDocuments(result.stdout)
        .map((d) => d.toJS() as KubeObject)
        .filter(Boolean),
    );
  }
  sim = await startSimulator({ scenario: 'healthy', port: 0, onError: () => undefined });
}, 120_000);

afterAll(async () => {
  await sim?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

describe.each(OVERLAYS)('deploy/overlays/%s', (overlay) => {
  it('is accepted by the API server: kubectl apply --server-side --dry-run=server -k', async () => {
    const objects = rendered.get(overlay)!;
    // As on a real API server, objects cannot even be dry-run into a namespace that does not exist yet:
    // the namespaces first, for real (what the first `kubectl apply -k` does before the rest).
    const namespaces = join(workDir, `${overlay}-namespaces.yaml`);
    writeFileSync(
      namespaces,
      objects
        .filter((o) => o.kind === 'Namespace')
        .map((o) => YAML.stringify(o))
        .join('---\n'),
    );
    const ns = await kubectl(['apply', '--server-side', '--field-manager', 'test', '-f', namespaces]);
    expect({ code: ns.code, stderr: ns.stderr }).toEqual({ code: 0, stderr: '' });

    const dry = await kubectl([
      'apply',
      '--server-side',
      '--dry-run=server',
      '-k',
      `deploy/overlays/${overlay}`,
    ]);
    expect({ code: dry.code, stderr: dry.stderr }).toEqual({ code: 0, stderr: '' });
    const lines = dry.stdout.trim().split('\n');
    expect(lines).toHaveLength(objects.length);
    for (const o of objects) {
      expect(lines).toContainEqual(
        expect.stringMatching(new RegExp(`/${o.metadata.name} serverside-applied \\(server dry run\\)$`)),
      );
      // A dry run stores nothing.
      if (o.kind !== 'Namespace')
        expect(sim.store.get(o.kind, o.metadata.namespace, o.metadata.name)).toBeUndefined();
    }
  });
});

describe('the simulator validates what these manifests could get wrong', () => {
  it('refuses a PodDisruptionBudget with both minAvailable and maxUnavailable, and a StatefulSet whose selector misses its pods', async () => {
    const pdb = structuredClone(one('single-cluster', 'PodDisruptionBudget'));
    (pdb.spec as Record<string, unknown>).minAvailable = 1;
    const sts = structuredClone(one('single-cluster-redis', 'StatefulSet'));
    (sts.spec as { selector: k8s.V1LabelSelector }).selector = {
      matchLabels: { 'app.kubernetes.io/name': 'other' },
    };
    for (const [o, message] of [
      [pdb, 'minAvailable and maxUnavailable cannot be both set'],
      [sts, '`selector` does not match template `labels`'],
    ] as const) {
      const file = join(workDir, `bad-${o.kind}.yaml`);
      writeFileSync(file, YAML.stringify(o));
      const result = await kubectl(['apply', '--server-side', '--dry-run=server', '-f', file]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(message);
    }
  });
});

describe('every overlay that runs the bot', () => {
  it.each(['single-cluster', 'single-cluster-redis', 'hub'] as const)(
    '%s: two replicas with resources, a PodDisruptionBudget that keeps one, a NetworkPolicy for its traffic',
    (overlay) => {
      const deployment = one(overlay, 'Deployment', 'flannel-ops');
      const spec = deployment.spec as k8s.V1DeploymentSpec;
      expect(spec.replicas).toBe(2);
      expect(spec.strategy?.rollingUpdate?.maxUnavailable).toBe(0);
      const pod = podSpec(deployment);
      const container = pod.containers[0];
      expect(container.resources?.requests).toMatchObject({
        cpu: expect.any(String),
        memory: expect.any(String),
      });
      expect(container.resources?.limits?.memory).toEqual(expect.any(String));
      expect(podLabels(deployment)).toMatchObject(BOT_LABELS);

      // A drain evicts at most one replica, never both.
      const pdb = one(overlay, 'PodDisruptionBudget', 'flannel-ops').spec as k8s.V1PodDisruptionBudgetSpec;
      expect(selects(pdb.selector, podLabels(deployment))).toBe(true);
      expect(pdb.maxUnavailable).toBe(1);
      expect(pdb.maxUnavailable as number).toBeLessThan(spec.replicas!);

      // The policy selects the bot, admits its HTTP port and lets out DNS, the API servers, Slack and Redis.
      const policy = one(overlay, 'NetworkPolicy', 'flannel-ops').spec as k8s.V1NetworkPolicySpec;
      expect(selects(policy.podSelector, podLabels(deployment))).toBe(true);
      expect(policy.policyTypes).toEqual(['Ingress', 'Egress']);
      const httpPort = container.ports?.find((p) => p.name === 'http');
      expect(policy.ingress?.flatMap((r) => r.ports ?? []).map((p) => p.port)).toEqual([httpPort?.name]);
      const env = botEnv(overlay);
      expect(httpPort?.containerPort).toBe(env.httpPort);
      const egress = policy.egress!.flatMap((r) => r.ports ?? []).map((p) => `${p.port}/${p.protocol}`);
      const redisPort = new URL(env.redisUrl).port || '6379';
      for (const port of ['53/UDP', '53/TCP', '443/TCP', '6443/TCP', `${redisPort}/TCP`])
        expect(egress).toContain(port);

      // The Service reaches the same pods on the same port.
      const service = one(overlay, 'Service', 'flannel-ops').spec as k8s.V1ServiceSpec;
      expect(selects({ matchLabels: service.selector }, podLabels(deployment))).toBe(true);
      expect(service.ports?.[0].targetPort).toBe('http');
    },
  );
});

describe('the hub overlay', () => {
  it('names, for every cluster, a kubeconfig file that its Secret volume mounts, and needs no token of its own', () => {
    const deployment = one('hub', 'Deployment', 'flannel-ops');
    const pod = podSpec(deployment);
    const container = pod.containers[0];
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext?.fsGroup).toBe(pod.securityContext?.runAsGroup);

    const clustersVolume = pod.volumes!.find((v) => v.configMap)!;
    const clustersMount = container.volumeMounts!.find((m) => m.name === clustersVolume.name)!;
    const clustersPath = container.env!.find((e) => e.name === 'FLANNEL_OPS_CLUSTERS')!.value!;
    expect(clustersPath).toBe(`${clustersMount.mountPath}/clusters.yaml`);
    const text = configMapData('hub', clustersVolume.configMap!.name)['clusters.yaml'];
    const clusters = parseClustersConfig(YAML.parse(text), clustersPath).clusters;
    expect(clusters.length).toBeGreaterThan(1);

    // Files the pod will have: every projected Secret item under its volume's mount path.
    const files = new Map<string, string>();
    for (const volume of pod.volumes!.filter((v) => v.projected)) {
      const mount = container.volumeMounts!.find((m) => m.name === volume.name)!;
      expect(mount.readOnly).toBe(true);
      for (const source of volume.projected!.sources!) {
        for (const item of source.secret!.items!) {
          expect(item.key).toBe('kubeconfig');
          files.set(`${mount.mountPath}/${item.path}`, source.secret!.name!);
        }
      }
    }
    expect(
      clusters.map((c) => ({ cluster: c.name, secret: files.get(c.kubeconfig ?? '(in-cluster)') })),
    ).toEqual(clusters.map((c) => ({ cluster: c.name, secret: `flannel-ops-kubeconfig-${c.name}` })));
    expect(files.size).toBe(clusters.length);
    // No nested mount inside the read-only clusters ConfigMap.
    for (const file of files.keys()) expect(file.startsWith(`${clustersMount.mountPath}/`)).toBe(false);

    // The hub gets no permission in the cluster it runs in: the watched clusters grant them.
    for (const kind of ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'])
      expect(objectsOf('hub', kind)).toEqual([]);
  });

  it('is granted, in each watched cluster, exactly the permissions the single-cluster install proves', () => {
    const rbac = (overlay: Overlay) =>
      ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].flatMap((kind) =>
        objectsOf(overlay, kind).map((o) => YAML.stringify(o)),
      );
    expect(rbac('watched-cluster')).toEqual(rbac('single-cluster'));
    expect(rbac('watched-cluster').length).toBeGreaterThan(0);
    const sa = one('watched-cluster', 'ServiceAccount', 'flannel-ops');
    const token = one('watched-cluster', 'Secret');
    expect(token.type).toBe('kubernetes.io/service-account-token');
    expect(token.metadata.namespace).toBe(sa.metadata.namespace);
    expect(token.metadata.annotations?.['kubernetes.io/service-account.name']).toBe(sa.metadata.name);
    expect(objectsOf('watched-cluster', 'Deployment')).toEqual([]);
  });
});

describe('the Redis component', () => {
  let redisProcess: ChildProcess | undefined;

  afterAll(async () => {
    if (redisProcess && redisProcess.exitCode === null) {
      const exited = new Promise((done) => redisProcess!.once('exit', done));
      redisProcess.kill('SIGTERM');
      await exited;
    }
  });

  it('is where REDIS_URL points, reachable only by the bot', () => {
    const env = botEnv('single-cluster-redis');
    const url = new URL(env.redisUrl);
    const service = one('single-cluster-redis', 'Service', 'redis');
    expect(url.hostname).toBe(`${service.metadata.name}.${service.metadata.namespace}.svc`);
    const sts = one('single-cluster-redis', 'StatefulSet', 'redis');
    const ports = (service.spec as k8s.V1ServiceSpec).ports!;
    expect(ports.map((p) => String(p.port))).toEqual([url.port]);
    const containerPort = podSpec(sts).containers[0].ports!.find((p) => p.name === ports[0].targetPort);
    expect(containerPort?.containerPort).toBe(6379);
    expect(selects({ matchLabels: (service.spec as k8s.V1ServiceSpec).selector }, podLabels(sts))).toBe(true);
    const headless = one('single-cluster-redis', 'Service', (sts.spec as k8s.V1StatefulSetSpec).serviceName);
    expect((headless.spec as k8s.V1ServiceSpec).clusterIP).toBe('None');

    const policy = one('single-cluster-redis', 'NetworkPolicy', 'redis').spec as k8s.V1NetworkPolicySpec;
    expect(selects(policy.podSelector, podLabels(sts))).toBe(true);
    const bot = podLabels(one('single-cluster-redis', 'Deployment', 'flannel-ops'));
    expect(policy.ingress).toHaveLength(1);
    // YAML's `from` (the client library's type calls it `_from`).
    const from = (policy.ingress![0] as { from?: k8s.V1NetworkPolicyPeer[] }).from!;
    expect(from.map((f) => selects(f.podSelector, bot))).toEqual([true]);
    // Its data outlives the pod.
    expect((sts.spec as k8s.V1StatefulSetSpec).volumeClaimTemplates?.map((t) => t.metadata?.name)).toEqual([
      'data',
    ]);
  });

  it('runs a real redis-server from its redis.conf: append-only file on, noeviction, data in the volume', async () => {
    const sts = one('single-cluster-redis', 'StatefulSet', 'redis');
    const container = podSpec(sts).containers[0];
    const configVolume = podSpec(sts).volumes!.find((v) => v.configMap)!;
    const configMount = container.volumeMounts!.find((m) => m.name === configVolume.name)!;
    const dataMount = container.volumeMounts!.find((m) => m.name === 'data')!;
    // The image's entrypoint runs `redis-server <args>` when the first argument is a .conf file.
    expect(container.args).toEqual([`${configMount.mountPath}/redis.conf`]);
    const conf = configMapData('single-cluster-redis', configVolume.configMap!.name)['redis.conf'];
    expect(conf).toMatch(new RegExp(`^dir ${dataMount.mountPath}$`, 'm'));

    // This machine's redis-server with that file, only the port and directory moved into the test's.
    const dir = mkdtempSync(join(workDir, 'redis-'));
    const file = join(dir, 'redis.conf');
    // (`dir` is changed in the file itself: redis-server enters it while reading the file.)
    writeFileSync(file, conf.replace(/^dir .*$/m, `dir ${dir}`));
    const port = await freePort();
    redisProcess = spawn('redis-server', [file, '--port', String(port), '--bind', '127.0.0.1'], {
      stdio: 'ignore',
    });
    const redis = await waitFor('redis-server to answer', async () => {
      const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
      return client.connect().then(
        () => client,
        () => void client.disconnect(),
      );
    });
    try {
      const config = async (key: string) => (await redis.config('GET', key))[1];
      expect(await config('appendonly')).toBe('yes');
      expect(await config('appendfsync')).toBe('everysec');
      expect(await config('maxmemory-policy')).toBe('noeviction');
      expect(Number(await config('maxmemory'))).toBeGreaterThan(0);
      // Below the container's memory limit, so Redis refuses writes before the kernel kills it.
      const limit = container.resources!.limits!.memory as string;
      expect(limit).toMatch(/^\d+Mi$/);
      expect(Number(await config('maxmemory'))).toBeLessThan(parseInt(limit, 10) * 1024 * 1024);
      // noeviction: past maxmemory a write is refused, nothing already written is dropped.
      await redis.config('SET', 'maxmemory', '1');
      await expect(redis.set('k', 'v')).rejects.toThrow(/OOM command not allowed/);
    } finally {
      redis.disconnect();
    }
  });
});
