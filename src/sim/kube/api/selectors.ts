/** Label and field selectors (pure): parse once, then match many objects. */
import { badRequest } from './status.js';

export type LabelRequirement =
  | { key: string; op: 'eq' | 'neq'; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | 'notexists' };

export type LabelSelector = LabelRequirement[];

/** Split on commas that are not inside parentheses (`a in (x,y),b`). */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

const KEY = /^([a-z0-9A-Z]([-a-zA-Z0-9_./]*[a-zA-Z0-9])?)$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkKey(key: string, raw: string): string {
  if (!KEY.test(key)) throw badRequest(`unable to parse requirement: invalid label key "${key}" in "${raw}"`);
  return key;
}

function checkValue(value: string, raw: string): string {
  if (!VALUE.test(value))
    throw badRequest(`unable to parse requirement: invalid label value "${value}" in "${raw}"`);
  return value;
}

export function parseLabelSelector(selector: string | undefined): LabelSelector {
  if (!selector || selector.trim() === '') return [];
  return splitTopLevel(selector).map((raw): LabelRequirement => {
    const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(raw);
    if (set) {
      const values = set[3]
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '')
        .map((v) => checkValue(v, raw));
      return { key: checkKey(set[1], raw), op: set[2] as 'in' | 'notin', values };
    }
    const eq = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(raw);
    if (eq) {
      return { key: checkKey(eq[1], raw), op: eq[2] === '!=' ? 'neq' : 'eq', value: checkValue(eq[3], raw) };
    }
    if (raw.startsWith('!')) return { key: checkKey(raw.slice(1).trim(), raw), op: 'notexists' };
    if (/^\S+$/.test(raw)) return { key: checkKey(raw, raw), op: 'exists' };
    throw badRequest(`unable to parse requirement: "${raw}"`);
  });
}

export function matchLabels(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return selector.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case 'eq':
        return has && l[r.key] === r.value;
      case 'neq':
        return !has || l[r.key] !== r.value;
      case 'in':
        return has && r.values.includes(l[r.key]);
      case 'notin':
        return !has || !r.values.includes(l[r.key]);
      case 'exists':
        return has;
      case 'notexists':
        return !has;
    }
  });
}

export interface FieldRequirement {
  field: string;
  op: 'eq' | 'neq';
  value: string;
}

/** Parses `a=b,c!=d`; 400 for fields the resource does not register, like the real server. */
export function parseFieldSelector(
  selector: string | undefined,
  selectable: readonly string[],
): FieldRequirement[] {
  if (!selector || selector.trim() === '') return [];
  return splitTopLevel(selector).map((raw) => {
    const m = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(raw);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${raw}'`);
    const field = m[1];
    if (!selectable.includes(field)) throw badRequest(`field label not supported: ${field}`);
    return { field, op: m[2] === '!=' ? 'neq' : 'eq', value: m[3].trim() };
  });
}

const BOOLEAN_FIELDS = new Set(['spec.unschedulable', 'spec.hostNetwork']);
const EVENTS_V1_ALIASES: Record<string, string> = { reportingController: 'reportingComponent' };

/** The string value the real server indexes for `field` (missing fields are ''). */
export function fieldValue(obj: Record<string, unknown>, field: string): string {
  if (field === 'source' && obj.kind === 'Event') {
    const src = (obj.source as { component?: string } | undefined)?.component;
    return src || String(obj.reportingComponent ?? obj.reportingController ?? '');
  }
  let path = EVENTS_V1_ALIASES[field] ?? field;
  if (path.startsWith('regarding.')) path = `involvedObject.${path.slice('regarding.'.length)}`;
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') {
      cur = undefined;
      break;
    }
    cur = (cur as Record<string, unknown>)[part];
  }
  if (cur === undefined || cur === null) return BOOLEAN_FIELDS.has(field) ? 'false' : '';
  return String(cur);
}

export function matchFields(reqs: FieldRequirement[], obj: Record<string, unknown>): boolean {
  return reqs.every((r) => (fieldValue(obj, r.field) === r.value) === (r.op === 'eq'));
}

/** A compiled selector pair (labels + fields) for one list or watch. */
export interface ObjectFilter {
  namespace?: string;
  labels: LabelSelector;
  fields: FieldRequirement[];
}

export function compileFilter(
  selectable: readonly string[],
  opts: { namespace?: string; labelSelector?: string; fieldSelector?: string },
): ObjectFilter {
  return {
    namespace: opts.namespace,
    labels: parseLabelSelector(opts.labelSelector),
    fields: parseFieldSelector(opts.fieldSelector, selectable),
  };
}

export function matchesFilter(
  filter: ObjectFilter,
  obj: { metadata: { namespace?: string; labels?: Record<string, string> } },
): boolean {
  if (filter.namespace !== undefined && obj.metadata.namespace !== filter.namespace) return false;
  if (filter.labels.length > 0 && !matchLabels(filter.labels, obj.metadata.labels)) return false;
  if (filter.fields.length > 0 && !matchFields(filter.fields, obj as unknown as Record<string, unknown>))
    return false;
  return true;
}
