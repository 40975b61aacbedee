/** Watch streams: one JSON event per line, resourceVersion semantics, bookmarks, 410, selectors. */
import type { ServerResponse } from 'node:http';
import type { HistoryEvent, KubeObject, ObjectStore } from '../store.js';
import { type ResourceType, isEventsV1View, storageResource } from '../resources.js';
import { type ObjectFilter, matchesFilter } from './selectors.js';
import { expired } from './status.js';
import { toEventsV1 } from './events-view.js';
import { type IncludeObject, renderTable } from './table.js';

export interface WatchParams {
  resource: ResourceType; // the view the client asked for
  filter: ObjectFilter;
  resourceVersion?: string;
  sendInitialEvents: boolean;
  allowBookmarks: boolean;
  timeoutSeconds?: number;
  table?: { include: IncludeObject };
}

/** A slow client that lets this much pile up is cut off instead of buffering without bound. */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

/** Every open watch, so faults can drop them all. */
export class WatchRegistry {
  private readonly open = new Set<() => void>();
  private expireNext = false;

  add(close: () => void): () => void {
    this.open.add(close);
    return () => {
      this.open.delete(close);
    };
  }

  dropAll(): void {
    for (const close of [...this.open]) close();
  }

  expireNextWatch(): void {
    this.expireNext = true;
  }

  /** Consumes the one-shot "answer the next watch with 410" fault. */
  takeExpire(): boolean {
    const e = this.expireNext;
    this.expireNext = false;
    return e;
  }

  reset(): void {
    this.expireNext = false;
  }

  get size(): number {
    return this.open.size;
  }
}

export function viewObject(resource: ResourceType, obj: KubeObject): KubeObject {
  return isEventsV1View(resource) ? toEventsV1(obj) : obj;
}

export function serveWatch(
  store: ObjectStore,
  params: WatchParams,
  res: ServerResponse,
  registry: WatchRegistry,
  bookmarkIntervalMs: number,
): void {
  const { resource, filter } = params;
  const storage = storageResource(resource);
  const viewKey = resource.apiVersion;
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Transfer-Encoding': 'chunked',
  });
  res.flushHeaders();

  let closed = false;
  const timers: NodeJS.Timeout[] = [];
  let unsubscribe = (): void => {};
  let unregister = (): void => {};
  const finish = (): void => {
    if (closed) return;
    closed = true;
    unsubscribe();
    unregister();
    for (const t of timers) clearTimeout(t); // also clears intervals
    if (!res.writableEnded) res.end();
  };
  res.on('close', finish);

  const write = (line: string): void => {
    if (closed) return;
    if (res.writableLength > MAX_BUFFERED_BYTES) {
      closed = true;
      unsubscribe();
      unregister();
      res.destroy();
      return;
    }
    res.write(line);
  };

  const render = (type: string, obj: KubeObject): string => {
    if (params.table) {
      const table = renderTable(
        resource,
        [obj],
        { resourceVersion: obj.metadata.resourceVersion ?? '' },
        params.table.include,
      );
      return JSON.stringify({ type, object: table }) + '\n';
    }
    return JSON.stringify({ type, object: viewObject(resource, obj) }) + '\n';
  };

  const bookmark = (annotations?: Record<string, string>): void => {
    const metadata: Record<string, unknown> = { resourceVersion: store.resourceVersion };
    if (annotations) metadata.annotations = annotations;
    write(
      JSON.stringify({
        type: 'BOOKMARK',
        object: { kind: resource.kind, apiVersion: resource.apiVersion, metadata },
      }) + '\n',
    );
  };

  const simpleFilter = filter.labels.length === 0 && filter.fields.length === 0;
  const deliver = (e: HistoryEvent): void => {
    if (e.resource !== storage) return;
    if (simpleFilter) {
      if (filter.namespace !== undefined && e.object.metadata.namespace !== filter.namespace) return;
      write(cachedLine(e));
      return;
    }
    const now = matchesFilter(filter, e.object);
    const before = e.type === 'MODIFIED' && e.prev ? matchesFilter(filter, e.prev) : now;
    if (e.type !== 'MODIFIED') {
      if (now) write(cachedLine(e));
    } else if (now && before) write(cachedLine(e));
    else if (now) write(render('ADDED', e.object));
    else if (before && e.prev) {
      // Stopped matching: the previous state, stamped with this change's version (like the watch cache).
      const gone = {
        ...e.prev,
        metadata: { ...e.prev.metadata, resourceVersion: e.object.metadata.resourceVersion },
      };
      write(render('DELETED', gone));
    }
  };

  const cachedLine = (e: HistoryEvent): string => {
    if (params.table) return render(e.type, e.object);
    let line = e.lines.get(viewKey);
    if (line === undefined) {
      line = render(e.type, e.object);
      e.lines.set(viewKey, line);
    }
    return line;
  };

  const rv = params.resourceVersion;
  const fromState = rv === undefined || rv === '' || rv === '0' || params.sendInitialEvents;
  if (!fromState && registry.takeExpire()) {
    write(
      JSON.stringify({ type: 'ERROR', object: expired(rv, Number(store.resourceVersion)).toStatus() }) + '\n',
    );
    finish();
    return;
  }
  if (fromState) {
    for (const obj of store.listShared(storage, { namespace: filter.namespace })) {
      if (simpleFilter || matchesFilter(filter, obj)) write(render('ADDED', obj));
    }
    if (params.sendInitialEvents && params.allowBookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });
  } else {
    const n = Number(rv);
    if (!Number.isFinite(n) || n < 0) {
      write(JSON.stringify({ type: 'ERROR', object: expired(rv, 0).toStatus() }) + '\n');
      finish();
      return;
    }
    const since = store.historySince(storage, n);
    if ('expiredBefore' in since) {
      write(JSON.stringify({ type: 'ERROR', object: expired(rv, since.expiredBefore).toStatus() }) + '\n');
      finish();
      return;
    }
    for (const e of since.events) deliver(e);
  }
  if (closed) return;
  unsubscribe = store.subscribeRaw(deliver);
  unregister = registry.add(finish);
  if (params.allowBookmarks && bookmarkIntervalMs > 0) {
    const interval = setInterval(bookmark, bookmarkIntervalMs);
    timers.push(interval);
  }
  if (params.timeoutSeconds !== undefined && params.timeoutSeconds > 0) {
    timers.push(
      setTimeout(() => {
        if (params.allowBookmarks) bookmark();
        finish();
      }, params.timeoutSeconds * 1000),
    );
  }
}
