/**
 * The diagnosis thread messages (pure): the checks message that updates as checks finish, and the
 * verdict + plan message with the "Re-run diagnosis" button. Every string that may come from the
 * cluster (summaries, evidence, node names) goes through the mrkdwn escaper.
 */
import type {
  CheckProgressState,
  Diagnosis,
  DiagnosisProgress,
  PlanStep,
  RankedCause,
} from '../../diagnosis/types.js';
import { bold, code, escapeMrkdwn, limitList, truncate } from '../mrkdwn.js';
import {
  actions,
  button,
  context,
  divider,
  fitMessage,
  header,
  linesToSections,
  section,
  type Block,
  type SlackMessage,
} from './blocks.js';

export const CHECK_EMOJI: Record<CheckProgressState, string> = {
  pending: ':white_circle:',
  running: ':hourglass_flowing_sand:',
  ok: ':white_check_mark:',
  warn: ':warning:',
  fail: ':x:',
  error: ':exclamation:',
  skipped: ':fast_forward:',
};

export const RISK_BADGE: Record<PlanStep['risk'], string> = {
  low: ':large_green_circle: low risk',
  medium: ':large_yellow_circle: medium risk',
  high: ':red_circle: high risk',
};

/** action_id of the re-run button; its value is an opaque id (button-store.ts), never data. */
export const RERUN_ACTION_ID = 'rerun-diagnosis';
/** action_ids of the "show every evidence line" buttons, one per cause (unique within the message). */
export const EVIDENCE_ACTION_ID = /^show-evidence-\d+$/;
export const evidenceActionId = (rank: number) => `show-evidence-${rank}`;

const MAX_CHECK_LINES = 60;
const MAX_CAUSES = 5;
const MAX_EVIDENCE_PER_CAUSE = 8;
const MAX_EVIDENCE_CHARS = 300;
const MAX_PLAN_STEPS = 12;

const PHASE_TEXT: Record<DiagnosisProgress['phase'], string> = {
  queued: 'queued',
  probing: 'probing nodes',
  checking: 'running checks',
  verdict: 'ranking causes',
  done: 'done',
  failed: 'failed',
};

interface CheckLine {
  id: string;
  state: CheckProgressState;
  summary?: string;
  node?: string;
}

function checkLine(c: CheckLine): string {
  const node = c.node ? ` on ${bold(truncate(c.node, 80))}` : '';
  const summary = c.summary ? ` — ${escapeMrkdwn(truncate(c.summary.replace(/\s+/g, ' '), 250))}` : '';
  return `${CHECK_EMOJI[c.state]} ${code(c.id, 60)}${node}${summary}`;
}

function checkLines(checks: readonly CheckLine[]): { blocks: Block[]; counts: string } {
  const { items, note } = limitList(checks, MAX_CHECK_LINES, 'checks');
  const lines = items.map(checkLine);
  if (note) lines.push(`_${note}_`);
  const tally = new Map<CheckProgressState, number>();
  for (const c of checks) tally.set(c.state, (tally.get(c.state) ?? 0) + 1);
  const counts = [...tally].map(([state, n]) => `${CHECK_EMOJI[state]} ${n} ${state}`).join('  ');
  return { blocks: linesToSections(lines), counts };
}

/** The checks message while the diagnosis runs. */
export function renderDiagnosisProgress(p: DiagnosisProgress): SlackMessage {
  const finished = p.checks.filter((c) => c.state !== 'pending' && c.state !== 'running').length;
  const { blocks, counts } = checkLines(p.checks);
  const probes =
    p.probes.total > 0
      ? `probes ${p.probes.done}/${p.probes.total}${p.probes.failed ? ` (${p.probes.failed} failed)` : ''}`
      : undefined;
  const body = [
    section(
      `${p.phase === 'failed' ? ':x:' : ':mag:'} *Diagnosis* of ${bold(p.cluster)}: ${PHASE_TEXT[p.phase]} — ${finished}/${p.checks.length} checks done`,
    ),
    ...blocks,
    context(
      ...[counts || 'no checks yet', probes, `diagnosis ${code(p.id, 60)}`].filter((x): x is string => !!x),
    ),
  ];
  return fitMessage(
    `Diagnosis of ${escapeMrkdwn(p.cluster)}: ${finished}/${p.checks.length} checks done`,
    body,
  );
}

/** The checks message once the diagnosis finished (every check's final status). */
export function renderDiagnosisChecks(d: Diagnosis): SlackMessage {
  const checks: CheckLine[] = d.checks.map((c) => ({
    id: c.id,
    state: c.status,
    summary: c.summary,
    node: c.node,
  }));
  const { blocks, counts } = checkLines(checks);
  const nodes = d.nodes.length
    ? `nodes probed: ${d.nodes
        .slice(0, 10)
        .map((n) => code(n, 60))
        .join(', ')}${d.nodes.length > 10 ? ` …and ${d.nodes.length - 10} more` : ''}`
    : undefined;
  const body = [
    section(
      `${d.healthy ? ':white_check_mark:' : ':x:'} *Diagnosis* of ${bold(d.cluster)}: done — ${checks.length}/${checks.length} checks`,
    ),
    ...blocks,
    context(...[counts || 'no checks', nodes, `diagnosis ${code(d.id, 60)}`].filter((x): x is string => !!x)),
  ];
  return fitMessage(`Diagnosis of ${escapeMrkdwn(d.cluster)}: done`, body);
}

function causeBlocks(cause: RankedCause, rank: number, evidenceId?: string): Block[] {
  const pct = Math.round(Math.max(0, Math.min(1, cause.confidence)) * 100);
  const nodes = limitList(cause.nodes, 8, 'nodes');
  const nodeText = cause.nodes.length
    ? `\nNodes: ${nodes.items.map((n) => code(n, 60)).join(', ')}${nodes.note ? ` _${nodes.note}_` : ''}`
    : '';
  const evidence = limitList(cause.evidence, MAX_EVIDENCE_PER_CAUSE, 'evidence lines');
  const lines = evidence.items.map((e) => `• ${escapeMrkdwn(truncate(e, MAX_EVIDENCE_CHARS))}`);
  if (evidence.note) lines.push(`_${evidence.note}_`);
  return [
    section(
      `*${rank}. ${escapeMrkdwn(cause.title)}* ${code(cause.id, 40)} — confidence ${pct}%\n${escapeMrkdwn(truncate(cause.summary, 600))}${nodeText}`,
    ),
    ...linesToSections(lines),
    // The lines left out above (and the checks' own evidence), answered to whoever asks.
    ...(evidenceId ? [actions(button('Show all evidence', evidenceActionId(rank), evidenceId))] : []),
  ];
}

/** Whether a cause has more evidence than the verdict shows (its button then offers the rest). */
export function hasMoreEvidence(cause: RankedCause): boolean {
  return cause.evidence.length > MAX_EVIDENCE_PER_CAUSE;
}

function networkLine(d: Diagnosis): string | undefined {
  const n = d.network;
  const parts = [
    n.backend && `backend ${n.backend}`,
    n.mtu !== undefined && `MTU ${n.mtu}`,
    n.vni !== undefined && `VNI ${n.vni}`,
    n.port !== undefined && `port ${n.port}`,
  ].filter((p): p is string => !!p);
  return parts.length ? `:globe_with_meridians: Network: ${escapeMrkdwn(parts.join(', '))}` : undefined;
}

function stepText(step: PlanStep, index: number): string {
  const nodes = step.nodes ?? (step.node ? [step.node] : []);
  const shown = limitList(nodes, 6, 'nodes');
  const node = nodes.length
    ? ` on ${shown.items.map((n) => code(n, 80)).join(', ')}${shown.note ? ` ${shown.note}` : ''}`
    : '';
  const kind = step.reportOnly ? ' — _report only: the fix to make by hand_' : '';
  const approvals = step.approvalsRequired ? ` — ${step.approvalsRequired} approval(s) needed` : '';
  return `*Step ${index + 1}.* ${escapeMrkdwn(step.title)}${node}\n${RISK_BADGE[step.risk]} · ${code(step.action, 40)}${approvals}${kind}`;
}

export interface VerdictRenderOptions {
  /** Opaque id for the "Re-run diagnosis" button (omit to leave the button out). */
  rerunId?: string;
  /**
   * List the plan's steps (default true). An incident's verdict leaves them out: its plan message, with the
   * previews and Approve/Reject buttons, follows in the thread.
   */
  listPlan?: boolean;
  /** Per cause id, the opaque id of its "Show all evidence" button (causes with more lines than shown). */
  evidenceIds?: Record<string, string>;
}

/** The verdict (ranked causes with evidence) and the remediation plan (steps with risk). */
export function renderVerdict(d: Diagnosis, opts: VerdictRenderOptions = {}): SlackMessage {
  const body: Block[] = [];
  const tail: Block[] = [];
  if (d.healthy || d.causes.length === 0) {
    body.push(
      section(
        `:white_check_mark: *Verdict for ${escapeMrkdwn(d.cluster)}:* no problem found — every check passed or only warned.`,
      ),
    );
  } else {
    body.push(header(`Verdict: ${truncate(d.causes[0].title, 120)}`));
    const causes = limitList(d.causes, MAX_CAUSES, 'possible causes');
    causes.items.forEach((cause, i) => body.push(...causeBlocks(cause, i + 1, opts.evidenceIds?.[cause.id])));
    if (causes.note) body.push(context(`_${causes.note}_`));
    if (d.tie) {
      body.push(
        section(
          `:balance_scale: *${d.tie.causes.map((c) => code(c, 40)).join(' and ')} are equally supported by the evidence*, so no high-risk step is offered${d.tie.heldBack.length ? ` (held back: ${d.tie.heldBack.map((s) => code(s, 40)).join(', ')})` : ''}. What would tell them apart:\n${d.tie.tellApart.map((l) => `• ${escapeMrkdwn(truncate(l, 300))}`).join('\n')}`,
        ),
      );
    }
  }
  const network = networkLine(d);
  if (network) body.push(context(network));
  for (const warning of d.network.warnings.slice(0, 3))
    body.push(context(`:warning: ${escapeMrkdwn(truncate(warning, 300))}`));

  if (d.plan.length > 0 && opts.listPlan === false) {
    body.push(
      context(
        `:clipboard: The remediation plan (${d.plan.length} step${d.plan.length === 1 ? '' : 's'}) follows, with what each step changes and its Approve / Reject buttons.`,
      ),
    );
  } else if (d.plan.length > 0) {
    body.push(
      divider(),
      section(`*Remediation plan* (${d.plan.length} step${d.plan.length === 1 ? '' : 's'})`),
    );
    const steps = limitList(d.plan, MAX_PLAN_STEPS, 'steps');
    steps.items.forEach((step, i) => body.push(section(stepText(step, i))));
    if (steps.note) body.push(context(`_${steps.note}_`));
  } else if (!d.healthy) {
    body.push(
      divider(),
      section('*Remediation plan:* no runbook step applies; the evidence above says what to fix.'),
    );
  }
  if (opts.rerunId) tail.push(actions(button('Re-run diagnosis', RERUN_ACTION_ID, opts.rerunId)));
  const top = d.causes[0];
  const fallback = d.healthy
    ? `Verdict for ${d.cluster}: no problem found`
    : `Verdict for ${d.cluster}: ${top?.title ?? 'problems found'} (${d.plan.length} plan steps)`;
  return fitMessage(escapeMrkdwn(fallback), body, tail);
}

/** A diagnosis that could not finish (the engine failed or timed out). */
export function renderDiagnosisFailed(cluster: string, reason: string, rerunId?: string): SlackMessage {
  const body = [
    section(
      `:x: *Diagnosis of ${escapeMrkdwn(cluster)} could not finish:* ${escapeMrkdwn(truncate(reason, 1500))}`,
    ),
  ];
  const tail = rerunId ? [actions(button('Re-run diagnosis', RERUN_ACTION_ID, rerunId))] : [];
  return fitMessage(`Diagnosis of ${escapeMrkdwn(cluster)} could not finish`, body, tail);
}
