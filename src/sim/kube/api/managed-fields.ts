/**
 * A simplified server-side-apply field ownership model (pure).
 *
 * A field path is a list of segments as FieldsV1 spells them: `f:name` (map key), `k:{"name":"x"}`
 * (item of a list keyed by a merge key), `v:"x"` (item of a set of primitives). Lists without a known
 * key are atomic: the list itself is the leaf. Owners are tracked per leaf path.
 */
import { ApiError } from './status.js';

export type Path = string[];

interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

/** Merge keys of the lists the real server merges by key (strategic merge + SSA list-map keys). */
export const LIST_MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  imagePullSecrets: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  ports: 'containerPort',
  conditions: 'type',
  ownerReferences: 'uid',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  taints: 'key',
};

/** Lists of primitives merged as sets. */
export const SET_LISTS = new Set(['finalizers']);

const IDENTITY_FIELDS = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
]);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isKeyedList(field: string, list: unknown[]): boolean {
  const key = LIST_MERGE_KEYS[field];
  return Boolean(key) && list.every((i) => isPlainObject(i) && i[key] !== undefined);
}

/** Leaf paths of an object with each leaf's JSON value. */
export function leafPaths(obj: Record<string, unknown>): Map<string, { path: Path; value: string }> {
  const out = new Map<string, { path: Path; value: string }>();
  const visit = (v: unknown, path: Path, field: string): void => {
    if (isPlainObject(v) && Object.keys(v).length > 0) {
      for (const [k, child] of Object.entries(v)) visit(child, [...path, `f:${k}`], k);
      return;
    }
    if (Array.isArray(v) && v.length > 0 && isKeyedList(field, v)) {
      const key = LIST_MERGE_KEYS[field];
      for (const item of v as Record<string, unknown>[]) {
        visit(item, [...path, `k:${JSON.stringify({ [key]: item[key] })}`], '');
      }
      return;
    }
    if (Array.isArray(v) && v.length > 0 && SET_LISTS.has(field)) {
      for (const item of v) {
        const p = [...path, `v:${JSON.stringify(item)}`];
        out.set(p.join('\n'), { path: p, value: JSON.stringify(item) });
      }
      return;
    }
    out.set(path.join('\n'), { path, value: JSON.stringify(v) });
  };
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'metadata' && isPlainObject(v)) {
      for (const [mk, mv] of Object.entries(v)) {
        if (!IDENTITY_FIELDS.has(mk)) visit(mv, ['f:metadata', `f:${mk}`], mk);
      }
      continue;
    }
    visit(v, [`f:${k}`], k);
  }
  return out;
}

export function toFieldsV1(paths: Iterable<Path>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const path of paths) {
    let node = root;
    for (const seg of path) {
      node[seg] = (node[seg] as Record<string, unknown>) ?? {};
      node = node[seg] as Record<string, unknown>;
    }
  }
  return root;
}

export function fromFieldsV1(fields: unknown): Path[] {
  const out: Path[] = [];
  const visit = (node: unknown, path: Path): void => {
    if (!isPlainObject(node)) return;
    const keys = Object.keys(node).filter((k) => k !== '.');
    if (keys.length === 0) {
      if (path.length > 0) out.push(path);
      return;
    }
    for (const k of keys) visit(node[k], [...path, k]);
  };
  visit(fields, []);
  return out;
}

function entries(obj: { metadata: { managedFields?: unknown[] } }): ManagedFieldsEntry[] {
  return ((obj.metadata.managedFields ?? []) as ManagedFieldsEntry[]).filter((e) => isPlainObject(e));
}

function nowIso(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function setEntry(
  list: ManagedFieldsEntry[],
  manager: string,
  operation: 'Apply' | 'Update',
  apiVersion: string,
  paths: Path[],
): ManagedFieldsEntry[] {
  const rest = list.filter((e) => !(e.manager === manager && e.operation === operation));
  if (paths.length === 0) return rest;
  return [
    ...rest,
    { manager, operation, apiVersion, time: nowIso(), fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(paths) },
  ];
}

/** True when one path is the other or lies inside it (an atomic leaf owns everything below it). */
function overlaps(a: string, b: string): boolean {
  return a === b || a.startsWith(b + '\n') || b.startsWith(a + '\n');
}

function withoutPaths(e: ManagedFieldsEntry, drop: Set<string>): ManagedFieldsEntry {
  const kept = fromFieldsV1(e.fieldsV1).filter((p) => {
    const k = p.join('\n');
    for (const d of drop) if (overlaps(k, d)) return false;
    return true;
  });
  return { ...e, fieldsV1: toFieldsV1(kept) };
}

function nonEmpty(e: ManagedFieldsEntry): boolean {
  return Object.keys(e.fieldsV1).length > 0;
}

/** Records an Update operation by `manager`: it takes over every field it changed. */
export function recordUpdate(
  old: { metadata: { managedFields?: unknown[] } } | undefined,
  next: { apiVersion: string; metadata: { managedFields?: unknown[] } },
  manager: string,
): void {
  const before = old
    ? leafPaths(old as Record<string, unknown>)
    : new Map<string, { path: Path; value: string }>();
  const after = leafPaths(next as Record<string, unknown>);
  const changed: string[] = [];
  for (const [k, v] of after) if (before.get(k)?.value !== v.value) changed.push(k);
  const removed = [...before.keys()].filter((k) => !after.has(k));
  const base = next.metadata.managedFields ? entries(next) : old ? entries(old) : [];
  if (changed.length === 0 && removed.length === 0 && base.length > 0) {
    next.metadata.managedFields = base;
    return;
  }
  const drop = new Set([...changed, ...removed]);
  const others = base.map((e) =>
    e.manager === manager && e.operation === 'Update' ? e : withoutPaths(e, drop),
  );
  const mine = others.find((e) => e.manager === manager && e.operation === 'Update');
  const minePaths = mine
    ? fromFieldsV1(mine.fieldsV1).filter((p) => !removed.includes(p.join('\n')))
    : ([] as Path[]);
  const have = new Set(minePaths.map((p) => p.join('\n')));
  for (const k of changed) if (!have.has(k)) minePaths.push(after.get(k)!.path);
  next.metadata.managedFields = setEntry(
    others.filter(nonEmpty),
    manager,
    'Update',
    next.apiVersion,
    minePaths,
  );
}

function getAt(obj: unknown, path: Path): { found: boolean; value?: unknown } {
  let cur: unknown = obj;
  for (const seg of path) {
    if (seg.startsWith('f:')) {
      if (!isPlainObject(cur) || !(seg.slice(2) in cur)) return { found: false };
      cur = cur[seg.slice(2)];
    } else if (seg.startsWith('k:')) {
      const key = JSON.parse(seg.slice(2)) as Record<string, unknown>;
      if (!Array.isArray(cur)) return { found: false };
      cur = cur.find((i) => isPlainObject(i) && Object.entries(key).every(([k, v]) => i[k] === v));
      if (cur === undefined) return { found: false };
    } else if (seg.startsWith('v:')) {
      const v = JSON.parse(seg.slice(2)) as unknown;
      if (!Array.isArray(cur) || !cur.includes(v)) return { found: false };
      cur = v;
    }
  }
  return { found: true, value: cur };
}

/** Removes the field at `path`, then prunes maps/list items left empty along the way. */
function removeAt(obj: Record<string, unknown>, path: Path): void {
  const chain: unknown[] = [obj]; // chain[i] is the value at path[0..i)
  for (const seg of path) {
    const next = getAt(chain[chain.length - 1], [seg]);
    if (!next.found) return;
    chain.push(next.value);
  }
  for (let i = path.length - 1; i >= 0; i--) {
    const container = chain[i];
    const seg = path[i];
    const value = chain[i + 1];
    if (i < path.length - 1 && !isLeftEmpty(value, seg)) break;
    if (seg.startsWith('f:') && isPlainObject(container)) delete container[seg.slice(2)];
    else if (Array.isArray(container)) {
      const idx = container.indexOf(value);
      if (idx >= 0) container.splice(idx, 1);
    }
  }
}

function isLeftEmpty(value: unknown, seg: string): boolean {
  if (Array.isArray(value)) return value.length === 0;
  if (!isPlainObject(value)) return false;
  if (seg.startsWith('k:')) {
    const key = JSON.parse(seg.slice(2)) as object;
    return Object.keys(value).every((k) => k in key);
  }
  return Object.keys(value).length === 0;
}

/** Deep merge of an applied configuration into the live object (maps merge, keyed lists merge by key). */
export function mergeApplied(live: unknown, applied: unknown, field = ''): unknown {
  if (isPlainObject(live) && isPlainObject(applied)) {
    const out: Record<string, unknown> = { ...live };
    for (const [k, v] of Object.entries(applied)) out[k] = k in live ? mergeApplied(live[k], v, k) : v;
    return out;
  }
  if (Array.isArray(live) && Array.isArray(applied)) {
    if (isKeyedList(field, live) && isKeyedList(field, applied)) {
      const key = LIST_MERGE_KEYS[field];
      const out = live.map((i) => {
        const match = (applied as Record<string, unknown>[]).find(
          (a) => a[key] === (i as Record<string, unknown>)[key],
        );
        return match ? mergeApplied(i, match, '') : i;
      });
      for (const a of applied as Record<string, unknown>[]) {
        if (!live.some((i) => (i as Record<string, unknown>)[key] === a[key])) out.push(a);
      }
      return out;
    }
    if (SET_LISTS.has(field)) return [...live, ...applied.filter((a) => !live.includes(a))];
  }
  return applied;
}

export interface ApplyResult {
  object: Record<string, unknown>;
}

/**
 * Server-side apply of `applied` by `manager` onto `live` (undefined when creating).
 * 409 with FieldManagerConflict causes unless `force`; fields the manager applied before and no
 * longer applies are removed when nobody else owns them.
 */
export function serverSideApply(
  live: Record<string, unknown> | undefined,
  applied: Record<string, unknown>,
  manager: string,
  force: boolean,
  conflictTarget: { plural: string; name: string; group: string },
): Record<string, unknown> {
  const base = (live ? structuredClone(live) : {}) as Record<string, unknown> & {
    metadata: { managedFields?: unknown[] };
  };
  base.metadata = base.metadata ?? ({} as { managedFields?: unknown[] });
  const appliedLeaves = leafPaths(applied);
  let managed = entries(base);
  const conflicts: Array<{ manager: string; apiVersion: string; field: string }> = [];
  const takeOver = new Set<string>();
  for (const e of managed) {
    if (e.manager === manager && e.operation === 'Apply') continue;
    for (const p of fromFieldsV1(e.fieldsV1)) {
      const k = p.join('\n');
      for (const [ak, leaf] of appliedLeaves) {
        if (!overlaps(ak, k)) continue;
        const current = getAt(base, leaf.path);
        if (current.found && JSON.stringify(current.value) === leaf.value) continue;
        if (force) takeOver.add(k);
        else conflicts.push({ manager: e.manager, apiVersion: e.apiVersion, field: renderPath(p) });
      }
    }
  }
  if (conflicts.length > 0) {
    const unique = [...new Map(conflicts.map((c) => [`${c.manager}${c.field}`, c])).values()];
    const lines = unique.map((c) => `conflict with "${c.manager}" using ${c.apiVersion}: ${c.field}`);
    throw new ApiError(
      409,
      'Conflict',
      `Apply failed with ${unique.length} conflict${unique.length === 1 ? '' : 's'}: ${lines.join('\n')}`,
      {
        name: conflictTarget.name,
        ...(conflictTarget.group ? { group: conflictTarget.group } : {}),
        kind: conflictTarget.plural,
        causes: unique.map((c) => ({
          reason: 'FieldManagerConflict',
          message: `conflict with "${c.manager}" using ${c.apiVersion}`,
          field: c.field,
        })),
      },
    );
  }
  managed = managed.map((e) =>
    e.manager === manager && e.operation === 'Apply' ? e : withoutPaths(e, takeOver),
  );
  // Fields this manager applied before but dropped now, and that nobody else owns, are removed.
  const previous = managed.find((e) => e.manager === manager && e.operation === 'Apply');
  if (previous) {
    const ownedByOthers = managed
      .filter((e) => e !== previous)
      .flatMap((e) => fromFieldsV1(e.fieldsV1).map((p) => p.join('\n')));
    for (const p of fromFieldsV1(previous.fieldsV1)) {
      const k = p.join('\n');
      if (appliedLeaves.has(k) || ownedByOthers.some((o) => overlaps(o, k))) continue;
      if ([...appliedLeaves.keys()].some((a) => overlaps(a, k))) continue;
      removeAt(base, p);
    }
  }
  const merged = mergeApplied(base, applied) as Record<string, unknown> & {
    metadata: { managedFields?: unknown[] };
  };
  const apiVersion = String(applied.apiVersion ?? '');
  merged.metadata = { ...merged.metadata };
  merged.metadata.managedFields = setEntry(
    managed.filter(nonEmpty),
    manager,
    'Apply',
    apiVersion,
    [...appliedLeaves.values()].map((l) => l.path),
  );
  return merged;
}

/** `.data.a`, `.spec.containers[name="x"].image`: how the real server prints a field in conflicts. */
export function renderPath(path: Path): string {
  return path
    .map((seg) => {
      if (seg.startsWith('f:')) return `.${seg.slice(2)}`;
      if (seg.startsWith('k:')) {
        const key = JSON.parse(seg.slice(2)) as Record<string, unknown>;
        return `[${Object.entries(key)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(',')}]`;
      }
      return `[${seg.slice(2)}]`;
    })
    .join('');
}
