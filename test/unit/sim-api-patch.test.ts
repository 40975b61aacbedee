import { describe, expect, it } from '@jest/globals';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from '../../src/sim/kube/api/patch.js';
import { serverSideApply } from '../../src/sim/kube/api/managed-fields.js';

describe('JSON patch (RFC 6902)', () => {
  const doc = { metadata: { labels: { a: '1' } }, spec: { list: [1, 2, 3] } };

  it('applies add, remove, replace, move, copy and test without touching the input', () => {
    const out = applyJsonPatch(doc, [
      { op: 'test', path: '/metadata/labels/a', value: '1' },
      { op: 'add', path: '/metadata/labels/b~1c', value: '2' },
      { op: 'replace', path: '/metadata/labels/a', value: 'x' },
      { op: 'remove', path: '/spec/list/0' },
      { op: 'add', path: '/spec/list/-', value: 4 },
      { op: 'copy', from: '/metadata/labels/a', path: '/spec/copied' },
      { op: 'move', from: '/spec/copied', path: '/spec/moved' },
    ]);
    expect(out).toEqual({
      metadata: { labels: { a: 'x', 'b/c': '2' } },
      spec: { list: [2, 3, 4], moved: 'x' },
    });
    expect(doc.spec.list).toEqual([1, 2, 3]);
  });

  it('fails a test op or a missing path with 422', () => {
    expect(() => applyJsonPatch(doc, [{ op: 'test', path: '/metadata/labels/a', value: '2' }])).toThrow(
      expect.objectContaining({ code: 422 }),
    );
    expect(() => applyJsonPatch(doc, [{ op: 'remove', path: '/nope/x' }])).toThrow(
      expect.objectContaining({ code: 422 }),
    );
  });
});

describe('merge patch (RFC 7386)', () => {
  it('merges maps, replaces lists and deletes with null', () => {
    const out = applyMergePatch(
      { a: { b: 1, c: 2 }, l: [1, 2], keep: true },
      { a: { b: null, d: 3 }, l: [9] },
    );
    expect(out).toEqual({ a: { c: 2, d: 3 }, l: [9], keep: true });
  });
});

describe('strategic merge patch', () => {
  const pod = {
    spec: {
      containers: [
        { name: 'app', image: 'app:1', env: [{ name: 'A', value: '1' }] },
        { name: 'side', image: 'side:1' },
      ],
      tolerations: [{ operator: 'Exists' }],
    },
    metadata: { finalizers: ['x'] },
  };

  it('merges containers and env by name, keeps unmentioned items', () => {
    const out = applyStrategicMergePatch(pod, {
      spec: { containers: [{ name: 'app', image: 'app:2', env: [{ name: 'B', value: '2' }] }] },
    }) as typeof pod;
    expect(out.spec.containers).toEqual([
      {
        name: 'app',
        image: 'app:2',
        env: [
          { name: 'A', value: '1' },
          { name: 'B', value: '2' },
        ],
      },
      { name: 'side', image: 'side:1' },
    ]);
  });

  it('honours $patch: delete on list items and replace on maps, null deletes keys, unkeyed lists replace', () => {
    const out = applyStrategicMergePatch(pod, {
      spec: {
        containers: [{ name: 'side', $patch: 'delete' }],
        tolerations: [{ key: 'k', operator: 'Equal' }],
      },
      metadata: { $patch: 'replace', labels: { only: 'this' } },
    }) as Record<string, unknown>;
    expect(out).toEqual({
      spec: {
        containers: [{ name: 'app', image: 'app:1', env: [{ name: 'A', value: '1' }] }],
        tolerations: [{ key: 'k', operator: 'Equal' }],
      },
      metadata: { labels: { only: 'this' } },
    });
  });

  it('merges finalizers as a set and supports $deleteFromPrimitiveList', () => {
    const added = applyStrategicMergePatch(pod, { metadata: { finalizers: ['y', 'x'] } }) as typeof pod;
    expect(added.metadata.finalizers).toEqual(['x', 'y']);
    const removed = applyStrategicMergePatch(added, {
      metadata: { '$deleteFromPrimitiveList/finalizers': ['x'] },
    }) as typeof pod;
    expect(removed.metadata.finalizers).toEqual(['y']);
  });
});

describe('server-side apply', () => {
  const target = { plural: 'configmaps', name: 'cm', group: '' };
  const cm = (data: Record<string, string>): Record<string, unknown> => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cm', namespace: 'default' },
    data,
  });

  it('records ownership, removes fields the manager stops applying, and keeps others fields', () => {
    const first = serverSideApply(undefined, cm({ a: '1', b: '2' }), 'alice', false, target);
    expect((first.metadata as { managedFields: unknown[] }).managedFields).toEqual([
      expect.objectContaining({
        manager: 'alice',
        operation: 'Apply',
        fieldsV1: { 'f:data': { 'f:a': {}, 'f:b': {} } },
      }),
    ]);
    const withBob = serverSideApply(first, cm({ c: '3' }), 'bob', false, target);
    const second = serverSideApply(withBob, cm({ a: '1' }), 'alice', false, target);
    expect(second.data).toEqual({ a: '1', c: '3' });
  });

  it('conflicts (409, FieldManagerConflict) on a field another manager set to a different value, unless forced', () => {
    const owned = serverSideApply(undefined, cm({ a: '1' }), 'alice', false, target);
    expect(() => serverSideApply(owned, cm({ a: '2' }), 'bob', false, target)).toThrow(
      expect.objectContaining({
        code: 409,
        details: expect.objectContaining({
          causes: [
            { reason: 'FieldManagerConflict', message: 'conflict with "alice" using v1', field: '.data.a' },
          ],
        }),
      }),
    );
    // Same value: shared ownership, no conflict.
    expect(() => serverSideApply(owned, cm({ a: '1' }), 'bob', false, target)).not.toThrow();
    const forced = serverSideApply(owned, cm({ a: '2' }), 'bob', true, target);
    expect(forced.data).toEqual({ a: '2' });
    const managers = (forced.metadata as { managedFields: Array<{ manager: string }> }).managedFields.map(
      (m) => m.manager,
    );
    expect(managers).toEqual(['bob']);
  });
});
