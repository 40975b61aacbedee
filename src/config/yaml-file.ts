import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type { z } from 'zod';
import { ConfigError, zodIssuesToProblems, type Locator, type Problem } from './issues.js';

/** A parsed YAML document plus a way to find where a value came from (for line numbers in errors). */
export interface ParsedYaml {
  file: string;
  value: unknown;
  locate: Locator;
}

/**
 * Reads a YAML file. A missing/unreadable file or a syntax error becomes a ConfigError naming the
 * file (and line/column for syntax errors). `what` describes the file for the missing-file message.
 */
/** `missingHint` tells the user what to do when the file does not exist. */
export function readYamlFile(file: string, what = 'file', missingHint?: string): ParsedYaml {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const reason = describeReadError(err, what);
    const hint = missingHint && (err as NodeJS.ErrnoException)?.code === 'ENOENT' ? `: ${missingHint}` : '';
    throw new ConfigError([{ file, field: '(file)', message: `${reason}${hint}` }]);
  }
  return parseYamlText(file, text);
}

export function describeReadError(err: unknown, what: string): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return `${what} not found`;
  if (code === 'EACCES') return `${what} is not readable (permission denied)`;
  if (code === 'EISDIR') return `${what} is a directory, expected a file`;
  return `${what} could not be read: ${(err as Error)?.message ?? String(err)}`;
}

/** Parses YAML text; every syntax error (with its line and column) ends up in one ConfigError. */
export function parseYamlText(file: string, text: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return {
          file,
          field: '(syntax)',
          message: `invalid YAML: ${e.message}`,
          line: pos.line,
          column: pos.col,
        };
      }),
    );
  }
  const locate: Locator = (path, options) => {
    const node = deepestNode(doc.contents as Node | null, path, options?.key ?? false);
    if (!node?.range) return undefined;
    const pos = lineCounter.linePos(node.range[0]);
    return { line: pos.line, column: pos.col };
  };
  const value = yamlToJs(doc);
  if (!value.ok) throw new ConfigError([{ file, field: '(syntax)', message: value.reason }]);
  return { file, value: value.value, locate };
}

/** How many alias expansions a document may need; a "billion laughs" file needs millions. */
export const MAX_YAML_ALIASES = 100;

/**
 * The document as plain JS, refusing alias bombs (the `yaml` package throws a ReferenceError past
 * maxAliasCount) with a reason instead of a stack trace.
 */
export function yamlToJs(
  doc: { toJS(options: { maxAliasCount: number }): unknown },
  maxAliasCount = MAX_YAML_ALIASES,
): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: doc.toJS({ maxAliasCount }) };
  } catch (err) {
    const message = (err as Error)?.message ?? String(err);
    if (/alias/i.test(message)) {
      return {
        ok: false,
        reason: `too many YAML alias expansions (more than ${maxAliasCount}): refused as a resource exhaustion risk`,
      };
    }
    return { ok: false, reason: `invalid YAML: ${message.split('\n')[0]}` };
  }
}

/** Follows `path` as far as the document goes: the value's node, else the closest existing parent. */
function deepestNode(root: Node | null, path: readonly PropertyKey[], wantKey: boolean): Node | undefined {
  let node: Node | undefined = root ?? undefined;
  for (const [i, key] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === key);
      if (!pair) return node;
      const last = i === path.length - 1;
      node = ((last && wantKey ? pair.key : (pair.value ?? pair.key)) as Node | null) ?? node;
    } else if (isSeq(node) && typeof key === 'number') {
      const item = node.items[key] as Node | undefined;
      if (!item) return node;
      node = item;
    } else {
      return node;
    }
  }
  return node;
}

/** Checks a parsed document against a schema; all schema problems, with line numbers, in one ConfigError. */
export function validateYaml<S extends z.ZodType>(parsed: ParsedYaml, schema: S): z.output<S> {
  if (parsed.value === null || parsed.value === undefined) {
    throw new ConfigError([{ file: parsed.file, field: '(top level)', message: 'the file is empty' }]);
  }
  const result = schema.safeParse(parsed.value);
  if (result.success) return result.data;
  const problems = zodIssuesToProblems(parsed.file, result.error, { schema, locate: parsed.locate });
  throw new ConfigError(sortByPosition(problems));
}

/** Top-to-bottom order reads like the file; problems without a line keep their place at the end. */
export function sortByPosition(problems: Problem[]): Problem[] {
  const position = (p: Problem) => (p.line ?? Infinity) * 1e6 + (p.column ?? 0);
  return problems
    .map((problem, index) => ({ problem, index }))
    .sort((a, b) => position(a.problem) - position(b.problem) || a.index - b.index)
    .map(({ problem }) => problem);
}
