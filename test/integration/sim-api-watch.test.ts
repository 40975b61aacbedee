import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeObject } from '../../src/sim/kube/store.js';
import { namespace, pod, startFixture, waitFor, type SimFixture } from './sim-api-helpers.js';

interface WatchEvent {
  type: string;
  object: KubeObject & { code?: number; reason?: string; message?: string };
}

/** A raw watch stream: collects parsed lines until the server closes it or `stop()` is called. */
function openWatch(url: string): {
  events: WatchEvent[];
  ended: Promise<void>;
  stop(): void;
  status: Promise<number>;
} {
  const events: WatchEvent[] = [];
  const ac = new AbortController();
  let resolveStatus: (n: number) => void = () => {};
  const status = new Promise<number>((r) => (resolveStatus = r));
  const ended = (async () => {
    try {
      const res = await fetch(url, { signal: ac.signal });
      resolveStatus(res.status);
      const decoder = new TextDecoder();
      let buf = '';
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buf.slice(0, nl)) as WatchEvent);
          buf = buf.slice(nl + 1);
        }
      }
    } catch (err) {
      if ((err as Error).name !== 'AbortError') throw err;
    }
  })();
  return { events, ended, status, stop: () => ac.abort() };
}

let fx: SimFixture;

beforeAll(async () => {
  fx = await startFixture(
    (store) => {
      store.create(namespace('default'));
      store.create(namespace('storm'));
      store.create(pod('p1', 'default', 'node-1', { phase: 'Pending' }));
    },
    { watchBookmarkIntervalMs: 50 },
  );
});

afterAll(async () => {
  await fx.close();
});

describe('watch semantics', () => {
  it('without resourceVersion starts with ADDED for current state; with one, only later changes', async () => {
    const rv = fx.store.resourceVersion;
    const fresh = openWatch(`${fx.api.url}/api/v1/namespaces/default/pods?watch=true`);
    const exact = openWatch(`${fx.api.url}/api/v1/namespaces/default/pods?watch=true&resourceVersion=${rv}`);
    await waitFor(() => fresh.events.length === 1, 'the synthetic ADDED');
    fx.store.mutate('Pod', 'default', 'p1', (p) => {
      p.metadata.labels = { touched: 'yes' };
    });
    await waitFor(() => fresh.events.length === 2 && exact.events.length === 1, 'the MODIFIED');
    fresh.stop();
    exact.stop();
    expect(fresh.events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED']);
    expect(exact.events.map((e) => `${e.type} ${e.object.metadata.resourceVersion}`)).toEqual([
      `MODIFIED ${fx.store.resourceVersion}`,
    ]);
  });

  it('a compacted resourceVersion gets 200, one ERROR 410 Expired event, then the stream closes', async () => {
    const old = fx.store.resourceVersion;
    fx.store.mutate('Pod', 'default', 'p1', (p) => {
      p.metadata.labels = { touched: 'again' };
    });
    fx.store.compact();
    const w = openWatch(`${fx.api.url}/api/v1/namespaces/default/pods?watch=true&resourceVersion=${old}`);
    await w.ended;
    expect(await w.status).toBe(200);
    expect(w.events).toEqual([
      {
        type: 'ERROR',
        object: expect.objectContaining({
          kind: 'Status',
          code: 410,
          reason: 'Expired',
          message: expect.stringContaining(`too old resource version: ${old}`),
        }),
      },
    ]);
  });

  it('selectors turn "started/stopped matching" into ADDED/DELETED; sendInitialEvents ends with the annotated bookmark', async () => {
    const url = `${fx.api.url}/api/v1/pods?watch=true&fieldSelector=status.phase%3DRunning&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan`;
    const w = openWatch(url);
    await waitFor(() => w.events.some((e) => e.type === 'BOOKMARK'), 'the initial-events-end bookmark');
    expect(w.events[0].object.metadata.annotations).toEqual({ 'k8s.io/initial-events-end': 'true' });
    fx.store.mutate('Pod', 'default', 'p1', (p) => {
      p.status = { phase: 'Running' };
    });
    fx.store.mutate('Pod', 'default', 'p1', (p) => {
      p.status = { phase: 'Failed' };
    });
    await waitFor(() => w.events.filter((e) => e.type !== 'BOOKMARK').length >= 2, 'the transitions');
    w.stop();
    expect(w.events.filter((e) => e.type !== 'BOOKMARK').map((e) => e.type)).toEqual(['ADDED', 'DELETED']);
  });

  it('timeoutSeconds ends the stream cleanly', async () => {
    const w = openWatch(
      `${fx.api.url}/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=1&resourceVersion=${fx.store.resourceVersion}`,
    );
    await w.ended;
    expect(await w.status).toBe(200);
    expect(w.events).toEqual([]);
  });

  it('dryRun=All writes nothing, bumps no resourceVersion and sends no watch event', async () => {
    const rv = fx.store.resourceVersion;
    const w = openWatch(
      `${fx.api.url}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}`,
    );
    await w.status;
    const res = await fetch(`${fx.api.url}/api/v1/namespaces/default/configmaps?dryRun=All`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'dry' } }),
    });
    expect(res.status).toBe(201);
    expect(fx.store.get('ConfigMap', 'default', 'dry')).toBeUndefined();
    expect(fx.store.resourceVersion).toBe(rv);
    fx.store.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'real', namespace: 'default' },
    });
    await waitFor(() => w.events.length >= 1, 'the real create');
    w.stop();
    expect(w.events.map((e) => e.object.metadata.name)).toEqual(['real']);
  });

  it('injected failures answer the next N requests with a 5xx Status, then recover', async () => {
    fx.api.faults.failNext(2, 503);
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) codes.push((await fetch(`${fx.api.url}/api/v1/pods`)).status);
    expect(codes).toEqual([503, 503, 200]);
    await fetch(`${fx.api.url}/_sim/faults/fail?count=1&status=500`, { method: 'POST' });
    const res = await fetch(`${fx.api.url}/api/v1/pods`);
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ kind: 'Status', reason: 'InternalError', code: 500 });
  });

  it('a storm of 10,000 events reaches every one of 20 watchers exactly once, in order', async () => {
    const rv = fx.store.resourceVersion;
    const watchers = Array.from({ length: 20 }, () =>
      openWatch(`${fx.api.url}/api/v1/namespaces/storm/events?watch=true&resourceVersion=${rv}`),
    );
    await Promise.all(watchers.map((w) => w.status));
    for (let i = 0; i < 10000; i++) {
      fx.store.create({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: `e-${i}`, namespace: 'storm' },
        involvedObject: { kind: 'Pod', name: `p-${i % 50}`, namespace: 'storm' },
        reason: 'FailedCreatePodSandBox',
        message: 'sandbox failed',
        type: 'Warning',
      });
    }
    await waitFor(() => watchers.every((w) => w.events.length >= 10000), 'all storm events', 60000);
    for (const w of watchers) w.stop();
    for (const w of watchers) {
      expect(w.events.length).toBe(10000);
      expect(w.events[0].object.metadata.name).toBe('e-0');
      expect(w.events[9999].object.metadata.name).toBe('e-9999');
    }
    const list = (await (
      await fetch(`${fx.api.url}/apis/events.k8s.io/v1/namespaces/storm/events?limit=4000`)
    ).json()) as {
      items: Array<{ note?: string; regarding?: { name: string } }>;
      metadata: { continue?: string; remainingItemCount?: number };
    };
    expect(list.items).toHaveLength(4000);
    expect(list.items[0]).toMatchObject({ note: 'sandbox failed', regarding: { name: expect.any(String) } });
    expect(list.metadata.remainingItemCount).toBe(6000);
    const next = (await (
      await fetch(
        `${fx.api.url}/api/v1/namespaces/storm/events?limit=4000&continue=${list.metadata.continue}`,
      )
    ).json()) as { items: unknown[]; metadata: { continue?: string } };
    expect(next.items).toHaveLength(4000);
    expect(next.metadata.continue).toBeDefined();
  });
});
