import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { namespace, pod, startFixture, waitFor, type SimFixture } from './sim-api-helpers.js';

let fx: SimFixture;
let kc: k8s.KubeConfig;

beforeAll(async () => {
  fx = await startFixture((store) => {
    store.create(namespace('default'));
    store.create(namespace('other'));
  });
  kc = new k8s.KubeConfig();
  kc.loadFromFile(fx.kubeconfig);
});

afterAll(async () => {
  await fx.close();
});

describe('@kubernetes/client-node informer', () => {
  it('keeps an exact cache through add/update/delete, dropped watches and a compacted (410) history', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const informer = k8s.makeInformer(kc, '/api/v1/namespaces/default/pods', () =>
      core.listNamespacedPod({ namespace: 'default' }),
    );
    const seen: string[] = [];
    const errors: unknown[] = [];
    informer.on('add', (p) => seen.push(`add ${p.metadata?.name}`));
    informer.on('update', (p) => seen.push(`update ${p.metadata?.name}`));
    informer.on('delete', (p) => seen.push(`delete ${p.metadata?.name}`));
    informer.on('error', (e) => errors.push(e));
    const names = (): string[] =>
      informer
        .list()
        .map((p) => p.metadata?.name ?? '')
        .sort();
    try {
      await informer.start();
      fx.store.create(pod('a', 'default', undefined));
      fx.store.create(pod('b', 'default', undefined));
      fx.store.create(pod('ignored', 'other', undefined));
      fx.store.mutate('Pod', 'default', 'a', (p) => {
        p.metadata.labels = { ...p.metadata.labels, touched: 'yes' };
      });
      fx.store.delete('Pod', 'default', 'b');
      await waitFor(() => seen.length >= 4, 'the first four callbacks');
      expect(seen).toEqual(['add a', 'add b', 'update a', 'delete b']);

      // A dropped watch: the informer resumes from its last resourceVersion, nothing repeats.
      fx.api.faults.dropWatches();
      fx.store.create(pod('c', 'default', undefined));
      await waitFor(() => seen.length >= 5, 'the add after the dropped watch');

      // Changes while the next watch is forced to 410: the informer relists and diffs. The live
      // order would be "add d, delete c"; the relist reports removals first, which proves the relist.
      fx.api.faults.expireNextWatch();
      fx.api.faults.dropWatches();
      fx.store.create(pod('d', 'default', undefined));
      fx.store.delete('Pod', 'default', 'c');
      await waitFor(() => seen.length >= 7, 'the relist after the forced 410');

      // Same through a compacted history: the resume version is too old.
      fx.api.faults.dropWatches();
      fx.store.create(pod('f', 'default', undefined));
      fx.store.delete('Pod', 'default', 'd');
      fx.store.compact();
      await waitFor(() => seen.length >= 9, 'the relist after compaction');
      fx.store.create(pod('e', 'default', undefined));
      await waitFor(() => seen.length >= 10, 'the add after the relists');
      // A marker: once its add arrives, any duplicate delivery of what came before would have arrived too.
      fx.store.create(pod('z-marker', 'default', undefined));
      await waitFor(() => seen.includes('add z-marker'), 'the marker');
      expect(seen.pop()).toBe('add z-marker');
      expect(seen).toEqual([
        'add a',
        'add b',
        'update a',
        'delete b',
        'add c',
        'delete c',
        'add d',
        'delete d',
        'add f',
        'add e',
      ]);
      expect(names()).toEqual(['a', 'e', 'f', 'z-marker']);
      expect(errors).toEqual([]);
    } finally {
      await informer.stop();
    }
  });
});

describe('@kubernetes/client-node typed and generic APIs', () => {
  it('list, read, JSON/merge patch and delete a pod', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedPod({
      namespace: 'default',
      body: pod('typed', 'default', undefined) as k8s.V1Pod,
    });
    const list = await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=typed' });
    expect(list.items.map((p) => p.metadata?.name)).toEqual(['typed']);

    await core.patchNamespacedPod({
      name: 'typed',
      namespace: 'default',
      body: [{ op: 'add', path: '/metadata/annotations', value: { via: 'json-patch' } }],
    });
    await core.patchNamespacedPod(
      { name: 'typed', namespace: 'default', body: { metadata: { labels: { tier: 'merge' } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const read = await core.readNamespacedPod({ name: 'typed', namespace: 'default' });
    expect(read.metadata?.annotations).toEqual({ via: 'json-patch' });
    expect(read.metadata?.labels).toEqual({ app: 'typed', tier: 'merge' });

    await core.deleteNamespacedPod({ name: 'typed', namespace: 'default' });
    await expect(core.readNamespacedPod({ name: 'typed', namespace: 'default' })).rejects.toMatchObject({
      code: 404,
    });
  });

  it('creating in a missing namespace is a 404 for the namespace', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const err = await core
      .createNamespacedConfigMap({ namespace: 'ghost', body: { metadata: { name: 'x' } } })
      .catch((e: unknown) => e as k8s.ApiException<string>);
    expect(err).toMatchObject({ code: 404 });
    expect(JSON.parse((err as k8s.ApiException<string>).body).message).toBe('namespaces "ghost" not found');
  });

  it('KubernetesObjectApi server-side apply honours dryRun and then applies', async () => {
    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    const cm = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'ssa', namespace: 'default' },
      data: { k: 'v' },
    };
    const dry = await objects.patch(cm, undefined, 'All', 'bot', true, k8s.PatchStrategy.ServerSideApply);
    expect((dry as k8s.V1ConfigMap).data).toEqual({ k: 'v' });
    expect(fx.store.get('ConfigMap', 'default', 'ssa')).toBeUndefined();

    await objects.patch(cm, undefined, undefined, 'bot', true, k8s.PatchStrategy.ServerSideApply);
    expect(fx.store.get('ConfigMap', 'default', 'ssa')?.data).toEqual({ k: 'v' });

    // Another manager changing a field the bot owns conflicts unless forced.
    const other = { ...cm, data: { k: 'other' } };
    await expect(
      objects.patch(other, undefined, undefined, 'someone-else', false, k8s.PatchStrategy.ServerSideApply),
    ).rejects.toMatchObject({ code: 409 });
    await objects.patch(other, undefined, undefined, 'someone-else', true, k8s.PatchStrategy.ServerSideApply);
    expect(fx.store.get('ConfigMap', 'default', 'ssa')?.data).toEqual({ k: 'other' });
  });
});
