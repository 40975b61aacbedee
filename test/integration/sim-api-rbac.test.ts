import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { join } from 'node:path';
import {
  kubectl,
  namespace,
  pod,
  startFixture,
  writeKubeconfig,
  type SimFixture,
} from './sim-api-helpers.js';

const BOT_TOKEN = 'bot-token-123';
let fx: SimFixture;

beforeAll(async () => {
  fx = await startFixture(
    (store) => {
      store.create(namespace('default'));
      store.create(namespace('ops'));
      store.create(pod('web-1', 'default', 'node-1'));
      store.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'bot', namespace: 'ops' } });
      store.create({
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/service-account-token',
        metadata: {
          name: 'bot-token',
          namespace: 'ops',
          annotations: { 'kubernetes.io/service-account.name': 'bot' },
        },
        data: { token: Buffer.from(BOT_TOKEN).toString('base64') },
      });
      store.create({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'pod-reader' },
        rules: [
          { apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list', 'watch'] },
          { apiGroups: [''], resources: ['configmaps'], resourceNames: ['allowed'], verbs: ['get'] },
        ],
      });
      store.create({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'bot-pod-reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'pod-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'bot', namespace: 'ops' }],
      });
    },
    { rbac: true },
  );
});

afterAll(async () => {
  await fx.close();
});

function clientFor(token: string): k8s.CoreV1Api {
  const path = join(fx.dir, `kubeconfig-${token}`);
  writeKubeconfig(path, fx.api.url, token);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(path);
  return kc.makeApiClient(k8s.CoreV1Api);
}

describe('opt-in RBAC', () => {
  it('a service-account token allowed to list pods can list them but gets 403 deleting one', async () => {
    const core = clientFor(BOT_TOKEN);
    const list = await core.listPodForAllNamespaces();
    expect(list.items.map((p) => p.metadata?.name)).toEqual(['web-1']);
    const err = (await core
      .deleteNamespacedPod({ name: 'web-1', namespace: 'default' })
      .catch((e: unknown) => e)) as k8s.ApiException<string>;
    expect(err.code).toBe(403);
    expect(JSON.parse(err.body).message).toBe(
      'pods "web-1" is forbidden: User "system:serviceaccount:ops:bot" cannot delete resource "pods" in API group "" in the namespace "default"',
    );
    expect(fx.store.get('Pod', 'default', 'web-1')).toBeDefined();
  });

  it('resourceNames restrict access to the named object', async () => {
    const core = clientFor(BOT_TOKEN);
    fx.store.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'allowed', namespace: 'ops' } });
    fx.store.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'secret-ish', namespace: 'ops' },
    });
    await expect(core.readNamespacedConfigMap({ name: 'allowed', namespace: 'ops' })).resolves.toBeDefined();
    await expect(
      core.readNamespacedConfigMap({ name: 'secret-ish', namespace: 'ops' }),
    ).rejects.toMatchObject({ code: 403 });
  });

  it('an unknown token is 401 with an Unauthorized Status', async () => {
    await expect(clientFor('who-knows').listNamespacedPod({ namespace: 'default' })).rejects.toMatchObject({
      code: 401,
    });
    const res = await fetch(`${fx.api.url}/api/v1/pods`, { headers: { authorization: 'Bearer who-knows' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
  });

  it('server-side apply that creates needs create as well as patch; updating needs only patch', async () => {
    fx.store.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'cm-patcher', namespace: 'ops' },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['patch'] }],
    });
    fx.store.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'bot-cm-patcher', namespace: 'ops' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cm-patcher' },
      subjects: [{ kind: 'ServiceAccount', name: 'bot', namespace: 'ops' }],
    });
    const path = join(fx.dir, 'kubeconfig-apply');
    writeKubeconfig(path, fx.api.url, BOT_TOKEN);
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(path);
    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    const configMap = (name: string) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: 'ops' },
      data: { state: 'applied' },
    });
    const apply = (name: string) =>
      objects.patch(
        configMap(name),
        undefined,
        undefined,
        'flannel-ops',
        true,
        k8s.PatchStrategy.ServerSideApply,
      );

    const err = (await apply('fresh').catch((e: unknown) => e)) as k8s.ApiException<string>;
    expect(err.code).toBe(403);
    expect(JSON.parse(err.body)).toMatchObject({
      reason: 'Forbidden',
      message: 'configmaps "fresh" is forbidden: ',
      details: { name: 'fresh', kind: 'configmaps' },
    });
    expect(fx.store.get('ConfigMap', 'ops', 'fresh')).toBeUndefined();

    fx.store.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'existing', namespace: 'ops' },
    });
    await apply('existing');
    expect(fx.store.get('ConfigMap', 'ops', 'existing')?.data).toEqual({ state: 'applied' });

    fx.store.mutate('Role', 'ops', 'cm-patcher', (role) => {
      (role as unknown as { rules: Array<{ verbs: string[] }> }).rules[0].verbs.push('create');
    });
    await apply('fresh');
    expect(fx.store.get('ConfigMap', 'ops', 'fresh')?.data).toEqual({ state: 'applied' });
  });

  // kubectl sends no credentials to http:// servers; such requests count as the admin by default.
  it('kubectl (no credentials over http) keeps full access', async () => {
    const r = await kubectl(fx, ['delete', 'pod', 'web-1', '--grace-period=0', '--force']);
    expect(r.stderr).not.toContain('Error');
    expect(r.code).toBe(0);
    expect(fx.store.get('Pod', 'default', 'web-1')).toBeUndefined();
  });
});
