import { describe, expect, test } from '@jest/globals';
import { LEAN_METHODS, leanMethod, leanRequest, SharedReads } from '../../src/kube/lean-api.js';

describe('lean API requests (the URL client-node would call)', () => {
  test('path parameters are filled in and encoded; the rest become query parameters by their API names', () => {
    expect(
      leanRequest(LEAN_METHODS.core.listNamespacedPod, {
        namespace: 'kube flannel',
        labelSelector: 'app=flannel',
        limit: 500,
        _continue: 'abc',
        watch: false,
        pretty: undefined,
      }),
    ).toEqual({
      method: 'GET',
      path: '/api/v1/namespaces/kube%20flannel/pods',
      query: { labelSelector: 'app=flannel', limit: 500, continue: 'abc', watch: false },
    });
  });

  test('a read names its object; a pod log is read as text', () => {
    expect(
      leanRequest(LEAN_METHODS.core.readNamespacedPodLog, {
        namespace: 'kube-flannel',
        name: 'kube-flannel-ds-x/../y',
        container: 'kube-flannel',
        tailLines: 50,
      }),
    ).toEqual({
      method: 'GET',
      path: '/api/v1/namespaces/kube-flannel/pods/kube-flannel-ds-x%2F..%2Fy/log',
      query: { container: 'kube-flannel', tailLines: 50 },
      answer: 'text',
    });
  });

  test('a create sends its body as JSON; a delete keeps gracePeriodSeconds in the query', () => {
    const body = { metadata: { name: 'probe' } };
    expect(leanRequest(LEAN_METHODS.core.createNamespacedPod, { namespace: 'ops', body })).toEqual({
      method: 'POST',
      path: '/api/v1/namespaces/ops/pods',
      query: {},
      body,
    });
    expect(
      leanRequest(LEAN_METHODS.core.deleteNamespacedPod, {
        namespace: 'ops',
        name: 'p',
        gracePeriodSeconds: 0,
      }),
    ).toEqual({ method: 'DELETE', path: '/api/v1/namespaces/ops/pods/p', query: { gracePeriodSeconds: 0 } });
  });

  test('a missing path parameter is refused by name instead of calling a wrong URL', () => {
    expect(() => leanRequest(LEAN_METHODS.core.readNode, {})).toThrow(/name is required/);
    expect(() =>
      leanRequest(LEAN_METHODS.apps.readNamespacedDaemonSet, { name: 'x', namespace: '' }),
    ).toThrow(/namespace is required/);
  });

  test('only the listed methods have a lean form (writes such as patchNode stay typed)', () => {
    expect(leanMethod('core', 'listNode')).toBeDefined();
    expect(leanMethod('core', 'patchNode')).toBeUndefined();
    expect(leanMethod('objects', 'patch')).toBeUndefined();
    expect(leanMethod('core', 'toString')).toBeUndefined();
  });
});

describe('shared reads (one answer for identical lists of one cluster)', () => {
  function deferred<T>() {
    let resolve!: (v: T) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
    return { promise, resolve, reject };
  }

  test('requests made while one is in flight, and within the reuse window after, get its answer', async () => {
    let now = 0;
    const shared = new SharedReads(1_000, () => now);
    const answer = deferred<unknown>();
    let sent = 0;
    const send = () => (sent++, answer.promise);
    const a = shared.get('/api/v1/pods?', send);
    const b = shared.get('/api/v1/pods?', send);
    const list = { kind: 'PodList', items: [] };
    answer.resolve(list);
    expect(await a).toBe(list);
    expect(await b).toBe(list);
    now = 900;
    expect(await shared.get('/api/v1/pods?', send)).toBe(list);
    expect(sent).toBe(1);
    // Past the window: asked again.
    now = 2_000;
    await shared.get('/api/v1/pods?', () => (sent++, Promise.resolve({ kind: 'PodList', items: [1] })));
    expect(sent).toBe(2);
  });

  test('different queries are different requests; a failure is not handed to later callers', async () => {
    const shared = new SharedReads(1_000, () => 0);
    let sent = 0;
    const ok = () => (sent++, Promise.resolve({ kind: 'NodeList', items: [] }));
    await shared.get('/api/v1/pods?labelSelector=app%3Dflannel', ok);
    await shared.get('/api/v1/pods?', ok);
    expect(sent).toBe(2);
    const failing = deferred<unknown>();
    const first = shared.get('/api/v1/nodes?', () => failing.promise);
    failing.reject(new Error('503'));
    await expect(first).rejects.toThrow('503');
    expect(await shared.get('/api/v1/nodes?', ok)).toEqual({ kind: 'NodeList', items: [] });
    expect(sent).toBe(3);
  });
});
