/**
 * Loads scenario files (built-in by name, or a user's file) and expands `generate` for `--nodes N`.
 * Every problem is a UserError naming the file, the field path (and line) and the reason.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, parseDocument } from 'yaml';
import { yamlToJs } from '../../../config/yaml-file.js';
import type { z } from 'zod';
import { UserError } from '../../../util/errors.js';
import { formatIpv4, parseIpv4OrThrow } from '../../../util/ipv4.js';
import { BUILTIN_SCENARIOS } from './builtin-names.js';
import { kubeObjectSchema, nodeSchema, scenarioSchema, type Scenario, type ScenarioNode } from './schema.js';

export { BUILTIN_SCENARIOS };

/** Directory holding the built-in scenario files (`<name>.yaml`). */
export const BUILTIN_SCENARIO_DIR = fileURLToPath(new URL('../scenarios/', import.meta.url));

export function builtinScenarioPath(name: string): string {
  return path.join(BUILTIN_SCENARIO_DIR, `${name}.yaml`);
}

/** `nodes[1].host.files["/etc/cni/net.d/x"]` */
export function formatPath(p: readonly PropertyKey[]): string {
  let out = '';
  for (const key of p) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$-]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out || '(top level)';
}

interface DocLookup {
  lineOf(p: readonly PropertyKey[]): number | undefined;
  has(p: readonly PropertyKey[]): boolean;
  typeAt(p: readonly PropertyKey[]): string;
}

function describeIssues(
  source: string,
  issues: readonly z.core.$ZodIssue[],
  doc: DocLookup,
  prefix: readonly PropertyKey[] = [],
): string {
  const lineOf = (p: readonly PropertyKey[]) => doc.lineOf(p);
  const parts = issues.slice(0, 5).map((issue) => {
    let p: PropertyKey[] = [...prefix, ...issue.path];
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') {
      p = [...p, issue.keys[0]];
      message = `unknown field${issue.keys.length > 1 ? `s ${issue.keys.map((k) => `"${k}"`).join(', ')}` : ''}`;
    } else if ((issue.code === 'invalid_value' || issue.code === 'invalid_type') && !doc.has(p)) {
      message = 'is required';
    } else if (issue.code === 'invalid_value' && 'values' in issue) {
      message = `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    } else if (issue.code === 'invalid_type') {
      message = `must be ${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}, not ${doc.typeAt(p)}`;
    }
    // A missing top-level field has no better line than the document's first.
    const line = doc.has(p) || p.length > 1 ? lineOf(p) : undefined;
    return `${formatPath(p)}${line ? ` (line ${line})` : ''}: ${message}`;
  });
  const more = issues.length > 5 ? ` (and ${issues.length - 5} more problems)` : '';
  return `scenario file ${source}: ${parts.join('; ')}${more}`;
}

/**
 * Generated nodes add name/internalIP/podCIDR themselves, so presence is judged on the template, and the
 * issue path (relative to the generated node) is looked up under generate.nodeTemplate.
 */
function templateLookup(doc: DocLookup, prefix: readonly PropertyKey[]): DocLookup {
  return {
    lineOf: (p) => doc.lineOf(p),
    has: (p) => doc.has(p) || ['name', 'internalIP', 'podCIDR'].includes(String(p[prefix.length])),
    typeAt: (p) => doc.typeAt(p),
  };
}

/** Parses and validates scenario YAML; `source` names the file in error messages. */
export function parseScenario(text: string, source: string): Scenario {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    const pos = lineCounter.linePos(err.pos[0]);
    const reason = err.message.split('\n')[0];
    throw new UserError(
      `scenario file ${source}: invalid YAML at line ${pos.line}, column ${pos.col}: ${reason}`,
    );
  }
  const js = yamlToJs(doc, 10000);
  if (!js.ok) throw new UserError(`scenario file ${source}: ${js.reason}`);
  const raw: unknown = js.value;
  const valueAt = (p: readonly PropertyKey[]): unknown =>
    p.reduce<unknown>(
      (v, k) => (v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined),
      raw,
    );
  const lookup: DocLookup = {
    lineOf: (p) => {
      // The closest node that exists in the document.
      for (let n = p.length; n >= 0; n--) {
        const node = doc.getIn(p.slice(0, n) as unknown[], true) as
          { range?: [number, number, number] } | undefined;
        if (node && typeof node === 'object' && node.range) return lineCounter.linePos(node.range[0]).line;
      }
      return undefined;
    },
    has: (p) => valueAt(p) !== undefined,
    typeAt: (p) => {
      const v = valueAt(p);
      return v === null
        ? 'null'
        : Array.isArray(v)
          ? 'a list'
          : typeof v === 'object'
            ? 'a mapping'
            : `${typeof v} ${JSON.stringify(v)}`;
    },
  };
  const parsed = scenarioSchema.safeParse(raw);
  if (!parsed.success) throw new UserError(describeIssues(source, parsed.error.issues, lookup));
  const scenario = parsed.data;
  // Times relative to now (a restart three days ago stays three days ago whenever the scenario runs).
  try {
    scenario.objects = expandTimes(scenario.objects, Date.now(), ['objects']) as typeof scenario.objects;
    scenario.logs = expandTimes(scenario.logs, Date.now(), ['logs']) as typeof scenario.logs;
  } catch (err) {
    if (!(err instanceof TimeError)) throw err;
    const line = lookup.lineOf(err.path);
    throw new UserError(
      `scenario file ${source}: ${formatPath(err.path)}${line ? ` (line ${line})` : ''}: ${err.message}`,
    );
  }
  if (scenario.generate) {
    // Validate the template now, so a bad template fails at load time and not at `--nodes N`.
    try {
      expandScenario(scenario, { nodes: 1 });
    } catch (err) {
      if (err instanceof GenerateError) {
        throw new UserError(
          describeIssues(source, err.issues, templateLookup(lookup, err.prefix), err.prefix),
        );
      }
      throw err;
    }
  }
  return scenario;
}

/** Loads a built-in scenario by name, or a scenario file. */
export function loadScenario(ref: { name?: string; file?: string }): Scenario {
  if (ref.file !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(ref.file, 'utf8');
    } catch (err) {
      throw new UserError(`scenario file ${ref.file}: cannot read it: ${(err as Error).message}`);
    }
    return parseScenario(text, ref.file);
  }
  const name = ref.name ?? 'flannel-missing';
  if (!(BUILTIN_SCENARIOS as readonly string[]).includes(name)) {
    throw new UserError(`unknown scenario "${name}"; built-in scenarios: ${BUILTIN_SCENARIOS.join(', ')}`);
  }
  const file = builtinScenarioPath(name);
  return parseScenario(fs.readFileSync(file, 'utf8'), file);
}

// ---------------------------------------------------------------- relative times

class TimeError extends Error {
  constructor(
    message: string,
    readonly path: PropertyKey[],
  ) {
    super(message);
  }
}

const TIME = /\{\{(klog:)?now(?:([+-])(\d+)([smhd]))?\}\}/g;
const TIME_LIKE = /\{\{(?:klog:)?now[^}]*\}\}/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `{{now}}`, `{{now-3d}}`, `{{now+90s}}` (RFC 3339, seconds) and `{{klog:now-5m}}` (klog's `MMDD hh:mm:ss.uuuuuu`). */
export function expandTimes(value: unknown, now: number, path: PropertyKey[] = []): unknown {
  if (typeof value === 'string') {
    if (!value.includes('{{')) return value;
    const out = value.replace(
      TIME,
      (_all, klog: string | undefined, sign: string, n: string, unit: string) => {
        const at = new Date(now + (sign ? (sign === '-' ? -1 : 1) * Number(n) * UNIT_MS[unit] : 0));
        if (!klog) return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
        const p = (x: number, w = 2) => String(x).padStart(w, '0');
        return `${p(at.getUTCMonth() + 1)}${p(at.getUTCDate())} ${p(at.getUTCHours())}:${p(at.getUTCMinutes())}:${p(at.getUTCSeconds())}.${p(at.getUTCMilliseconds() * 1000, 6)}`;
      },
    );
    if (TIME_LIKE.test(out))
      throw new TimeError(
        `${TIME_LIKE.exec(out)![0]} is not a time: use {{now}}, {{now-3d}}, {{now+90s}} or {{klog:now-5m}} (units s, m, h, d)`,
        path,
      );
    return out;
  }
  if (Array.isArray(value)) return value.map((v, i) => expandTimes(v, now, [...path, i]));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandTimes(v, now, [...path, k])]));
  return value;
}

// ---------------------------------------------------------------- generate (--nodes N)

class GenerateError extends Error {
  constructor(
    readonly issues: readonly z.core.$ZodIssue[],
    readonly prefix: readonly PropertyKey[],
  ) {
    super('invalid generate section');
  }
}

function substitute(value: unknown, vars: Record<string, string>): unknown {
  if (typeof value === 'string') return value.replace(/\{\{(\w+)\}\}/g, (all, k: string) => vars[k] ?? all);
  if (Array.isArray(value)) return value.map((v) => substitute(v, vars));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [substitute(k, vars) as string, substitute(v, vars)]),
    );
  }
  return value;
}

/** Placeholder values of the i-th generated node (see generateSchema). */
export function generatedNodeVars(scenario: Scenario, i: number): Record<string, string> {
  const g = scenario.generate;
  if (!g) throw new Error('scenario has no generate section');
  const podNetwork = formatIpv4(parseIpv4OrThrow(g.podCIDRBase) + i * 256);
  const podPrefix = podNetwork.split('.').slice(0, 3).join('.');
  const vars = {
    i: String(i),
    internalIP: formatIpv4(parseIpv4OrThrow(g.internalIPBase) + i),
    podNetwork,
    podPrefix,
    podGateway: `${podPrefix}.1`,
    podCIDR: `${podNetwork}/24`,
    name: '',
  };
  vars.name = g.namePattern.replace(
    /\{\{(\w+)\}\}/g,
    (all, k: string) => (vars as Record<string, string>)[k] ?? all,
  );
  return vars;
}

/**
 * Returns the scenario with `opts.nodes` generated nodes (replacing the listed ones unless
 * generate.keepNodes) plus generate.objectsPerNode for each. Without opts.nodes, returns it unchanged.
 */
export function expandScenario(scenario: Scenario, opts: { nodes?: number }): Scenario {
  if (opts.nodes === undefined) return scenario;
  const g = scenario.generate;
  if (!g) {
    throw new UserError(
      `scenario "${scenario.name}" has no generate section, so it cannot be scaled with --nodes`,
    );
  }
  if (!Number.isInteger(opts.nodes) || opts.nodes < 1)
    throw new UserError(`--nodes must be a positive integer`);
  const nodes: ScenarioNode[] = g.keepNodes ? [...scenario.nodes] : [];
  const objects = [...scenario.objects];
  for (let n = 0; n < opts.nodes; n++) {
    const vars = generatedNodeVars(scenario, g.firstIndex + n);
    const template = substitute(g.nodeTemplate, vars) as Record<string, unknown>;
    const raw: Record<string, unknown> = {
      name: vars.name,
      internalIP: vars.internalIP,
      podCIDR: vars.podCIDR,
      ...template,
    };
    // `podCIDR: null` in the template generates nodes without one.
    if (raw.podCIDR === null) delete raw.podCIDR;
    const node = nodeSchema.safeParse(raw);
    if (!node.success) throw new GenerateError(node.error.issues, ['generate', 'nodeTemplate']);
    if (nodes.some((x) => x.name === node.data.name)) {
      throw new UserError(
        `scenario "${scenario.name}": generated node name "${node.data.name}" is already used`,
      );
    }
    nodes.push(node.data);
    g.objectsPerNode.forEach((o, j) => {
      const obj = kubeObjectSchema.safeParse(substitute(o, vars));
      if (!obj.success) throw new GenerateError(obj.error.issues, ['generate', 'objectsPerNode', j]);
      objects.push(obj.data);
    });
  }
  return { ...scenario, nodes, objects };
}

// ---------------------------------------------------------------- seeding helpers

interface OwnerRefLike {
  kind: string;
  name: string;
  uid?: string;
}

/**
 * Scenario files cannot know the uids the API server assigns, so their ownerReferences may name the
 * owner (kind + name, same namespace) without a uid. Returns a copy with those uids filled in from
 * `uidOf`; references whose owner is unknown are dropped (the object is then an orphan, as the
 * garbage collector would leave it). Objects are seeded in file order, owners first.
 */
export function withOwnerUids<T extends { metadata: { namespace?: string; ownerReferences?: unknown } }>(
  obj: T,
  uidOf: (kind: string, namespace: string | undefined, name: string) => string | undefined,
): T {
  const refs = obj.metadata.ownerReferences as OwnerRefLike[] | undefined;
  if (!Array.isArray(refs)) return obj;
  const resolved = refs
    .map((r) => (r.uid ? r : { ...r, uid: uidOf(r.kind, obj.metadata.namespace, r.name) }))
    .filter((r) => r.uid !== undefined);
  return { ...obj, metadata: { ...obj.metadata, ownerReferences: resolved } };
}
