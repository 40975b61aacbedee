/**
 * In-memory object store with one global resourceVersion counter (like etcd's revision) and a
 * per-resource ring buffer of recent changes for watches.
 *
 * Stored objects are never mutated in place: every write stores a fresh object, so watch history and
 * HTTP responses can share them and serialise each change once. Callers only ever get deep copies.
 */
import { randomUUID } from 'node:crypto';
import { compileFilter, matchLabels, matchesFilter, parseLabelSelector } from './api/selectors.js';
import { ApiError, alreadyExists, conflict, invalid, notFound } from './api/status.js';
import { recordUpdate } from './api/managed-fields.js';
import { RESOURCE_TYPES, type ResourceType, resourceForKind, storageResource } from './resources.js';
import { selectorString, type LabelSelectorSpec } from './cluster/objects.js';

export { ApiError } from './api/status.js';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: unknown[];
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export interface StoreChange {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
  resource: ResourceType;
}

/** One stored change as watches see it. `object`/`prev` are the store's own immutable objects. */
export interface HistoryEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  rv: number;
  resource: ResourceType; // storage resource
  object: KubeObject;
  prev?: KubeObject;
  /** Serialisation cache shared by all watchers, keyed by the view (e.g. 'v1', 'events.k8s.io/v1'). */
  lines: Map<string, string>;
}

export type WriteOptions = { dryRun?: boolean; fieldManager?: string };

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  dryRun?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
}

/** Kinds whose metadata.generation the real server maintains (bumped on spec changes). */
const GENERATION_KINDS = new Set([
  'Pod',
  'DaemonSet',
  'ReplicaSet',
  'Deployment',
  'StatefulSet',
  'PodDisruptionBudget',
  'NetworkPolicy',
]);

function deepCopy<T>(v: T): T {
  return structuredClone(v);
}

function nowIso(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function keyOf(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

function withoutMetaAndStatus(obj: KubeObject): string {
  const rest: Record<string, unknown> = { ...obj };
  delete rest.metadata;
  delete rest.status;
  delete rest.apiVersion;
  delete rest.kind;
  return JSON.stringify(rest);
}

function randomSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let s = '';
  for (let i = 0; i < 5; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}

class History {
  readonly events: HistoryEvent[] = [];
  /** Every change with rv > startRv is still in `events`. */
  startRv = 0;
  constructor(private readonly size: number) {}
  push(e: HistoryEvent): void {
    this.events.push(e);
    if (this.events.length > this.size) {
      const dropped = this.events.splice(0, this.events.length - this.size);
      this.startRv = dropped[dropped.length - 1].rv;
    }
  }
}

/** Scripted container logs, keyed by namespace/pod/container. */
export class PodLogs {
  private readonly logs = new Map<string, string>();
  private readonly listeners = new Set<(key: string, text: string) => void>();

  private static key(namespace: string, pod: string, container: string, previous = false): string {
    return `${namespace}/${pod}/${container}${previous ? '#previous' : ''}`;
  }

  set(
    namespace: string,
    pod: string,
    container: string,
    text: string,
    opts: { previous?: boolean } = {},
  ): void {
    this.logs.set(PodLogs.key(namespace, pod, container, opts.previous), text);
  }

  append(namespace: string, pod: string, container: string, text: string): void {
    const key = PodLogs.key(namespace, pod, container);
    this.logs.set(key, (this.logs.get(key) ?? '') + text);
    for (const l of this.listeners) l(key, text);
  }

  get(
    namespace: string,
    pod: string,
    container: string,
    opts: { previous?: boolean } = {},
  ): string | undefined {
    return this.logs.get(PodLogs.key(namespace, pod, container, opts.previous));
  }

  /** Follows appends to one container's log (for `logs -f`); returns the unsubscribe function. */
  follow(namespace: string, pod: string, container: string, onText: (text: string) => void): () => void {
    const want = PodLogs.key(namespace, pod, container);
    const l = (key: string, text: string): void => {
      if (key === want) onText(text);
    };
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}

export class ObjectStore {
  readonly podLogs = new PodLogs();
  private rv = 0;
  /** Last ClusterIP handed out (10.96.0.0/12, as kubeadm's default service CIDR; .1 is the API server). */
  private lastClusterIp = 1;
  private readonly buckets = new Map<ResourceType, Map<string, KubeObject>>();
  private readonly histories = new Map<ResourceType, History>();
  private readonly listeners = new Set<(change: StoreChange) => void>();
  private readonly rawListeners = new Set<(event: HistoryEvent) => void>();
  private readonly pending: HistoryEvent[] = [];
  private dispatching = false;

  constructor(opts: { historySize?: number } = {}) {
    const size = opts.historySize ?? 10000;
    for (const r of RESOURCE_TYPES) {
      if (storageResource(r) !== r) continue;
      this.buckets.set(r, new Map());
      this.histories.set(r, new History(size));
    }
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const r = this.resolve(kind);
    const obj = this.bucket(r).get(keyOf(r.namespaced ? namespace : undefined, name));
    return obj ? deepCopy(obj) : undefined;
  }

  list(
    kind: string,
    opts: { namespace?: string; labelSelector?: string; fieldSelector?: string } = {},
  ): KubeObject[] {
    return this.listShared(this.resolve(kind), opts).map((o) => deepCopy(o));
  }

  /** Like list, but returns the store's own objects (sorted by namespace/name): callers must not mutate them. */
  listShared(
    resource: ResourceType,
    opts: { namespace?: string; labelSelector?: string; fieldSelector?: string } = {},
  ): KubeObject[] {
    const r = storageResource(resource);
    const filter = compileFilter(resource.selectableFields, opts);
    const out: KubeObject[] = [];
    for (const obj of this.bucket(r).values()) if (matchesFilter(filter, obj)) out.push(obj);
    return out.sort((a, b) => compareKeys(a, b));
  }

  /** The store's own object (no copy): callers must not mutate it. */
  getShared(resource: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const r = storageResource(resource);
    return this.bucket(r).get(keyOf(r.namespaced ? namespace : undefined, name));
  }

  create(obj: KubeObject, opts: WriteOptions = {}): KubeObject {
    const r = this.resolve(obj.kind, obj.apiVersion);
    const o = deepCopy(obj);
    o.metadata = o.metadata ?? ({} as ObjectMeta);
    if (!r.namespaced) delete o.metadata.namespace;
    else if (!o.metadata.namespace) o.metadata.namespace = 'default';
    if (!o.metadata.name && o.metadata.generateName)
      o.metadata.name = o.metadata.generateName + randomSuffix();
    validate(r, o);
    const bucket = this.bucket(r);
    const key = keyOf(o.metadata.namespace, o.metadata.name);
    if (bucket.has(key)) throw alreadyExists(r.plural, r.group, o.metadata.name);
    o.apiVersion = r.apiVersion;
    o.kind = r.kind;
    o.metadata.uid = randomUUID();
    o.metadata.creationTimestamp = nowIso();
    delete o.metadata.deletionTimestamp;
    delete o.metadata.deletionGracePeriodSeconds;
    if (GENERATION_KINDS.has(r.kind)) o.metadata.generation = 1;
    else delete o.metadata.generation;
    applyDefaults(r, o);
    if (r.kind === 'Service') this.allocateClusterIp(o, Boolean(opts.dryRun));
    if (opts.fieldManager) recordUpdate(undefined, o, opts.fieldManager);
    if (opts.dryRun) {
      o.metadata.resourceVersion = this.resourceVersion;
      return deepCopy(o);
    }
    o.metadata.resourceVersion = String(++this.rv);
    bucket.set(key, o);
    this.emit(r, 'ADDED', o);
    return deepCopy(o);
  }

  /** A Service's spec.clusterIP(s): the next free address, or the one asked for; `None` is headless. */
  private allocateClusterIp(svc: KubeObject, dryRun: boolean): void {
    const spec = svc.spec as Record<string, unknown>;
    if (spec.type === 'ExternalName') return;
    if (typeof spec.clusterIP !== 'string' || spec.clusterIP === '') {
      const n = this.lastClusterIp + 1;
      if (!dryRun) this.lastClusterIp = n;
      spec.clusterIP = `10.${96 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
    }
    spec.clusterIPs = [spec.clusterIP];
  }

  update(obj: KubeObject, opts: WriteOptions = {}): KubeObject {
    const r = this.resolve(obj.kind, obj.apiVersion);
    const namespace = r.namespaced ? (obj.metadata?.namespace ?? 'default') : undefined;
    const current = this.bucket(r).get(keyOf(namespace, obj.metadata?.name));
    if (!current) throw notFound(r.plural, r.group, obj.metadata?.name);
    const wanted = obj.metadata.resourceVersion;
    if (wanted && wanted !== current.metadata.resourceVersion)
      throw conflict(r.plural, r.group, obj.metadata.name);
    const next = deepCopy(obj);
    next.metadata.namespace = namespace;
    if (!namespace) delete next.metadata.namespace;
    return this.replace(r, current, next, opts);
  }

  mutate(
    kind: string,
    namespace: string | undefined,
    name: string,
    fn: (obj: KubeObject) => void,
  ): KubeObject {
    const r = this.resolve(kind);
    const current = this.bucket(r).get(keyOf(r.namespaced ? namespace : undefined, name));
    if (!current) throw notFound(r.plural, r.group, name);
    const next = deepCopy(current);
    fn(next);
    if (JSON.stringify(next) === JSON.stringify(current)) return deepCopy(current);
    next.metadata.resourceVersion = current.metadata.resourceVersion;
    return this.replace(r, current, next, {});
  }

  delete(kind: string, namespace: string | undefined, name: string, opts: DeleteOptions = {}): KubeObject {
    const r = this.resolve(kind);
    const key = keyOf(r.namespaced ? namespace : undefined, name);
    const bucket = this.bucket(r);
    const current = bucket.get(key);
    if (!current) throw notFound(r.plural, r.group, name);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== current.metadata.uid) {
      throw conflict(
        r.plural,
        r.group,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`,
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
      throw conflict(
        r.plural,
        r.group,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`,
      );
    }
    const grace = this.gracePeriod(r, current, opts.gracePeriodSeconds);
    const graceful =
      grace > 0 && r.kind === 'Pod' && Boolean((current.spec as { nodeName?: string })?.nodeName);
    const blocked = (current.metadata.finalizers?.length ?? 0) > 0;
    if (graceful || blocked) {
      const next = deepCopy(current);
      const already = current.metadata.deletionTimestamp;
      if (!already || (current.metadata.deletionGracePeriodSeconds ?? 0) > grace) {
        next.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000)
          .toISOString()
          .replace(/\.\d{3}Z$/, 'Z');
        next.metadata.deletionGracePeriodSeconds = grace;
      }
      if (opts.dryRun) return deepCopy(next);
      if (JSON.stringify(next) === JSON.stringify(current)) return deepCopy(current);
      return this.replace(r, current, next, {}, true);
    }
    if (opts.dryRun) return deepCopy(current);
    return this.remove(r, current, opts.propagationPolicy ?? 'Background');
  }

  subscribe(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Watch feed for the HTTP server: events carry the store's own objects (never mutate them). */
  subscribeRaw(listener: (event: HistoryEvent) => void): () => void {
    this.rawListeners.add(listener);
    return () => this.rawListeners.delete(listener);
  }

  /** Changes of `resource` after `rv`, or `expired` with the oldest RV still servable. */
  historySince(resource: ResourceType, rv: number): { events: HistoryEvent[] } | { expiredBefore: number } {
    const h = this.history(storageResource(resource));
    if (rv < h.startRv) return { expiredBefore: h.startRv };
    const events = h.events;
    // Binary search: history is in RV order.
    let lo = 0;
    let hi = events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (events[mid].rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    return { events: events.slice(lo) };
  }

  compact(): void {
    for (const h of this.histories.values()) {
      h.events.length = 0;
      h.startRv = this.rv;
    }
  }

  // ---- internals -------------------------------------------------------------------------------

  private resolve(kind: string, apiVersion?: string): ResourceType {
    let r: ResourceType | undefined;
    if (apiVersion) r = RESOURCE_TYPES.find((t) => t.kind === kind && t.apiVersion === apiVersion);
    if (!r) {
      try {
        r = resourceForKind(kind);
      } catch {
        throw new ApiError(
          404,
          'NotFound',
          `the server could not find the requested resource (kind ${kind})`,
        );
      }
    }
    return storageResource(r);
  }

  private bucket(r: ResourceType): Map<string, KubeObject> {
    const b = this.buckets.get(storageResource(r));
    if (!b) throw new Error(`no storage for ${r.plural}`);
    return b;
  }

  private history(r: ResourceType): History {
    const h = this.histories.get(r);
    if (!h) throw new Error(`no history for ${r.plural}`);
    return h;
  }

  private gracePeriod(r: ResourceType, obj: KubeObject, requested: number | undefined): number {
    if (requested !== undefined) return Math.max(0, requested);
    if (r.kind !== 'Pod') return 0;
    const spec = obj.spec as { terminationGracePeriodSeconds?: number } | undefined;
    return spec?.terminationGracePeriodSeconds ?? 30;
  }

  /** Stores `next` in place of `current` (keeps identity fields), or finishes a pending deletion. */
  private replace(
    r: ResourceType,
    current: KubeObject,
    next: KubeObject,
    opts: WriteOptions,
    deleting = false,
  ): KubeObject {
    next.apiVersion = r.apiVersion;
    next.kind = r.kind;
    next.metadata.uid = current.metadata.uid;
    next.metadata.creationTimestamp = current.metadata.creationTimestamp;
    next.metadata.name = current.metadata.name;
    if (!deleting) {
      // Clients cannot set or clear deletionTimestamp through an update.
      if (current.metadata.deletionTimestamp) {
        next.metadata.deletionTimestamp = current.metadata.deletionTimestamp;
        next.metadata.deletionGracePeriodSeconds = current.metadata.deletionGracePeriodSeconds;
      } else {
        delete next.metadata.deletionTimestamp;
        delete next.metadata.deletionGracePeriodSeconds;
      }
    }
    if (r.kind === 'Service') keepAllocatedIp(current, next);
    if (GENERATION_KINDS.has(r.kind)) {
      const gen = current.metadata.generation ?? 1;
      next.metadata.generation = withoutMetaAndStatus(next) === withoutMetaAndStatus(current) ? gen : gen + 1;
    } else delete next.metadata.generation;
    validate(r, next);
    if (opts.fieldManager) recordUpdate(current, next, opts.fieldManager);
    else if (current.metadata.managedFields && !next.metadata.managedFields) {
      next.metadata.managedFields = current.metadata.managedFields;
    }
    const finished =
      Boolean(next.metadata.deletionTimestamp) &&
      (next.metadata.finalizers?.length ?? 0) === 0 &&
      (r.kind !== 'Pod' ||
        !(next.spec as { nodeName?: string })?.nodeName ||
        next.metadata.deletionGracePeriodSeconds === 0);
    if (opts.dryRun) {
      next.metadata.resourceVersion = current.metadata.resourceVersion;
      return deepCopy(next);
    }
    if (finished && !deleting) {
      // Last finalizer removed from an object being deleted: it goes away now.
      return this.remove(r, next, 'Background');
    }
    next.metadata.resourceVersion = String(++this.rv);
    this.bucket(r).set(keyOf(next.metadata.namespace, next.metadata.name), next);
    this.emit(r, 'MODIFIED', next, current);
    if (finished && deleting) return this.remove(r, next, 'Background');
    return deepCopy(next);
  }

  private remove(
    r: ResourceType,
    obj: KubeObject,
    propagation: 'Orphan' | 'Background' | 'Foreground',
  ): KubeObject {
    const bucket = this.bucket(r);
    const key = keyOf(obj.metadata.namespace, obj.metadata.name);
    const gone = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.rv) } };
    bucket.delete(key);
    this.emit(r, 'DELETED', gone);
    if (r.kind === 'Namespace') this.removeNamespaceContents(obj.metadata.name);
    if (propagation !== 'Orphan') this.removeDependents(obj.metadata.uid);
    else this.orphanDependents(obj.metadata.uid);
    return deepCopy(gone);
  }

  private removeNamespaceContents(namespace: string): void {
    for (const [r, bucket] of this.buckets) {
      if (!r.namespaced) continue;
      for (const obj of [...bucket.values()]) {
        if (obj.metadata.namespace === namespace && bucket.get(keyOf(namespace, obj.metadata.name)) === obj) {
          this.remove(r, obj, 'Orphan');
        }
      }
    }
  }

  private dependentsOf(uid: string | undefined): Array<[ResourceType, KubeObject]> {
    if (!uid) return [];
    const out: Array<[ResourceType, KubeObject]> = [];
    for (const [r, bucket] of this.buckets) {
      for (const obj of bucket.values()) {
        if (obj.metadata.ownerReferences?.some((o) => o.uid === uid)) out.push([r, obj]);
      }
    }
    return out;
  }

  private removeDependents(uid: string | undefined): void {
    for (const [r, obj] of this.dependentsOf(uid)) {
      const stillThere = this.bucket(r).get(keyOf(obj.metadata.namespace, obj.metadata.name));
      if (stillThere?.metadata.uid !== obj.metadata.uid) continue;
      this.delete(r.kind, obj.metadata.namespace, obj.metadata.name, { propagationPolicy: 'Background' });
    }
  }

  private orphanDependents(uid: string | undefined): void {
    for (const [r, obj] of this.dependentsOf(uid)) {
      this.mutate(r.kind, obj.metadata.namespace, obj.metadata.name, (o) => {
        o.metadata.ownerReferences = o.metadata.ownerReferences?.filter((ref) => ref.uid !== uid);
        if (o.metadata.ownerReferences?.length === 0) delete o.metadata.ownerReferences;
      });
    }
  }

  private emit(r: ResourceType, type: HistoryEvent['type'], object: KubeObject, prev?: KubeObject): void {
    const event: HistoryEvent = {
      type,
      rv: Number(object.metadata.resourceVersion),
      resource: r,
      object,
      prev,
      lines: new Map(),
    };
    this.history(r).push(event);
    this.pending.push(event);
    // Listeners may write to the store; queue those changes so every listener sees RV order.
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      while (this.pending.length > 0) {
        const e = this.pending.shift() as HistoryEvent;
        for (const l of this.rawListeners) l(e);
        if (this.listeners.size > 0) {
          const change: StoreChange = { type: e.type, object: deepCopy(e.object), resource: e.resource };
          for (const l of this.listeners) {
            try {
              l(change);
            } catch (err) {
              console.error('store listener failed:', err);
            }
          }
        }
      }
    } finally {
      this.dispatching = false;
    }
  }
}

function compareKeys(a: KubeObject, b: KubeObject): number {
  const na = a.metadata.namespace ?? '';
  const nb = b.metadata.namespace ?? '';
  if (na !== nb) return na < nb ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The few validations clients notice: names and required pod containers (422 Invalid). */
function validate(r: ResourceType, obj: KubeObject): void {
  const name = obj.metadata?.name;
  if (!name) {
    throw invalid(r.kind, r.group, '', [
      {
        reason: 'FieldValueRequired',
        message: 'Required value: name or generateName is required',
        field: 'metadata.name',
      },
    ]);
  }
  if (name.length > 253 || !NAME_RE.test(name)) {
    throw invalid(r.kind, r.group, name, [
      {
        reason: 'FieldValueInvalid',
        message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
        field: 'metadata.name',
      },
    ]);
  }
  if (r.kind === 'Pod') {
    const containers = (obj.spec as { containers?: unknown[] } | undefined)?.containers;
    if (!Array.isArray(containers) || containers.length === 0) {
      throw invalid(r.kind, r.group, name, [
        { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.containers' },
      ]);
    }
  }
  const causes = kindCauses(r.kind, (obj.spec ?? {}) as Record<string, unknown>);
  if (causes.length > 0) throw invalid(r.kind, r.group, name, causes);
}

type Cause = { reason: string; message: string; field: string };

/** The real server's checks of the kinds deploy/ ships that a manifest most easily gets wrong. */
function kindCauses(kind: string, spec: Record<string, unknown>): Cause[] {
  const causes: Cause[] = [];
  const required = (field: string) =>
    causes.push({ reason: 'FieldValueRequired', message: 'Required value', field });
  if (kind === 'Service') {
    const ports = (spec.ports ?? []) as Array<{ name?: string; port?: number }>;
    if (ports.length === 0 && spec.clusterIP !== 'None' && spec.type !== 'ExternalName')
      required('spec.ports');
    ports.forEach((p, i) => {
      if (typeof p.port !== 'number') required(`spec.ports[${i}].port`);
      if (ports.length > 1 && !p.name) required(`spec.ports[${i}].name`);
    });
  } else if (kind === 'StatefulSet') {
    const selector = spec.selector as LabelSelectorSpec | undefined;
    const template = spec.template as { metadata?: { labels?: Record<string, string> } } | undefined;
    if (!selector || selectorString(selector) === '') required('spec.selector');
    else if (!matchLabels(parseLabelSelector(selectorString(selector)), template?.metadata?.labels ?? {})) {
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${JSON.stringify(template?.metadata?.labels ?? {})}: \`selector\` does not match template \`labels\``,
        field: 'spec.template.metadata.labels',
      });
    }
  } else if (kind === 'PodDisruptionBudget') {
    if (spec.minAvailable !== undefined && spec.maxUnavailable !== undefined) {
      causes.push({
        reason: 'FieldValueInvalid',
        message: 'Invalid value: "spec": minAvailable and maxUnavailable cannot be both set',
        field: 'spec',
      });
    }
  } else if (kind === 'NetworkPolicy') {
    ((spec.policyTypes ?? []) as string[]).forEach((t, i) => {
      if (t !== 'Ingress' && t !== 'Egress') {
        causes.push({
          reason: 'FieldValueNotSupported',
          message: `Unsupported value: ${JSON.stringify(t)}: supported values: "Egress", "Ingress"`,
          field: `spec.policyTypes[${i}]`,
        });
      }
    });
  }
  return causes;
}

/** An update that leaves a Service's clusterIP out keeps the allocated one (it is immutable). */
function keepAllocatedIp(current: KubeObject, next: KubeObject): void {
  const was = current.spec as { clusterIP?: string; clusterIPs?: string[] } | undefined;
  const spec = (next.spec ?? (next.spec = {})) as { clusterIP?: string; clusterIPs?: string[] };
  if (!spec.clusterIP && was?.clusterIP) {
    spec.clusterIP = was.clusterIP;
    spec.clusterIPs = was.clusterIPs ?? [was.clusterIP];
  }
}

/** Defaults the real API server fills in that clients commonly read. */
function applyDefaults(r: ResourceType, obj: KubeObject): void {
  const o = obj as Record<string, unknown>;
  if (r.kind === 'Namespace') {
    o.spec = o.spec ?? { finalizers: ['kubernetes'] };
    o.status = { phase: 'Active', ...((o.status as object) ?? {}) };
  } else if (r.kind === 'Pod') {
    const spec = o.spec as Record<string, unknown>;
    spec.restartPolicy = spec.restartPolicy ?? 'Always';
    spec.terminationGracePeriodSeconds = spec.terminationGracePeriodSeconds ?? 30;
    spec.schedulerName = spec.schedulerName ?? 'default-scheduler';
    spec.serviceAccountName = spec.serviceAccountName ?? 'default';
    o.status = { phase: 'Pending', ...((o.status as object) ?? {}) };
  } else if (r.kind === 'Secret') {
    o.type = o.type ?? 'Opaque';
  } else if (r.kind === 'Service') {
    const spec = (o.spec ?? (o.spec = {})) as Record<string, unknown>;
    spec.type = spec.type ?? 'ClusterIP';
    if (spec.type !== 'ExternalName') {
      spec.sessionAffinity = spec.sessionAffinity ?? 'None';
      spec.ipFamilies = spec.ipFamilies ?? ['IPv4'];
      spec.ipFamilyPolicy = spec.ipFamilyPolicy ?? 'SingleStack';
      spec.internalTrafficPolicy = spec.internalTrafficPolicy ?? 'Cluster';
    }
    for (const p of (spec.ports ?? []) as Array<Record<string, unknown>>) {
      p.protocol = p.protocol ?? 'TCP';
      p.targetPort = p.targetPort ?? p.port;
    }
    o.status = { loadBalancer: {} };
  } else if (r.kind === 'StatefulSet') {
    const spec = o.spec as Record<string, unknown>;
    spec.replicas = spec.replicas ?? 1;
    spec.podManagementPolicy = spec.podManagementPolicy ?? 'OrderedReady';
    spec.updateStrategy = spec.updateStrategy ?? { type: 'RollingUpdate', rollingUpdate: { partition: 0 } };
    spec.revisionHistoryLimit = spec.revisionHistoryLimit ?? 10;
    spec.persistentVolumeClaimRetentionPolicy = spec.persistentVolumeClaimRetentionPolicy ?? {
      whenDeleted: 'Retain',
      whenScaled: 'Retain',
    };
    for (const t of (spec.volumeClaimTemplates ?? []) as Array<{ spec?: Record<string, unknown> }>) {
      if (t.spec) t.spec.volumeMode = t.spec.volumeMode ?? 'Filesystem';
    }
    o.status = { replicas: 0, availableReplicas: 0 };
  } else if (r.kind === 'NetworkPolicy') {
    // Ingress always applies; Egress when the policy has egress rules (the real defaulting).
    const spec = (o.spec ?? (o.spec = {})) as Record<string, unknown>;
    spec.policyTypes = spec.policyTypes ?? (spec.egress ? ['Ingress', 'Egress'] : ['Ingress']);
  }
}
