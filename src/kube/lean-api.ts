import type { KubeConfig } from '@kubernetes/client-node';
import { kubeRequest, type KubeQuery, type KubeRequest } from './lean-request.js';

/**
 * The typed-API methods the diagnosis and the probe runner call, made as plain requests (kube/lean-request.ts):
 * the same URL, query and body client-node sends, the answer left as the API server's JSON. client-node's typed
 * methods deserialize every list into model objects (the diagnosis of a 200-node cluster spent more CPU there
 * than anywhere else, and held each list twice) and need its generated index loaded (~50 MB). The answers are
 * the same objects but for timestamps, which stay RFC 3339 strings instead of Date objects; every reader of a
 * timestamp accepts both (checks/api/summaries.ts toIso, detect/event-fields.ts).
 *
 * A method without a lean form, or called with client-node's per-call options (a second argument), goes to the
 * typed client (kube/clients.ts).
 */

type Verb = NonNullable<KubeRequest['method']>;

interface LeanMethod {
  verb: Verb;
  /** With `{namespace}` and `{name}` taken from the call's parameters. */
  path: string;
  /** Pod logs come back as text. */
  answer?: 'text';
}

const CORE = '/api/v1';
const APPS = '/apis/apps/v1';
const RBAC = '/apis/rbac.authorization.k8s.io/v1';
const NS = '/namespaces/{namespace}';

const get = (path: string, answer?: 'text'): LeanMethod => ({ verb: 'GET', path, ...(answer && { answer }) });

export const LEAN_METHODS = {
  core: {
    listNode: get(`${CORE}/nodes`),
    readNode: get(`${CORE}/nodes/{name}`),
    readNamespace: get(`${CORE}/namespaces/{name}`),
    listPodForAllNamespaces: get(`${CORE}/pods`),
    listNamespacedPod: get(`${CORE}${NS}/pods`),
    readNamespacedPod: get(`${CORE}${NS}/pods/{name}`),
    readNamespacedPodLog: get(`${CORE}${NS}/pods/{name}/log`, 'text'),
    createNamespacedPod: { verb: 'POST', path: `${CORE}${NS}/pods` },
    deleteNamespacedPod: { verb: 'DELETE', path: `${CORE}${NS}/pods/{name}` },
    listEventForAllNamespaces: get(`${CORE}/events`),
    listConfigMapForAllNamespaces: get(`${CORE}/configmaps`),
    readNamespacedConfigMap: get(`${CORE}${NS}/configmaps/{name}`),
    readNamespacedServiceAccount: get(`${CORE}${NS}/serviceaccounts/{name}`),
  },
  apps: {
    listDaemonSetForAllNamespaces: get(`${APPS}/daemonsets`),
    readNamespacedDaemonSet: get(`${APPS}${NS}/daemonsets/{name}`),
  },
  rbac: {
    listClusterRole: get(`${RBAC}/clusterroles`),
    listClusterRoleBinding: get(`${RBAC}/clusterrolebindings`),
  },
  version: {
    getCode: get('/version'),
  },
} satisfies Record<string, Record<string, LeanMethod>>;

export type LeanGroup = keyof typeof LEAN_METHODS;

/** The lean method of `group`, or undefined when it has none. */
export function leanMethod(group: string, method: string): LeanMethod | undefined {
  const table = (LEAN_METHODS as Record<string, Record<string, LeanMethod>>)[group];
  return table && Object.hasOwn(table, method) ? table[method] : undefined;
}

/**
 * The request a typed call `method(params)` makes: path parameters filled in (and URL-encoded), the body sent as
 * JSON, every other parameter a query parameter under the API's own name (client-node writes `continue` as
 * `_continue`). Pure, for tests.
 */
export function leanRequest(spec: LeanMethod, params: Record<string, unknown> = {}): KubeRequest {
  const used = new Set<string>(['body']);
  const path = spec.path.replace(/\{(\w+)\}/g, (_, key: string) => {
    const value = params[key];
    if (typeof value !== 'string' || value === '')
      throw new TypeError(`${key} is required (a non-empty string)`);
    used.add(key);
    return encodeURIComponent(value);
  });
  const query: KubeQuery = {};
  for (const [key, value] of Object.entries(params)) {
    if (used.has(key) || value === undefined || value === null) continue;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') continue;
    query[key.startsWith('_') ? key.slice(1) : key] = value;
  }
  return {
    method: spec.verb,
    path,
    query,
    ...(params.body !== undefined && { body: params.body }),
    ...(spec.answer && { answer: spec.answer }),
  };
}

/** Calls the lean form of `group.method(params)` on the cluster of `kubeConfig`. */
export function callLean(
  kubeConfig: KubeConfig,
  spec: LeanMethod,
  params: Record<string, unknown> | undefined,
  shared?: SharedReads,
): Promise<unknown> {
  const request = leanRequest(spec, params);
  const send = () => kubeRequest(kubeConfig, request).then(withItems);
  // Lists and /version: reads by name are cheap and may be waited on for a change (a pod going away).
  if (!shared || spec.verb !== 'GET' || spec.answer || spec.path.includes('{name}')) return send();
  return shared.get(`${request.path}?${new URLSearchParams(request.query as Record<string, string>)}`, send);
}

/** How long an answered list is handed to identical requests (see SharedReads). */
export const SHARED_READ_MS = 1_000;

/**
 * Identical list requests to one cluster share one answer: while one is in flight, and for SHARED_READ_MS after it
 * arrived. A diagnosis runs its checks at once and several list every pod (or node) of the cluster; on a large
 * cluster each list is megabytes of JSON, and a copy per check was most of the diagnosis' CPU and of the bot's peak
 * memory. The answer is the same object for every caller: readers must not change it. A failed request is
 * not handed on (the next caller asks again).
 */
export class SharedReads {
  private readonly entries = new Map<string, { answer: Promise<unknown>; arrived?: number }>();

  constructor(
    private readonly reuseMs = SHARED_READ_MS,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string, send: () => Promise<unknown>): Promise<unknown> {
    const t = this.now();
    for (const [k, e] of this.entries) {
      if (e.arrived !== undefined && t - e.arrived > this.reuseMs) this.entries.delete(k);
    }
    const hit = this.entries.get(key);
    if (hit) return hit.answer;
    const entry: { answer: Promise<unknown>; arrived?: number } = { answer: send() };
    this.entries.set(key, entry);
    entry.answer.then(
      () => (entry.arrived = this.now()),
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.answer;
  }
}

/** A list always has `items`, as client-node's typed lists do (an API server may leave an empty one out). */
function withItems(answer: unknown): unknown {
  const list = answer as { kind?: unknown; items?: unknown } | null;
  if (list && typeof list === 'object' && typeof list.kind === 'string' && list.kind.endsWith('List')) {
    if (!Array.isArray(list.items)) list.items = [];
  }
  return answer;
}
