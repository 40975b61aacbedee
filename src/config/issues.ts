import type { z } from 'zod';
import { UserError } from '../util/errors.js';

/** One thing wrong with a configuration source, precise enough for the user to go and fix it. */
export interface Problem {
  /** The file (or "environment") the problem is in. */
  file: string;
  /** Where in it: a field path like `clusters[1].channel`, an env variable, or `(syntax)`. */
  field: string;
  /** Why it is wrong, in words a user understands. Never contains a secret value. */
  message: string;
  /** 1-based position in the file, when known. */
  line?: number;
  column?: number;
}

/**
 * Invalid configuration: carries every problem found, not just the first. Exit code 1 unless the
 * caller knows better (e.g. `diagnose` uses 2, "could not diagnose").
 */
export class ConfigError extends UserError {
  readonly problems: Problem[];

  constructor(problems: Problem[], exitCode = 1) {
    super(formatProblems(problems), exitCode);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function isConfigError(err: unknown): err is ConfigError {
  return err instanceof ConfigError;
}

/** Where a value sits in its source file; returns undefined when it cannot tell. */
export type Locator = (
  path: readonly PropertyKey[],
  options?: { key?: boolean },
) => { line: number; column: number } | undefined;

/** "FILE[:LINE[:COL]]: FIELD: REASON", one line per problem. */
export function formatProblem(problem: Problem): string {
  const position =
    problem.line === undefined
      ? ''
      : `:${problem.line}${problem.column === undefined ? '' : `:${problem.column}`}`;
  // Messages are single-line by contract, so every output line names file, field and reason.
  const message = problem.message.replace(/\s*\n\s*/g, ' ');
  return `${problem.file}${position}: ${problem.field}: ${message}`;
}

export function formatProblems(problems: readonly Problem[]): string {
  return problems.map(formatProblem).join('\n');
}

/** `['clusters', 1, 'channel']` -> `clusters[1].channel`; odd keys are quoted: `labels["app.k8s.io/x"]`. */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$-]*$/.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/**
 * Turns a zod error into problems, one per issue (one per key for unknown keys), with messages
 * rewritten for people editing a YAML file. Pass the schema to get "did you mean" hints for
 * unknown keys, and a locator to get line numbers.
 */
export function zodIssuesToProblems(
  file: string,
  error: z.ZodError,
  options: { schema?: z.ZodType; locate?: Locator } = {},
): Problem[] {
  const problems: Problem[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = options.schema ? knownKeysAt(options.schema, issue.path) : [];
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        const hint = closestKey(key, known);
        const message = hint ? `unknown key (did you mean "${hint}"?)` : unknownKeyMessage(known);
        const pos = options.locate?.(path, { key: true });
        problems.push({
          file,
          field: formatFieldPath(path),
          message,
          ...(pos && { line: pos.line, column: pos.column }),
        });
      }
      continue;
    }
    const path = issue.path;
    problems.push(
      withPosition(
        { file, field: formatFieldPath(path), message: issueMessage(issue) },
        path,
        options.locate,
      ),
    );
  }
  return problems;
}

function withPosition(problem: Problem, path: readonly PropertyKey[], locate: Locator | undefined): Problem {
  const pos = locate?.(path);
  return pos ? { ...problem, line: pos.line, column: pos.column } : problem;
}

function unknownKeyMessage(known: string[]): string {
  return known.length > 0 ? `unknown key (allowed: ${known.join(', ')})` : 'unknown key';
}

function issueMessage(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (/received undefined$/.test(issue.message)) return `required (expected ${issue.expected})`;
      return issue.message.replace(/^Invalid input: /, '');
    case 'invalid_value':
      return issue.message.replace(/^Invalid option: /, '');
    case 'too_small':
      if (issue.origin === 'array' && Number(issue.minimum) === 1) return 'must list at least one entry';
      if (issue.origin === 'string' && Number(issue.minimum) === 1) return 'must not be empty';
      if (issue.origin === 'number')
        return `must be ${issue.inclusive ? 'at least' : 'more than'} ${issue.minimum}`;
      return issue.message.replace(/^Too small: /, '');
    case 'too_big':
      if (issue.origin === 'number')
        return `must be ${issue.inclusive ? 'at most' : 'less than'} ${issue.maximum}`;
      return issue.message.replace(/^Too big: /, '');
    default:
      return issue.message;
  }
}

/** The keys a strict object at `path` accepts, found by walking the schema (best effort). */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let node: unknown = schema;
  for (const key of path) {
    node = unwrap(node);
    const def = defOf(node);
    if (def?.type === 'array') node = def.element;
    else if (def?.type === 'record') node = def.valueType;
    else if (def?.type === 'object' && typeof key === 'string')
      node = (def.shape as Record<string, unknown>)[key];
    else return [];
  }
  const def = defOf(unwrap(node));
  return def?.type === 'object' ? Object.keys(def.shape as object) : [];
}

interface SchemaDef {
  type: string;
  [key: string]: unknown;
}

function defOf(node: unknown): SchemaDef | undefined {
  return (node as { def?: SchemaDef } | undefined)?.def;
}

/** Looks through wrappers that do not change the shape of the input: optional, default, transforms. */
function unwrap(node: unknown): unknown {
  for (let i = 0; i < 20; i++) {
    const def = defOf(node);
    if (!def) return node;
    if (
      ['optional', 'nullable', 'default', 'prefault', 'catch', 'readonly', 'nonoptional'].includes(def.type)
    ) {
      node = def.innerType;
    } else if (def.type === 'pipe') {
      node = def.in;
    } else {
      return node;
    }
  }
  return node;
}

/** The known key closest to a typo, if it is close enough to be a plausible intent. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const tolerance = Math.max(1, Math.floor(key.length / 3));
  return bestDistance <= tolerance ? best : undefined;
}

/** Optimal string alignment distance: like Levenshtein, but a swap of two letters ("usres") counts once. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}
