/** Handlers for resource requests: get, list, watch, create, update, patch, delete, logs. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import type { DeleteOptions, KubeObject, ObjectStore } from '../store.js';
import { type ResourceType, isEventsV1View, resourceForKind, storageResource } from '../resources.js';
import { fromEventsV1 } from './events-view.js';
import { mediaType, parseJsonBody, readBody, sendJson, sendText } from './http.js';
import { serverSideApply } from './managed-fields.js';
import { PATCH_TYPES, applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from './patch.js';
import { compileFilter } from './selectors.js';
import {
  ApiError,
  badRequest,
  forbiddenCreateOnApply,
  methodNotAllowed,
  notFound,
  unsupportedMediaType,
} from './status.js';
import { type IncludeObject, renderTable, wantsTable } from './table.js';
import { type WatchRegistry, serveWatch, viewObject } from './watch.js';

export interface ResourceRequest {
  method: string;
  query: URLSearchParams;
  resource: ResourceType; // as addressed (events.k8s.io view or storage type)
  namespace?: string;
  name?: string;
  subresource?: string;
  req: IncomingMessage;
  res: ServerResponse;
  /**
   * Whether the requesting user may perform `verb` on the addressed object (RBAC); absent when RBAC is
   * off or the user is an admin. Used where one request needs a second verb (apply creating an object).
   */
  authorize?: (verb: string) => boolean;
  /**
   * Admission of an object about to be written (create, update, patch, apply), for checks that depend on
   * the user (RBAC escalation prevention); throws the API error. Absent when RBAC is off or for admins.
   */
  admit?: (obj: KubeObject) => void;
}

export interface HandlerDeps {
  store: ObjectStore;
  watches: WatchRegistry;
  bookmarkIntervalMs: number;
}

/** The RBAC verb a request needs. */
export function verbOf(r: Pick<ResourceRequest, 'method' | 'query' | 'name'>): string {
  const watch = r.query.get('watch');
  switch (r.method) {
    case 'GET':
      if (r.name) return 'get';
      return watch === 'true' || watch === '1' ? 'watch' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return r.name ? 'delete' : 'deletecollection';
    default:
      return r.method.toLowerCase();
  }
}

function dryRunOf(query: URLSearchParams, body?: { dryRun?: unknown }): boolean {
  const values = [
    ...query.getAll('dryRun'),
    ...(Array.isArray(body?.dryRun) ? (body.dryRun as string[]) : []),
  ];
  for (const v of values)
    if (v !== 'All') throw badRequest(`dryRun: Unsupported value: "${v}": supported values: "All"`);
  return values.length > 0;
}

function fieldManagerOf(r: ResourceRequest): string {
  const fm = r.query.get('fieldManager');
  if (fm) return fm;
  // The real server derives the default manager from the User-Agent's first token.
  const ua = r.req.headers['user-agent'] ?? 'unknown';
  return ua.split('/')[0] || 'unknown';
}

function includeObjectOf(query: URLSearchParams): IncludeObject {
  const v = query.get('includeObject');
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

function listKind(r: ResourceType): string {
  return `${r.kind}List`;
}

function encodeContinue(rv: string, after: string): string {
  return Buffer.from(JSON.stringify({ rv, after })).toString('base64url');
}

function decodeContinue(token: string): { rv: string; after: string } {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      rv?: unknown;
      after?: unknown;
    };
    if (typeof v.rv === 'string' && typeof v.after === 'string') return { rv: v.rv, after: v.after };
  } catch {
    // fall through
  }
  throw badRequest(
    'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
  );
}

function sendObject(r: ResourceRequest, code: number, obj: KubeObject): void {
  if (wantsTable(r.req.headers.accept)) {
    const table = renderTable(
      r.resource,
      [obj],
      { resourceVersion: obj.metadata.resourceVersion ?? '' },
      includeObjectOf(r.query),
    );
    sendJson(r.res, code, table);
    return;
  }
  sendJson(r.res, code, viewObject(r.resource, obj));
}

export async function handleResource(deps: HandlerDeps, r: ResourceRequest): Promise<void> {
  const { store } = deps;
  if (r.subresource === 'log') {
    if (r.method !== 'GET' || storageResource(r.resource).kind !== 'Pod') throw methodNotAllowed();
    return handleLog(store, r);
  }
  if (r.subresource && r.subresource !== 'status') throw notFoundPath();
  if (r.subresource === 'status' && !r.resource.subresources.includes('status')) throw notFoundPath();
  if (!r.name) {
    if (r.subresource) throw notFoundPath();
    if (r.method === 'GET') return handleListOrWatch(deps, r);
    if (r.method === 'POST') return handleCreate(store, r);
    if (r.method === 'DELETE') return handleDeleteCollection(store, r);
    throw methodNotAllowed();
  }
  switch (r.method) {
    case 'GET': {
      const obj = store.getShared(r.resource, r.namespace, r.name);
      if (!obj) throw notFound(r.resource.plural, r.resource.group, r.name);
      return sendObject(r, 200, obj);
    }
    case 'PUT':
      return handleReplace(store, r);
    case 'PATCH':
      return handlePatch(store, r);
    case 'DELETE':
      if (r.subresource) throw methodNotAllowed();
      return handleDelete(store, r);
    default:
      throw methodNotAllowed();
  }
}

function notFoundPath(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource');
}

function handleListOrWatch(deps: HandlerDeps, r: ResourceRequest): void {
  const { store } = deps;
  const q = r.query;
  const filter = compileFilter(r.resource.selectableFields, {
    namespace: r.namespace,
    labelSelector: q.get('labelSelector') ?? undefined,
    fieldSelector: q.get('fieldSelector') ?? undefined,
  });
  const watch = q.get('watch');
  if (watch === 'true' || watch === '1') {
    const timeout = q.get('timeoutSeconds');
    serveWatch(
      store,
      {
        resource: r.resource,
        filter,
        resourceVersion: q.get('resourceVersion') ?? undefined,
        sendInitialEvents: q.get('sendInitialEvents') === 'true',
        allowBookmarks: q.get('allowWatchBookmarks') === 'true',
        timeoutSeconds: timeout ? Number(timeout) : undefined,
        table: wantsTable(r.req.headers.accept) ? { include: includeObjectOf(q) } : undefined,
      },
      r.res,
      deps.watches,
      deps.bookmarkIntervalMs,
    );
    return;
  }
  let items = store.listShared(r.resource, {
    namespace: r.namespace,
    labelSelector: q.get('labelSelector') ?? undefined,
    fieldSelector: q.get('fieldSelector') ?? undefined,
  });
  let listRv = store.resourceVersion;
  const cont = q.get('continue');
  if (cont) {
    const token = decodeContinue(cont);
    listRv = token.rv;
    items = items.filter((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}` > token.after);
  }
  const limit = Number(q.get('limit') ?? '0');
  const metadata: Record<string, unknown> = { resourceVersion: listRv };
  if (limit > 0 && items.length > limit) {
    const last = items[limit - 1];
    metadata.continue = encodeContinue(listRv, `${last.metadata.namespace ?? ''}/${last.metadata.name}`);
    metadata.remainingItemCount = items.length - limit;
    items = items.slice(0, limit);
  }
  if (wantsTable(r.req.headers.accept)) {
    const table = renderTable(
      r.resource,
      items,
      { resourceVersion: listRv, continue: metadata.continue as string | undefined },
      includeObjectOf(q),
    );
    sendJson(r.res, 200, table);
    return;
  }
  const viewItems = isEventsV1View(r.resource) ? items.map((o) => viewObject(r.resource, o)) : items;
  sendJson(r.res, 200, {
    kind: listKind(r.resource),
    apiVersion: r.resource.apiVersion,
    metadata,
    items: viewItems,
  });
}

async function readObjectBody(r: ResourceRequest): Promise<Record<string, unknown>> {
  const text = await readBody(r.req);
  const type = mediaType(r.req.headers['content-type']);
  let body: unknown;
  if (type === 'application/yaml') {
    try {
      body = parseYaml(text);
    } catch (err) {
      throw badRequest(`the request body is not valid YAML: ${(err as Error).message}`);
    }
  } else body = parseJsonBody(text);
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw badRequest('the request body must be a JSON object');
  return body as Record<string, unknown>;
}

/** Brings a request body to the stored form: right kind, namespace from the URL, core events. */
function normaliseBody(r: ResourceRequest, body: Record<string, unknown>): KubeObject {
  const res = r.resource;
  if (body.kind !== undefined && body.kind !== res.kind) {
    throw badRequest(
      `the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${res.apiVersion})`,
    );
  }
  if (body.apiVersion !== undefined && body.apiVersion !== res.apiVersion) {
    throw badRequest(
      `the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${res.apiVersion})`,
    );
  }
  const meta = (body.metadata ?? {}) as Record<string, unknown>;
  if (typeof meta !== 'object' || Array.isArray(meta)) throw badRequest('metadata must be an object');
  if (res.namespaced) {
    if (meta.namespace && meta.namespace !== r.namespace) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    meta.namespace = r.namespace;
  }
  let obj = { ...body, apiVersion: res.apiVersion, kind: res.kind, metadata: meta } as unknown as KubeObject;
  if (isEventsV1View(res)) obj = fromEventsV1(obj);
  stringDataToData(obj);
  return obj;
}

/** Secrets: the API server folds write-only stringData into base64 data. */
function stringDataToData(obj: KubeObject): void {
  if (obj.kind !== 'Secret' || !obj.stringData || typeof obj.stringData !== 'object') return;
  const data = { ...((obj.data as Record<string, string>) ?? {}) };
  for (const [k, v] of Object.entries(obj.stringData as Record<string, string>))
    data[k] = Buffer.from(String(v)).toString('base64');
  obj.data = data;
  delete obj.stringData;
}

function requireNamespace(store: ObjectStore, r: ResourceRequest): void {
  if (!r.resource.namespaced || !r.namespace) return;
  if (!store.getShared(resourceForKind('Namespace'), undefined, r.namespace))
    throw notFound('namespaces', '', r.namespace);
}

async function handleCreate(store: ObjectStore, r: ResourceRequest): Promise<void> {
  const body = await readObjectBody(r);
  const obj = normaliseBody(r, body);
  const dryRun = dryRunOf(r.query);
  requireNamespace(store, r);
  r.admit?.(obj);
  const created = store.create(obj, { dryRun, fieldManager: fieldManagerOf(r) });
  sendObject(r, 201, created);
}

/** Keeps what the addressed endpoint may not change: status via the main resource, the rest via /status. */
function scopeToEndpoint(r: ResourceRequest, current: KubeObject, next: KubeObject): KubeObject {
  if (!r.resource.subresources.includes('status')) return next;
  if (r.subresource === 'status')
    return {
      ...current,
      status: next.status,
      metadata: { ...current.metadata, resourceVersion: next.metadata.resourceVersion },
    };
  const out = { ...next };
  if (current.status === undefined) delete out.status;
  else out.status = current.status;
  return out;
}

async function handleReplace(store: ObjectStore, r: ResourceRequest): Promise<void> {
  const body = await readObjectBody(r);
  const obj = normaliseBody(r, body);
  const name = r.name as string;
  if (obj.metadata.name && obj.metadata.name !== name) {
    throw badRequest(
      `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`,
    );
  }
  obj.metadata.name = name;
  const current = store.getShared(r.resource, r.namespace, name);
  if (!current) throw notFound(r.resource.plural, r.resource.group, name);
  const next = scopeToEndpoint(r, current, obj);
  r.admit?.(next);
  const updated = store.update(next, { dryRun: dryRunOf(r.query), fieldManager: fieldManagerOf(r) });
  sendObject(r, 200, updated);
}

async function handlePatch(store: ObjectStore, r: ResourceRequest): Promise<void> {
  const type = mediaType(r.req.headers['content-type']);
  if (!Object.values(PATCH_TYPES).includes(type as (typeof PATCH_TYPES)[keyof typeof PATCH_TYPES])) {
    throw unsupportedMediaType(type);
  }
  const text = await readBody(r.req);
  const dryRun = dryRunOf(r.query);
  const name = r.name as string;
  const current = store.getShared(r.resource, r.namespace, name);
  const view = current ? viewObject(r.resource, current) : undefined;
  if (type === PATCH_TYPES.apply) return applyPatch(store, r, text, current, dryRun);
  if (!current || !view) throw notFound(r.resource.plural, r.resource.group, name);
  const patch = parseJsonBody(text);
  let patched: unknown;
  if (type === PATCH_TYPES.json) patched = applyJsonPatch(view, patch);
  else if (type === PATCH_TYPES.merge) patched = applyMergePatch(view, patch);
  else patched = applyStrategicMergePatch(view, patch);
  if (patched === null || typeof patched !== 'object') throw badRequest('the patch result is not an object');
  const next = normaliseBody(r, { ...(patched as Record<string, unknown>) });
  next.metadata.name = name;
  const scoped = scopeToEndpoint(r, current, next);
  r.admit?.(scoped);
  const updated = store.update(scoped, {
    dryRun,
    fieldManager: fieldManagerOf(r),
  });
  sendObject(r, 200, updated);
}

async function applyPatch(
  store: ObjectStore,
  r: ResourceRequest,
  text: string,
  current: KubeObject | undefined,
  dryRun: boolean,
): Promise<void> {
  const manager = r.query.get('fieldManager');
  if (!manager) throw badRequest('PATCH, fieldManager is required for apply requests');
  let applied: unknown;
  try {
    applied = parseYaml(text);
  } catch (err) {
    throw badRequest(`error decoding YAML: ${(err as Error).message}`);
  }
  if (applied === null || typeof applied !== 'object' || Array.isArray(applied))
    throw badRequest('apply patch must be an object');
  const body = applied as Record<string, unknown>;
  const meta = (body.metadata ?? {}) as Record<string, unknown>;
  const name = r.name as string;
  if (meta.name && meta.name !== name) {
    throw badRequest(
      `the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`,
    );
  }
  // Apply configurations are in the addressed view; ownership is tracked on the stored (core) form.
  const config = normaliseBody(r, { ...body, metadata: { ...meta, name } });
  const force = r.query.get('force') === 'true';
  const target = { plural: r.resource.plural, name, group: r.resource.group };
  if (!current) {
    requireNamespace(store, r);
    // kube-apiserver's patch handler authorizes an apply that creates as a `create` too, not only `patch`.
    if (r.authorize && !r.authorize('create'))
      throw forbiddenCreateOnApply(r.resource.plural, r.resource.group, name);
    const merged = serverSideApply(
      undefined,
      config as Record<string, unknown>,
      manager,
      force,
      target,
    ) as KubeObject;
    r.admit?.(merged);
    const created = store.create(merged, { dryRun });
    sendObject(r, 201, created);
    return;
  }
  const merged = serverSideApply(
    current as Record<string, unknown>,
    config as Record<string, unknown>,
    manager,
    force,
    target,
  ) as KubeObject;
  const scoped = scopeToEndpoint(r, current, merged);
  r.admit?.(scoped);
  const updated = store.update(scoped, { dryRun });
  sendObject(r, 200, updated);
}

async function deleteOptionsOf(r: ResourceRequest): Promise<DeleteOptions> {
  const text = (await readBody(r.req)).trim();
  const body = (text ? parseJsonBody(text) : {}) as Record<string, unknown>;
  if (body === null || typeof body !== 'object') throw badRequest('DeleteOptions must be an object');
  const opts: DeleteOptions = {};
  const grace = r.query.get('gracePeriodSeconds') ?? body.gracePeriodSeconds;
  if (grace !== undefined && grace !== null) {
    const n = Number(grace);
    if (!Number.isInteger(n)) throw badRequest(`invalid gracePeriodSeconds: ${String(grace)}`);
    opts.gracePeriodSeconds = n;
  }
  const policy = r.query.get('propagationPolicy') ?? body.propagationPolicy;
  if (policy !== undefined && policy !== null) {
    if (policy !== 'Orphan' && policy !== 'Background' && policy !== 'Foreground') {
      throw badRequest(`propagationPolicy: Unsupported value: "${String(policy)}"`);
    }
    opts.propagationPolicy = policy;
  } else if (r.query.get('orphanDependents') === 'true' || body.orphanDependents === true) {
    opts.propagationPolicy = 'Orphan';
  }
  const pre = body.preconditions as { uid?: string; resourceVersion?: string } | undefined;
  if (pre && typeof pre === 'object')
    opts.preconditions = { uid: pre.uid, resourceVersion: pre.resourceVersion };
  opts.dryRun = dryRunOf(r.query, body);
  return opts;
}

async function handleDelete(store: ObjectStore, r: ResourceRequest): Promise<void> {
  const opts = await deleteOptionsOf(r);
  const storage = storageResource(r.resource);
  const deleted = store.delete(storage.kind, r.namespace, r.name as string, opts);
  sendObject(r, 200, deleted);
}

async function handleDeleteCollection(store: ObjectStore, r: ResourceRequest): Promise<void> {
  const opts = await deleteOptionsOf(r);
  const storage = storageResource(r.resource);
  const victims = store.listShared(r.resource, {
    namespace: r.namespace,
    labelSelector: r.query.get('labelSelector') ?? undefined,
    fieldSelector: r.query.get('fieldSelector') ?? undefined,
  });
  const items: KubeObject[] = [];
  for (const v of victims) {
    try {
      items.push(store.delete(storage.kind, v.metadata.namespace, v.metadata.name, opts));
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 404)) throw err;
    }
  }
  sendJson(r.res, 200, {
    kind: listKind(r.resource),
    apiVersion: r.resource.apiVersion,
    metadata: { resourceVersion: store.resourceVersion },
    items: items.map((o) => viewObject(r.resource, o)),
  });
}

// ---- pods/log ----------------------------------------------------------------------------------

interface PodShape {
  spec?: { containers?: Array<{ name: string }>; initContainers?: Array<{ name: string }> };
  status?: {
    containerStatuses?: Array<{ name: string; state?: { waiting?: { reason?: string } } }>;
    initContainerStatuses?: Array<{ name: string; state?: { waiting?: { reason?: string } } }>;
  };
}

function tail(text: string, lines: number): string {
  if (lines < 0) return text;
  if (lines === 0) return '';
  const parts = text.split(/(?<=\n)/);
  return parts.slice(-lines).join('');
}

function handleLog(store: ObjectStore, r: ResourceRequest): void {
  const podName = r.name as string;
  const ns = r.namespace as string;
  const pod = store.getShared(resourceForKind('Pod'), ns, podName) as (KubeObject & PodShape) | undefined;
  if (!pod) throw notFound('pods', '', podName);
  const containers = (pod.spec?.containers ?? []).map((c) => c.name);
  const inits = (pod.spec?.initContainers ?? []).map((c) => c.name);
  let container = r.query.get('container') ?? '';
  if (!container) {
    if (containers.length === 1 && inits.length === 0) container = containers[0];
    else {
      const initPart = inits.length > 0 ? ` or one of the init containers: [${inits.join(' ')}]` : '';
      throw badRequest(
        `a container name must be specified for pod ${podName}, choose one of: [${containers.join(' ')}]${initPart}`,
      );
    }
  }
  if (!containers.includes(container) && !inits.includes(container)) {
    throw badRequest(`container ${container} is not valid for pod ${podName}`);
  }
  const previous = r.query.get('previous') === 'true';
  let text = store.podLogs.get(ns, podName, container, { previous });
  if (text === undefined) {
    if (previous)
      throw badRequest(`previous terminated container "${container}" in pod "${podName}" not found`);
    const status = [
      ...(pod.status?.containerStatuses ?? []),
      ...(pod.status?.initContainerStatuses ?? []),
    ].find((s) => s.name === container);
    const waiting = status?.state?.waiting?.reason;
    if (!status || waiting) {
      throw badRequest(
        `container "${container}" in pod "${podName}" is waiting to start: ${waiting ?? 'ContainerCreating'}`,
      );
    }
    text = '';
  }
  const tailLines = r.query.get('tailLines');
  if (tailLines !== null) text = tail(text, Number(tailLines));
  const limitBytes = Number(r.query.get('limitBytes') ?? '0');
  if (limitBytes > 0) text = Buffer.from(text).subarray(0, limitBytes).toString('utf8');
  if (r.query.get('follow') !== 'true' || previous) {
    sendText(r.res, 200, text);
    return;
  }
  const res = r.res;
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Transfer-Encoding': 'chunked' });
  if (text) res.write(text);
  else res.flushHeaders();
  const uid = pod.metadata.uid;
  const stopFollow = store.podLogs.follow(ns, podName, container, (more) => res.write(more));
  const stopWatch = store.subscribeRaw((e) => {
    if (e.type === 'DELETED' && e.object.kind === 'Pod' && e.object.metadata.uid === uid) res.end();
  });
  res.on('close', () => {
    stopFollow();
    stopWatch();
  });
}
