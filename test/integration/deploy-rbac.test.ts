/**
 * deploy/ proves the bot's permissions: the manifests rendered by the real `kubectl kustomize` of the
 * single-cluster overlay (deploy/overlays/single-cluster: the base plus components/cluster-access, the same
 * RBAC that overlays/watched-cluster grants a hub in every cluster it watches)
 * are loaded into the Kubernetes simulator with RBAC enforced, and the bot's own code paths (event
 * watch, full diagnosis with probe pods) run with the flannel-ops ServiceAccount's token and nothing
 * else. The same token is refused everything the bot does not need. The remediation grants
 * (components/remediation) are proven on their own: without them the bot is read-only (a, b, c); with them
 * each remediation action runs with the token, and the token still cannot write anything else (d).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import YAML from 'yaml';
import { kubeClientsFactory } from '../../src/kube/clients.js';
import { CHECK_ID_LIST } from '../../src/checks/catalog.js';
import { parseClustersConfig, type ClusterConfig } from '../../src/config/clusters.js';
import { loadEnv } from '../../src/config/env.js';
import type { DiagnosisDocument } from '../../src/diagnosis/assemble.js';
import { DEFAULT_PROBE_NAMESPACE, DiagnosisService } from '../../src/diagnosis/service.js';
import { IncidentStore } from '../../src/incidents/store.js';
import type { Incident } from '../../src/incidents/types.js';
import { kubeConfigForCluster } from '../../src/kube/kubeconfig.js';
import { loadRunbooks, shippedRunbooksDir } from '../../src/runbooks/load.js';
import { kubeconfigYaml, startSimulator, type Simulator } from '../../src/sim/kube/simulator.js';
import type { KubeObject, StoreChange } from '../../src/sim/kube/store.js';
import { WatchService, type ClusterWatchStatus } from '../../src/watch/watch-service.js';
import { BackupStore } from '../../src/remediations/backups.js';
import type { ActionId } from '../../src/remediations/catalog.js';
import { nodeScriptRunner } from '../../src/remediations/node-pod.js';
import { getAction } from '../../src/remediations/registry.js';
import type { ActionContext } from '../../src/remediations/types.js';
import { waitFor } from '../helpers/wait.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';

const PREFIX = `t-deploy-${randomUUID().slice(0, 8)}`;
const OVERLAY = 'deploy/overlays/single-cluster';
const BOT_NAMESPACE = 'flannel-ops';
const BOT_SERVICE_ACCOUNT = 'flannel-ops';
const BOT_USER = `system:serviceaccount:${BOT_NAMESPACE}:${BOT_SERVICE_ACCOUNT}`;
/** deploy/base/config/bot.env's FLANNEL_OPS_PROBE_NAMESPACE: the only namespace where the bot may write (pods). */
const PROBE_NAMESPACE = 'flannel-ops-probes';
const PROBE_LABEL = 'app.kubernetes.io/name=flannel-ops-probe';
/** components/remediation's ClusterRole and binding. */
const REMEDIATE = 'flannel-ops-remediate';
const RBAC_KINDS = new Set([
  'Namespace',
  'ServiceAccount',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
]);

const runbooks = loadRunbooks(shippedRunbooksDir());
const workDir = mkdtempSync(join(tmpdir(), 'deploy-rbac-'));
const cleanups: Array<() => Promise<unknown>> = [];
let rendered: KubeObject[];
let redis: Redis;
let store: IncidentStore;

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

/** The real kubectl against a simulator, with a fresh discovery cache for every call. */
function kubectl(kubeconfig: string, args: string[]): Promise<RunResult> {
  const cacheDir = mkdtempSync(join(workDir, 'kubectl-cache-'));
  return run('/usr/bin/kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...args]);
}

function renderedOf(kind: string, name?: string): KubeObject[] {
  return rendered.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
}

/**
 * What `kubectl apply -k deploy/overlays/single-cluster` would create for the bot's identity, written into the simulator,
 * plus a token Secret for the ServiceAccount (what the kubelet's projected token is in a real cluster).
 * Returns a kubeconfig that authenticates with that token only.
 */
function installBotIdentity(sim: Simulator, name: string, opts: { remediation?: boolean } = {}): string {
  const objects = rendered.filter(
    (o) => RBAC_KINDS.has(o.kind) && (opts.remediation || o.metadata.name !== REMEDIATE),
  );
  const order = [...RBAC_KINDS];
  objects.sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  for (const o of objects) sim.store.create(o);
  const token = `flannel-ops-${randomUUID()}`;
  sim.store.create({
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/service-account-token',
    metadata: {
      name: `${BOT_SERVICE_ACCOUNT}-token`,
      namespace: BOT_NAMESPACE,
      annotations: { 'kubernetes.io/service-account.name': BOT_SERVICE_ACCOUNT },
    },
    data: { token: Buffer.from(token).toString('base64') },
  });
  const path = join(workDir, `${name}.kubeconfig`);
  writeFileSync(path, kubeconfigYaml(sim.url, name, token));
  return path;
}

function clusterEntry(name: string, kubeconfig: string): ClusterConfig {
  return parseClustersConfig({ clusters: [{ name, kubeconfig, channel: 'C0DEPLOY' }] }).clusters[0];
}

/** Counts a person would get from `kubectl get events -A` for the reasons the Flannel runbook triggers on. */
function expectedCounts(sim: Simulator) {
  const events = ['FailedCreatePodSandBox', 'NetworkNotReady'].flatMap((reason) =>
    sim.store.list('Event', { fieldSelector: `reason=${reason},type=Warning` }),
  );
  const involved = (e: KubeObject) => (e.involvedObject as { name?: string } | undefined)?.name;
  return {
    events: events.length,
    pods: new Set(events.map((e) => `${e.metadata.namespace}/${involved(e)}`)).size,
  };
}

async function forbidden(call: Promise<unknown>): Promise<{ code?: number; message?: string }> {
  const err = (await call.then(
    () => undefined,
    (e: unknown) => e,
  )) as k8s.ApiException<string> | undefined;
  if (!err) return { code: 200 };
  const body = typeof err.body === 'string' ? (JSON.parse(err.body) as { message?: string }) : undefined;
  return { code: err.code, message: body?.message };
}

beforeAll(async () => {
  const result = await run('/usr/bin/kubectl', ['kustomize', OVERLAY]);
  if (result.code !== 0) throw new Error(`kubectl kustomize ${OVERLAY} failed: ${result.stderr}`);
  rendered = YAML.parseAllDocuments(result.stdout)
    .map((d) => d.toJS() as KubeObject)
    .filter(Boolean);
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  store = new IncidentStore({ redis, prefix: PREFIX });
}, 60_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await store.close();
  redis.disconnect();
  rmSync(workDir, { recursive: true, force: true });
});

describe('the rendered base', () => {
  it('grants read-only cluster-wide access, and pod create/delete only in the probe namespace (remediation aside)', () => {
    const writes = [
      'create',
      'update',
      'patch',
      'delete',
      'deletecollection',
      'escalate',
      'bind',
      'impersonate',
    ];
    for (const role of renderedOf('ClusterRole').filter((r) => r.metadata.name !== REMEDIATE)) {
      const rules = role.rules as Array<{ resources: string[]; verbs: string[] }>;
      for (const rule of rules) {
        expect({
          role: role.metadata.name,
          verbs: rule.verbs.filter((v) => writes.includes(v) || v === '*'),
        }).toEqual({ role: role.metadata.name, verbs: [] });
        expect(rule.resources.filter((r) => r === '*' || r.startsWith('secrets'))).toEqual([]);
      }
    }
    const [probeRole] = renderedOf('Role', 'flannel-ops-probe');
    expect(probeRole.metadata.namespace).toBe(PROBE_NAMESPACE);
    const [probeBinding] = renderedOf('RoleBinding', 'flannel-ops-probe');
    expect(probeBinding.metadata.namespace).toBe(PROBE_NAMESPACE);
    // Not kube-system (the code's default): there the grant would cover every system pod.
    expect(PROBE_NAMESPACE).not.toBe(DEFAULT_PROBE_NAMESPACE);
    expect(renderedOf('Role').map((r) => r.metadata.namespace)).toEqual([PROBE_NAMESPACE]);
    expect(renderedOf('RoleBinding').map((r) => r.metadata.namespace)).toEqual([PROBE_NAMESPACE]);
    for (const binding of [...renderedOf('ClusterRoleBinding'), ...renderedOf('RoleBinding')]) {
      expect(binding.subjects).toEqual([
        { kind: 'ServiceAccount', name: BOT_SERVICE_ACCOUNT, namespace: BOT_NAMESPACE },
      ]);
    }
  });

  it("grants remediation writes only on pods, node cordons and Flannel's own objects by name, with no escalate", () => {
    const [role] = renderedOf('ClusterRole', REMEDIATE);
    const rules = role.rules as Array<{
      apiGroups: string[];
      resources: string[];
      verbs: string[];
      resourceNames?: string[];
    }>;
    const writes = ['create', 'update', 'patch', 'delete', 'deletecollection'];
    for (const rule of rules) {
      const where = { groups: rule.apiGroups, resources: rule.resources };
      // Never a wildcard, never Secrets, never a way around RBAC.
      expect({ ...where, wild: [...rule.verbs, ...rule.resources, ...rule.apiGroups].includes('*') }).toEqual(
        {
          ...where,
          wild: false,
        },
      );
      expect({ ...where, secrets: rule.resources.some((r) => r.startsWith('secrets')) }).toEqual({
        ...where,
        secrets: false,
      });
      expect({ ...where, verbs: rule.verbs.filter((v) => ['escalate', 'impersonate'].includes(v)) }).toEqual({
        ...where,
        verbs: [],
      });
      // `bind` only of Flannel's own ClusterRole (whose content the bot cannot widen: no escalate).
      if (rule.verbs.includes('bind'))
        expect(rule).toEqual({
          apiGroups: ['rbac.authorization.k8s.io'],
          resources: ['clusterroles'],
          resourceNames: ['flannel'],
          verbs: ['bind'],
        });
      const written = rule.verbs.filter((v) => writes.includes(v));
      if (written.length === 0 || rule.resourceNames?.length) continue;
      // Unnamed writes: deleting pods (stuck ones anywhere, Flannel's), patching nodes (cordon) and their status
      // (held because Flannel's own ClusterRole grants it).
      const unnamed = rule.resources.map((r) => `${r}:${written.join(',')}`);
      for (const u of unnamed) expect(['pods:delete', 'nodes:patch', 'nodes/status:patch']).toContain(u);
    }
    const [binding] = renderedOf('ClusterRoleBinding', REMEDIATE);
    expect(binding.roleRef).toMatchObject({ kind: 'ClusterRole', name: REMEDIATE });
  });

  it('ships a clusters file and an environment the bot accepts, wired into the Deployment', () => {
    const [deployment] = renderedOf('Deployment', 'flannel-ops');
    const pod = (deployment.spec as { template: { spec: k8s.V1PodSpec } }).template.spec;
    const container = pod.containers[0];
    const envConfigMap = container.envFrom?.find((e) => e.configMapRef)?.configMapRef?.name;
    const clustersVolume = pod.volumes?.find((v) => v.configMap)?.configMap?.name;
    const [envData] = renderedOf('ConfigMap', envConfigMap).map((c) => c.data as Record<string, string>);
    const [clustersData] = renderedOf('ConfigMap', clustersVolume).map(
      (c) => c.data as Record<string, string>,
    );

    const clustersPath = container.env?.find((e) => e.name === 'FLANNEL_OPS_CLUSTERS')?.value;
    const mount = container.volumeMounts?.find((m) => m.name === pod.volumes?.find((v) => v.configMap)?.name);
    expect(clustersPath).toBe(`${mount?.mountPath}/clusters.yaml`);
    const clusters = parseClustersConfig(YAML.parse(clustersData['clusters.yaml'])).clusters;
    expect(clusters.map((c) => ({ name: c.name, inCluster: c.kubeconfig === undefined }))).toEqual([
      { name: 'local', inCluster: true },
    ]);
    const env = loadEnv({ ...envData, FLANNEL_OPS_CLUSTERS: clustersPath });
    expect(env.redisUrl).toMatch(/^redis:\/\//);
    expect(env.slackMode).toBe('socket');
    expect(env.probeNamespace).toBe(PROBE_NAMESPACE);
    // Reachable by the kubelet's probes on the declared container port.
    expect(env.httpHost).toBe('0.0.0.0');
    const httpPort = container.ports?.find((p) => p.name === 'http');
    expect(httpPort?.containerPort).toBe(env.httpPort);
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.startupProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.envFrom?.find((e) => e.secretRef)?.secretRef?.name).toBe('flannel-ops-slack');
    expect(pod.serviceAccountName).toBe(BOT_SERVICE_ACCOUNT);
  });

  it('runs the bot as the restricted Pod Security Standard its namespace enforces requires', () => {
    const [ns] = renderedOf('Namespace', BOT_NAMESPACE);
    expect(ns.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    // The probe pods are hostNetwork + hostPath: only "privileged" admits them, in their own namespace.
    const [probeNs] = renderedOf('Namespace', PROBE_NAMESPACE);
    expect(probeNs.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('privileged');
    const [deployment] = renderedOf('Deployment', 'flannel-ops');
    const pod = (deployment.spec as { template: { spec: k8s.V1PodSpec } }).template.spec;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    for (const c of pod.containers) {
      expect(c.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(c.resources?.limits?.memory).toBeDefined();
    }
    expect(pod.hostNetwork).toBeUndefined();
    expect(pod.volumes?.every((v) => !v.hostPath)).toBe(true);
  });
});

describe.each(['flannel-missing', 'ipam-leak', 'flannel-crashloop'])(
  'scenario %s with only the bot service account',
  (scenario) => {
    const cluster = `deploy-${scenario}`;
    let sim: Simulator;
    let entry: ClusterConfig;
    let bot: { core: k8s.CoreV1Api; apps: k8s.AppsV1Api };

    beforeAll(async () => {
      sim = await startSimulator({
        scenario,
        port: 0,
        rbac: true,
        retryIntervalMs: 3_600_000,
        startDelayMs: 10,
        onError: () => undefined,
      });
      cleanups.push(() => sim.stop());
      await sim.settle();
      entry = clusterEntry(cluster, installBotIdentity(sim, cluster));
      const kc = kubeConfigForCluster(entry);
      bot = { core: kc.makeApiClient(k8s.CoreV1Api), apps: kc.makeApiClient(k8s.AppsV1Api) };
    }, 60_000);

    it('(a) the event watch lists and watches all namespaces and opens the incident', async () => {
      const want = expectedCounts(sim);
      expect(want.events).toBeGreaterThan(0);
      const statuses: ClusterWatchStatus[] = [];
      const watch = new WatchService({
        clusters: [entry],
        runbooks,
        store,
        kubeConfigFor: kubeConfigForCluster,
        election: { redis, keyPrefix: PREFIX, ttlMs: 3000, retryMs: 200 },
        onIncident: () => undefined,
        onStatus: (s) => statuses.push(s),
        streamOptions: { backoff: { baseMs: 100, maxMs: 1000 } },
        flushIntervalMs: 20,
      });
      watch.start();
      cleanups.push(() => watch.stop());
      try {
        const incident = await waitFor('the incident with every sandbox failure counted', async () => {
          const [found] = (await store.list({ cluster, limit: 10 })) as Incident[];
          return found && found.counts.events === want.events && found.counts.pods === want.pods
            ? found
            : undefined;
        });
        expect(incident.runbookId).toBe('flannel');
        await waitFor('the watch to be open', () => watch.statuses[0].stream?.state === 'watching');
        expect(statuses.map((s) => s.lastError ?? s.stream?.lastError).filter(Boolean)).toEqual([]);
      } finally {
        await watch.stop();
      }
    }, 60_000);

    it('(b) a full diagnosis completes with no check in error, probes included, and names the root cause', async () => {
      const probePods: Array<{ type: string; namespace?: string; name: string; node?: string }> = [];
      const unsubscribe = sim.store.subscribe((change: StoreChange) => {
        const labels = change.object.metadata.labels ?? {};
        if (change.object.kind !== 'Pod' || labels['app.kubernetes.io/name'] !== 'flannel-ops-probe') return;
        if (change.type === 'MODIFIED') return;
        probePods.push({
          type: change.type,
          namespace: change.object.metadata.namespace,
          name: change.object.metadata.name,
          node: (change.object.spec as { nodeName?: string }).nodeName,
        });
      });
      const svc = new DiagnosisService({
        redis,
        prefix: PREFIX,
        store,
        runbooks,
        clients: kubeClientsFactory([entry]),
        probe: {
          namespace: PROBE_NAMESPACE,
          image: 'busybox:1.36',
          concurrency: 4,
          deadlineSeconds: 30,
        },
        retry: { attempts: 2, backoffMs: 20 },
      });
      cleanups.push(() => svc.close());
      let diagnosis: DiagnosisDocument;
      try {
        const { id } = await svc.start({ cluster, requestedBy: 'UALICE' });
        diagnosis = (await svc.result(id, 60_000)) as DiagnosisDocument;
      } finally {
        unsubscribe();
        await svc.close();
      }

      const errors = diagnosis.checks.filter((c) => c.status === 'error').map((c) => `${c.id}: ${c.summary}`);
      expect(errors).toEqual([]);
      expect(diagnosis.checks.map((c) => c.id).sort()).toEqual([...CHECK_ID_LIST].sort());
      expect(diagnosis.causes[0]?.id).toBe(sim.scenario.rootCause);

      // One probe pod per probed node, created and deleted in the probe namespace, none left behind.
      expect(diagnosis.nodes.length).toBeGreaterThan(0);
      const created = probePods.filter((p) => p.type === 'ADDED');
      expect(created.map((p) => p.node).sort()).toEqual([...diagnosis.nodes].sort());
      expect(new Set(probePods.map((p) => p.namespace))).toEqual(new Set([PROBE_NAMESPACE]));
      expect(
        probePods
          .filter((p) => p.type === 'DELETED')
          .map((p) => p.name)
          .sort(),
      ).toEqual(created.map((p) => p.name).sort());
      expect(sim.store.list('Pod', { labelSelector: PROBE_LABEL })).toEqual([]);
    }, 90_000);

    it('(c) the same token may not delete a Deployment, create or delete pods elsewhere (kube-system too), read Secrets or patch a node', async () => {
      const [deployment] = sim.store.list('Deployment');
      const deploymentRef = deployment
        ? { name: deployment.metadata.name, namespace: deployment.metadata.namespace! }
        : { name: 'web', namespace: 'default' };
      const [node] = sim.store.list('Node');
      // The probe namespace is where the Role lets the bot delete pods: take one elsewhere.
      const [stuckPod] = sim.store
        .list('Pod', { fieldSelector: 'status.phase=Pending' })
        .filter((p) => p.metadata.namespace !== PROBE_NAMESPACE);
      // A system pod: the bot used to be allowed to delete these (probes in kube-system).
      const systemPod =
        sim.store.list('Pod', { namespace: 'kube-system' })[0] ??
        sim.store.create({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'system-component', namespace: 'kube-system' },
          spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.9' }] },
        });
      const podBody = (namespace: string): k8s.V1Pod => ({
        metadata: { name: 'not-a-probe', namespace },
        spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] },
      });

      const attempts = {
        deleteDeployment: await forbidden(bot.apps.deleteNamespacedDeployment(deploymentRef)),
        createPodInDefault: await forbidden(
          bot.core.createNamespacedPod({ namespace: 'default', body: podBody('default') }),
        ),
        createPodInKubeSystem: await forbidden(
          bot.core.createNamespacedPod({ namespace: 'kube-system', body: podBody('kube-system') }),
        ),
        deletePodInKubeSystem: await forbidden(
          bot.core.deleteNamespacedPod({ name: systemPod.metadata.name, namespace: 'kube-system' }),
        ),
        createPodInOwnNamespace: await forbidden(
          bot.core.createNamespacedPod({ namespace: BOT_NAMESPACE, body: podBody(BOT_NAMESPACE) }),
        ),
        deletePodOutsideProbeNamespace: await forbidden(
          bot.core.deleteNamespacedPod({
            name: stuckPod.metadata.name,
            namespace: stuckPod.metadata.namespace!,
          }),
        ),
        listSecrets: await forbidden(bot.core.listSecretForAllNamespaces()),
        readOwnTokenSecret: await forbidden(
          bot.core.readNamespacedSecret({ name: `${BOT_SERVICE_ACCOUNT}-token`, namespace: BOT_NAMESPACE }),
        ),
        patchNode: await forbidden(
          bot.core.patchNode(
            { name: node.metadata.name, body: { spec: { unschedulable: true } } },
            k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
          ),
        ),
      };
      for (const [what, result] of Object.entries(attempts)) {
        expect({ what, code: result.code }).toEqual({ what, code: 403 });
        expect(result.message).toContain(`User "${BOT_USER}" cannot`);
      }
      expect(attempts.patchNode.message).toContain('cannot patch resource "nodes"');
      expect(attempts.deleteDeployment.message).toContain(
        'cannot delete resource "deployments" in API group "apps"',
      );

      // Nothing changed.
      if (deployment)
        expect(sim.store.get('Deployment', deploymentRef.namespace, deploymentRef.name)).toBeDefined();
      expect(sim.store.get('Pod', stuckPod.metadata.namespace, stuckPod.metadata.name)).toBeDefined();
      expect(sim.store.get('Pod', 'kube-system', systemPod.metadata.name)).toBeDefined();
      expect(sim.store.get('Node', undefined, node.metadata.name)?.spec).not.toMatchObject({
        unschedulable: true,
      });
      expect(sim.store.list('Pod', { fieldSelector: 'metadata.name=not-a-probe' })).toEqual([]);
    });
  },
);

describe('(d) remediation with only the bot service account, remediation grants included', () => {
  const cluster = 'deploy-remediate';
  let sim: Simulator;
  let kube: ReturnType<ReturnType<typeof kubeClientsFactory>>;
  let ctxFor: (params?: Record<string, unknown>, node?: string) => ActionContext;

  beforeAll(async () => {
    sim = await startSimulator({
      scenario: 'flannel-missing',
      port: 0,
      rbac: true,
      retryIntervalMs: 500,
      startDelayMs: 10,
      onError: () => undefined,
    });
    cleanups.push(() => sim.stop());
    await sim.settle();
    const entry = clusterEntry(cluster, installBotIdentity(sim, cluster, { remediation: true }));
    const clients = kubeClientsFactory([entry]);
    kube = clients(cluster);
    const nodeScripts = nodeScriptRunner(
      clients,
      { namespace: PROBE_NAMESPACE, image: 'busybox:1.36' },
      cluster,
    );
    const backups = new BackupStore(redis, PREFIX);
    ctxFor = (params = {}, node) => ({
      cluster,
      kube,
      params,
      limits: { maxPodDeletes: 50 },
      nodeScripts,
      backups,
      runId: `r${randomUUID().slice(0, 8)}`,
      ...(node && { node }),
    });
  }, 60_000);

  /** preview, execute and verify (polled) as the lifecycle executor runs an approved step. */
  async function runStep(id: ActionId, ctx: ActionContext) {
    const action = getAction(id);
    const preview = await action.preview(ctx);
    expect({ id, blockers: preview.blockers ?? [] }).toEqual({ id, blockers: [] });
    const result = await action.execute(ctx, preview);
    expect({ id, outcome: result.outcome, lines: result.lines }).toEqual({
      id,
      outcome: 'done',
      lines: result.lines,
    });
    await waitFor(`${id} to verify`, async () => (await action.verify(ctx, preview, result)).ok, {
      timeoutMs: 60_000,
      intervalMs: 300,
    });
    return { preview, result };
  }

  it('runs every API action and a node action with the token, and heals the cluster', async () => {
    const nodes = sim.store.list('Node').map((n) => n.metadata.name);
    const stuckBefore = sim.store
      .list('Pod', { fieldSelector: 'status.phase=Pending' })
      .filter((p) => p.metadata.ownerReferences?.length);
    expect(stuckBefore.length).toBeGreaterThan(0);

    // Controller-owned pods stuck anywhere (delete-stuck-pods).
    await runStep('delete-stuck-pods', ctxFor({ nodes }));
    for (const p of stuckBefore)
      expect(sim.store.get('Pod', p.metadata.namespace, p.metadata.name)?.metadata.uid).not.toBe(
        p.metadata.uid,
      );

    // Flannel's objects, server-side applied (the namespace, RBAC, ConfigMap and DaemonSet are all created).
    await runStep('reapply-flannel-manifest', ctxFor());
    expect(sim.store.get('ClusterRole', undefined, 'flannel')).toBeDefined();
    expect(sim.store.get('ClusterRoleBinding', undefined, 'flannel')).toBeDefined();
    expect(sim.store.get('DaemonSet', 'kube-flannel', 'kube-flannel-ds')).toBeDefined();

    // A Flannel pod restarted, a node cordoned and uncordoned, kubelet restarted through an action pod.
    const node = nodes[1];
    await runStep('restart-flannel-pod', ctxFor({}, node));
    await runStep('cordon-node', ctxFor({}, node));
    expect(sim.store.get('Node', undefined, node)?.spec).toMatchObject({ unschedulable: true });
    await runStep('uncordon-node', ctxFor({}, node));
    expect(
      (sim.store.get('Node', undefined, node)?.spec as { unschedulable?: boolean }).unschedulable,
    ).not.toBe(true);
    const actionPods: string[] = [];
    const unsubscribe = sim.store.subscribe((change: StoreChange) => {
      if (
        change.type === 'ADDED' &&
        change.object.kind === 'Pod' &&
        change.object.metadata.name.startsWith('flannel-ops-action-')
      )
        actionPods.push(`${change.object.metadata.namespace}/${change.object.metadata.name}`);
    });
    try {
      await runStep('restart-kubelet', ctxFor({}, node));
    } finally {
      unsubscribe();
    }
    expect(actionPods).toEqual([expect.stringMatching(new RegExp(`^${PROBE_NAMESPACE}/`))]);
  }, 180_000);

  it('still cannot write anything else: other objects, other names, or a Flannel role with more in it', async () => {
    const bot = kube;
    const [deployment] = sim.store.list('Deployment');
    sim.store.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'coredns', namespace: 'kube-system' },
      data: { Corefile: '.:53 {}' },
    });
    sim.store.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'cluster-admin' },
      rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
    });
    const apply = (body: object) =>
      bot.objects.patch(
        body as k8s.KubernetesObject,
        undefined,
        undefined,
        'flannel-ops',
        true,
        k8s.PatchStrategy.ServerSideApply,
      );
    const podBody = (namespace: string): k8s.V1Pod => ({
      metadata: { name: 'not-a-probe', namespace },
      spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] },
    });
    const attempts = {
      deleteDeployment: await forbidden(
        bot.apps.deleteNamespacedDeployment({
          name: deployment?.metadata.name ?? 'web',
          namespace: deployment?.metadata.namespace ?? 'default',
        }),
      ),
      createPodInKubeSystem: await forbidden(
        bot.core.createNamespacedPod({ namespace: 'kube-system', body: podBody('kube-system') }),
      ),
      readSecrets: await forbidden(bot.core.listSecretForAllNamespaces()),
      deleteNode: await forbidden(bot.core.deleteNode({ name: sim.store.list('Node')[0].metadata.name })),
      patchOtherConfigMap: await forbidden(
        bot.core.patchNamespacedConfigMap(
          { name: 'coredns', namespace: 'kube-system', body: { data: { Corefile: 'x' } } },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        ),
      ),
      applyOtherDaemonSet: await forbidden(
        apply({
          apiVersion: 'apps/v1',
          kind: 'DaemonSet',
          metadata: { name: 'not-flannel', namespace: 'kube-system' },
          spec: {
            selector: { matchLabels: { app: 'x' } },
            template: {
              metadata: { labels: { app: 'x' } },
              spec: { containers: [{ name: 'c', image: 'x' }] },
            },
          },
        }),
      ),
      applyOtherClusterRole: await forbidden(
        apply({
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRole',
          metadata: { name: 'not-flannel' },
          rules: [],
        }),
      ),
      // Flannel's names, but a role granting what the bot does not hold: RBAC escalation prevention.
      widenFlannelRole: await forbidden(
        apply({
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRole',
          metadata: { name: 'flannel' },
          rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }],
        }),
      ),
      bindClusterAdmin: await forbidden(
        apply({
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRoleBinding',
          metadata: { name: 'flannel' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
          subjects: [{ kind: 'ServiceAccount', name: BOT_SERVICE_ACCOUNT, namespace: BOT_NAMESPACE }],
        }),
      ),
    };
    for (const [what, result] of Object.entries(attempts))
      expect({ what, code: result.code }).toEqual({ what, code: 403 });
    expect(attempts.widenFlannelRole.message).toContain(
      'attempting to grant RBAC permissions not currently held',
    );
    expect(attempts.widenFlannelRole.message).toContain('Resources:["secrets"]');
    expect(attempts.bindClusterAdmin.message).toContain(
      'attempting to grant RBAC permissions not currently held',
    );
    // Nothing changed.
    expect(
      (sim.store.get('ConfigMap', 'kube-system', 'coredns')?.data as Record<string, string>).Corefile,
    ).toBe('.:53 {}');
    expect(sim.store.get('ClusterRole', undefined, 'flannel')?.rules ?? []).not.toContainEqual(
      expect.objectContaining({ resources: ['secrets'] }),
    );
    const binding = sim.store.get('ClusterRoleBinding', undefined, 'flannel');
    expect((binding?.roleRef as { name?: string } | undefined)?.name).not.toBe('cluster-admin');
  }, 60_000);
});

describe('kubectl apply --server-side of the rendered manifests', () => {
  let sim: Simulator;

  beforeAll(async () => {
    sim = await startSimulator({
      scenario: 'healthy',
      port: 0,
      rbac: true,
      startDelayMs: 10,
      onError: () => undefined,
    });
    cleanups.push(() => sim.stop());
    await sim.settle();
  }, 60_000);

  it('creates every object, starts the bot pods with the config mounted, and re-applies with no conflict', async () => {
    const manifest = join(workDir, 'rendered.yaml');
    writeFileSync(manifest, rendered.map((o) => YAML.stringify(o)).join('---\n'));
    const args = ['apply', '--server-side', '--field-manager', 'flannel-ops-install', '-f', manifest];
    const first = await kubectl(sim.kubeconfigPath, args);
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });
    for (const o of rendered) {
      expect(first.stdout).toContain(`${o.metadata.name} serverside-applied`);
      expect({
        kind: o.kind,
        name: o.metadata.name,
        stored: !!sim.store.get(o.kind, o.metadata.namespace, o.metadata.name),
      }).toEqual({ kind: o.kind, name: o.metadata.name, stored: true });
    }

    // The Deployment's pods run (the ConfigMap volume exists under its generated name) as the bot's account.
    const replicas = (renderedOf('Deployment', 'flannel-ops')[0].spec as { replicas: number }).replicas;
    const running = await waitFor('the bot pods to run', () => {
      const pods = sim.store.list('Pod', {
        namespace: BOT_NAMESPACE,
        labelSelector: 'app.kubernetes.io/name=flannel-ops',
      });
      const up = pods.filter((p) => (p.status as { phase?: string } | undefined)?.phase === 'Running');
      return up.length === replicas ? up : undefined;
    });
    expect(running.map((p) => (p.spec as k8s.V1PodSpec).serviceAccountName)).toEqual(
      Array(replicas).fill(BOT_SERVICE_ACCOUNT),
    );

    const again = await kubectl(sim.kubeconfigPath, args);
    expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: '' });
  }, 90_000);
});
