/**
 * Failure drills (`flannel-ops drill`): what a drill found, judged and tabulated. Pure; the runner that drives
 * the demo stack through the emulated Slack is drill.ts.
 */
import { terminalLine } from '../util/sanitize.js';

/**
 * How a drill ended: `resolved` (fixed and verified), `needs-person` (the plan left a fix only a person can make,
 * spelled out in the thread), `healthy` (a healthy scenario: no incident opened, a report found no problem),
 * `reported` (no incident opened; the on-demand report named the cause), `failed` (the incident failed or the
 * drill could not run), `timeout`.
 */
export type DrillOutcome = 'resolved' | 'needs-person' | 'healthy' | 'reported' | 'failed' | 'timeout';

export interface DrillResult {
  scenario: string;
  /** The scenario's root cause ("none" for a healthy one). */
  expected: string;
  /** The cause the verdict named first ("none": no problem found; undefined: no verdict seen). */
  named?: string;
  verdictRight: boolean;
  outcome: DrillOutcome;
  /** From the stack being up: the incident's root message posted, the verdict shown, the incident resolved. */
  detectMs?: number;
  verdictMs?: number;
  resolvedMs?: number;
  /** Approve clicks that the bot accepted. */
  approvals: number;
  /** Plan versions approved (a failed verification offers the next). */
  planVersions: number;
  note?: string;
}

/** Right: the named cause is the scenario's root cause; for a healthy scenario, no problem found. */
export function verdictRight(expected: string, named: string | undefined): boolean {
  if (named === undefined) return false;
  return named === expected;
}

/** The drill's outcome is one a person would accept: fixed, handed over with the fix spelled out, or healthy. */
export function drillPassed(r: DrillResult): boolean {
  const finished = ['resolved', 'needs-person', 'healthy', 'reported'].includes(r.outcome);
  return finished && r.verdictRight;
}

/** 0 when every drill passed, 1 otherwise. */
export function drillExitCode(results: readonly DrillResult[]): 0 | 1 {
  return results.length > 0 && results.every(drillPassed) ? 0 : 1;
}

export function formatSeconds(ms: number | undefined): string {
  return ms === undefined ? '-' : `${(ms / 1000).toFixed(1)}s`;
}

const COLUMNS = ['scenario', 'expected', 'named', 'right', 'detect', 'verdict', 'resolved', 'outcome'];

/** A plain-text table, one row per drill, and a summary line. */
export function formatDrillTable(results: readonly DrillResult[]): string {
  const rows = results.map((r) => [
    r.scenario,
    r.expected,
    r.named ?? '-',
    r.verdictRight ? 'yes' : 'NO',
    formatSeconds(r.detectMs),
    formatSeconds(r.verdictMs),
    formatSeconds(r.resolvedMs),
    r.outcome,
  ]);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const out = [line(COLUMNS), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
  const notes = results.filter((r) => r.note).map((r) => `  ${r.scenario}: ${r.note}`);
  if (notes.length) out.push('', 'notes:', ...notes);
  const passed = results.filter(drillPassed).length;
  const right = results.filter((r) => r.verdictRight).length;
  out.push(
    '',
    `${passed}/${results.length} drills ended resolved, with a person, or healthy with the right verdict; verdict right ${right}/${results.length}`,
  );
  return `${out.map(terminalLine).join('\n')}\n`;
}
