/** PATCH bodies (pure): RFC 6902 JSON patch, RFC 7386 merge patch, strategic merge patch. */
import { ApiError, badRequest } from './status.js';
import { LIST_MERGE_KEYS, SET_LISTS } from './managed-fields.js';

export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function invalidPatch(message: string): ApiError {
  return new ApiError(422, 'Invalid', message);
}

// ---- RFC 6902 ---------------------------------------------------------------------------------

interface JsonPatchOp {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw badRequest(`invalid JSON pointer "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: unknown, tokens: string[], pointer: string): { parent: unknown; last: string } {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isPlainObject(cur)) cur = cur[t];
    else cur = undefined;
    if (cur === undefined) throw invalidPatch(`doc is missing path: "${pointer}"`);
  }
  return { parent: cur, last: tokens[tokens.length - 1] };
}

function readPointer(doc: unknown, pointer: string): unknown {
  let cur = doc;
  for (const t of parsePointer(pointer)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isPlainObject(cur)) cur = cur[t];
    else cur = undefined;
    if (cur === undefined) throw invalidPatch(`doc is missing path: "${pointer}"`);
  }
  return cur;
}

function arrayIndex(arr: unknown[], token: string, allowEnd: boolean, pointer: string): number {
  if (token === '-' && allowEnd) return arr.length;
  const i = Number(token);
  if (!/^\d+$/.test(token) || i > arr.length || (!allowEnd && i === arr.length)) {
    throw invalidPatch(`Unable to access invalid index: ${token} (path "${pointer}")`);
  }
  return i;
}

function addAt(doc: unknown, pointer: string, value: unknown): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const { parent, last } = parentOf(doc, tokens, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, true, pointer), 0, value);
  else if (isPlainObject(parent)) parent[last] = value;
  else throw invalidPatch(`doc is missing path: "${pointer}"`);
  return doc;
}

function removeAt(doc: unknown, pointer: string): unknown {
  const tokens = parsePointer(pointer);
  const { parent, last } = parentOf(doc, tokens, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, false, pointer), 1);
  else if (isPlainObject(parent) && last in parent) delete parent[last];
  else throw invalidPatch(`Unable to remove nonexistent key: ${last}: missing value`);
  return doc;
}

export function applyJsonPatch(doc: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw badRequest('json patch must be an array of operations');
  let out = structuredClone(doc);
  for (const raw of patch as JsonPatchOp[]) {
    if (!isPlainObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw badRequest('invalid json patch operation');
    }
    switch (raw.op) {
      case 'add':
        out = addAt(out, raw.path, structuredClone(raw.value));
        break;
      case 'remove':
        out = removeAt(out, raw.path);
        break;
      case 'replace':
        readPointer(out, raw.path);
        out = removeAt(out, raw.path);
        out = addAt(out, raw.path, structuredClone(raw.value));
        break;
      case 'move': {
        const v = readPointer(out, raw.from ?? '');
        out = removeAt(out, raw.from ?? '');
        out = addAt(out, raw.path, v);
        break;
      }
      case 'copy':
        out = addAt(out, raw.path, structuredClone(readPointer(out, raw.from ?? '')));
        break;
      case 'test':
        if (JSON.stringify(readPointer(out, raw.path)) !== JSON.stringify(raw.value)) {
          throw invalidPatch(`testing value ${raw.path} failed: test failed`);
        }
        break;
      default:
        throw badRequest(`Unexpected kind: ${raw.op}`);
    }
  }
  return out;
}

// ---- RFC 7386 ---------------------------------------------------------------------------------

export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

// ---- strategic merge patch -------------------------------------------------------------------

/** Strategic merge for built-in types: keyed lists merge by their patch merge key; $patch directives. */
export function applyStrategicMergePatch(target: unknown, patch: unknown): unknown {
  return smpMap(isPlainObject(target) ? target : {}, patch);
}

function smpMap(target: Record<string, unknown>, patch: unknown): unknown {
  if (!isPlainObject(patch)) return structuredClone(patch);
  const directive = patch.$patch;
  if (directive === 'delete') return undefined;
  const body: Record<string, unknown> = { ...patch };
  delete body.$patch;
  if (directive === 'replace') return stripDirectives(body);
  const retain = Array.isArray(body.$retainKeys) ? (body.$retainKeys as string[]) : undefined;
  delete body.$retainKeys;
  const out: Record<string, unknown> = { ...target };
  for (const [k, v] of Object.entries(body)) {
    if (k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(out[field]) && Array.isArray(v)) {
        out[field] = (out[field] as unknown[]).filter((x) => !v.includes(x));
      }
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    if (Array.isArray(v)) {
      out[k] = smpList(k, Array.isArray(out[k]) ? (out[k] as unknown[]) : [], v);
      continue;
    }
    if (isPlainObject(v)) {
      const merged = smpMap(isPlainObject(out[k]) ? (out[k] as Record<string, unknown>) : {}, v);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
      continue;
    }
    out[k] = v;
  }
  if (retain) for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  return out;
}

function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isPlainObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith('$')) out[k] = stripDirectives(x);
  return out;
}

function smpList(field: string, target: unknown[], patch: unknown[]): unknown[] {
  const key = LIST_MERGE_KEYS[field];
  const replaceAll = patch.some(
    (p) => isPlainObject(p) && p.$patch === 'replace' && Object.keys(p).length === 1,
  );
  if (replaceAll)
    return stripDirectives(patch.filter((p) => !(isPlainObject(p) && p.$patch === 'replace'))) as unknown[];
  if (SET_LISTS.has(field)) return [...target, ...patch.filter((p) => !target.includes(p))];
  if (!key || !patch.every((p) => isPlainObject(p) && p[key] !== undefined))
    return stripDirectives(patch) as unknown[];
  const out = [...target];
  for (const item of patch as Record<string, unknown>[]) {
    const idx = out.findIndex((t) => isPlainObject(t) && t[key] === item[key]);
    if (item.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = smpMap(out[idx] as Record<string, unknown>, item);
    else out.push(stripDirectives(item));
  }
  return out;
}
