import { describe, expect, test } from '@jest/globals';
import { LEAN_METHODS, leanMethod, leanRequest } from '../../src/kube/lean-api.js';

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
