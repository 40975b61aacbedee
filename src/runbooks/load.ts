/**
 * Loads and validates runbooks (I/O), and matches them against signals (pure).
 * Every problem in every file is collected first, so one start-up error lists them all.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, isConfigError, zodIssuesToProblems, type Problem } from '../config/issues.js';
import { describeReadError, parseYamlText } from '../config/yaml-file.js';
import { isCniFailure } from '../detect/classify.js';
import type { FailureSignature } from '../detect/signature.js';
import { runbookSchema, type Runbook } from './schema.js';

export type { Runbook, RunbookSpec, RunbookTrigger, RemediationStep, CheckRef } from './schema.js';

const RUNBOOK_FILE = /\.ya?ml$/i;

/** Every `*.yaml` (and `*.yml`) runbook in `dir`, in file-name order. Throws ConfigError (a UserError, exit 1). */
export function loadRunbooks(dir: string): Runbook[] {
  return loadRunbooksFrom([dir]);
}

/** Runbooks from several directories (e.g. the shipped ones plus site-specific ones); ids must be unique across all. */
export function loadRunbooksFrom(dirs: readonly string[]): Runbook[] {
  const problems: Problem[] = [];
  const runbooks: Runbook[] = [];
  for (const dir of dirs) {
    for (const file of listRunbookFiles(dir, problems)) {
      const runbook = loadRunbookFile(file, problems);
      if (runbook) runbooks.push(runbook);
    }
  }
  problems.push(...duplicateIdProblems(runbooks));
  if (problems.length > 0) throw new ConfigError(problems);
  return runbooks;
}

function listRunbookFiles(dir: string, problems: Problem[]): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    problems.push({ file: dir, field: '(directory)', message: describeReadError(err, 'runbook directory') });
    return [];
  }
  const files = names.filter((n) => RUNBOOK_FILE.test(n)).sort();
  if (files.length === 0) {
    problems.push({ file: dir, field: '(directory)', message: 'no runbooks (*.yaml) in this directory' });
  }
  return files.map((n) => join(dir, n));
}

function loadRunbookFile(file: string, problems: Problem[]): Runbook | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    problems.push({ file, field: '(file)', message: describeReadError(err, 'runbook') });
    return undefined;
  }
  let parsed: ReturnType<typeof parseYamlText>;
  try {
    parsed = parseYamlText(file, text);
  } catch (err) {
    if (!isConfigError(err)) throw err;
    problems.push(...err.problems);
    return undefined;
  }
  if (parsed.value === null || parsed.value === undefined) {
    problems.push({ file, field: '(top level)', message: 'the file is empty' });
    return undefined;
  }
  const result = runbookSchema.safeParse(parsed.value);
  if (!result.success) {
    problems.push(
      ...zodIssuesToProblems(file, result.error, { schema: runbookSchema, locate: parsed.locate }),
    );
    return undefined;
  }
  const spec = result.data;
  return {
    ...spec,
    file,
    messageRegexes: (spec.trigger.messagePatterns ?? []).map((p) => new RegExp(p, 'i')),
  };
}

function duplicateIdProblems(runbooks: readonly Runbook[]): Problem[] {
  const firstFile = new Map<string, string>();
  const problems: Problem[] = [];
  for (const runbook of runbooks) {
    const earlier = firstFile.get(runbook.id);
    if (earlier === undefined) firstFile.set(runbook.id, runbook.file);
    else
      problems.push({
        file: runbook.file,
        field: 'id',
        message: `duplicate runbook id "${runbook.id}" (also in ${earlier})`,
      });
  }
  return problems;
}

/** What matching reads from a signal (SandboxSignal satisfies it). */
export interface MatchableSignal {
  reason: string;
  /** Involved object kind; an empty value is taken as Pod (both handled reasons are about pods). */
  kind?: string;
  message: string;
  signature: Pick<FailureSignature, 'errorClass' | 'pluginType' | 'plugin'>;
}

/** What the watcher knows about the cluster (undefined: not known yet). */
export interface ClusterCniFacts {
  flannel?: boolean;
}

/** The runbooks whose trigger the signal satisfies, in load order. Pure. */
export function matchRunbooks(
  runbooks: readonly Runbook[],
  signal: MatchableSignal,
  cluster: ClusterCniFacts = {},
): Runbook[] {
  return runbooks.filter((runbook) => triggerMatches(runbook, signal, cluster));
}

function triggerMatches(runbook: Runbook, signal: MatchableSignal, cluster: ClusterCniFacts): boolean {
  const trigger = runbook.trigger;
  if (!(trigger.reasons as readonly string[]).includes(signal.reason)) return false;
  if (!trigger.involvedKinds.includes(signal.kind || 'Pod')) return false;
  // On a cluster that runs the runbook's CNI, every CNI plugin's sandbox failure is in scope.
  if (trigger.cni === 'flannel' && cluster.flannel === true && isCniFailure(signal)) return true;
  // Older wrappers never name the plugin type; a missing binary still says whose plugin failed. A message
  // naming neither matches, so the filter only excludes failures that clearly belong to another CNI.
  const plugin = (signal.signature.pluginType ?? signal.signature.plugin)?.toLowerCase();
  if (trigger.pluginTypes && plugin && !trigger.pluginTypes.some((t) => t.toLowerCase() === plugin)) {
    return false;
  }
  if (!trigger.errorClasses && runbook.messageRegexes.length === 0) return true;
  if (trigger.errorClasses?.includes(signal.signature.errorClass)) return true;
  return runbook.messageRegexes.some((re) => re.test(signal.message));
}

export { shippedRunbooksDir } from './shipped.js';
