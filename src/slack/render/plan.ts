/**
 * The plan message (pure): every step with exactly what it will change, its risk, the approvals it needs and
 * has, and its Approve / Reject buttons while it awaits approval; updated in place as people decide and
 * steps run. Step results, the verification and the resolution are thread replies of their own.
 */
import type {
  IncidentPlan,
  NodeOutcome,
  PageTargets,
  PlannedStep,
  PlanView,
  ResolutionSummary,
  StepState,
} from '../../lifecycle/types.js';
import {
  bold,
  code,
  codeBlock,
  escapeMrkdwn,
  limitList,
  mention,
  mentionTargets,
  truncate,
} from '../mrkdwn.js';
import {
  actions,
  button,
  context,
  divider,
  fitMessage,
  linesToSections,
  MAX_FIELD_TEXT,
  MAX_MESSAGE_CHARS,
  MAX_SECTION_TEXT,
  section,
  type Block,
  type SlackMessage,
} from './blocks.js';
import { RISK_BADGE } from './diagnosis.js';
import { slackDate } from './incident.js';

export const APPROVE_ACTION_PREFIX = 'approve-';
export const REJECT_ACTION_PREFIX = 'reject-';
/** action_ids of a step's buttons: unique within the plan message (one pair per step). */
export const approveActionId = (step: PlannedStep) => `${APPROVE_ACTION_PREFIX}${step.index}`;
export const rejectActionId = (step: PlannedStep) => `${REJECT_ACTION_PREFIX}${step.index}`;
export const DECISION_ACTION_ID = /^(approve|reject)-\d+$/;

const MAX_LINES_PER_STEP = 6;
const MAX_COMMANDS_PER_STEP = 2;

const STATUS: Record<StepState['state'], string> = {
  awaiting: ':raised_hand: awaiting approval',
  approved: ':ballot_box_with_check: approved, waiting for its turn',
  running: ':hourglass_flowing_sand: running',
  done: ':white_check_mark: done',
  failed: ':x: failed',
  rejected: ':no_entry_sign: rejected',
  skipped: ':fast_forward: skipped',
  report: ':memo: report only — the fix to make by hand',
};

const NODE_EMOJI: Record<NodeOutcome['state'], string> = {
  running: ':hourglass_flowing_sand:',
  done: ':white_check_mark:',
  noop: ':white_check_mark:',
  failed: ':x:',
  skipped: ':fast_forward:',
  interrupted: ':warning:',
};

export interface StepButtons {
  approve: string;
  reject: string;
}

function approvalsText(step: PlannedStep, state: StepState): string {
  if (step.required === 0) return '';
  const who = state.approvals.map((a) => mention(a.user)).join(', ');
  return ` · approvals ${state.approvals.length}/${step.required}${who ? ` (${who})` : ''}`;
}

function stepStatus(step: PlannedStep, state: StepState): string {
  const rejected = state.rejectedBy ? ` by ${mention(state.rejectedBy.user)}` : '';
  return `${STATUS[state.state]}${rejected}${approvalsText(step, state)}`;
}

export function nodeLines(state: StepState): string[] {
  return Object.entries(state.nodes).map(([node, o]) => {
    const where = node === '*' ? '' : `${code(node, 80)} `;
    const what = o.lines.length ? ` — ${escapeMrkdwn(truncate(o.lines.join('; '), 400))}` : '';
    return `${NODE_EMOJI[o.state]} ${where}${o.state}${what}`;
  });
}

/**
 * One step in at most three blocks (its text, its status with per-node progress, its buttons) within `budget`
 * characters, so even a long plan keeps every step's buttons inside Slack's 50 blocks and ~12k characters.
 */
function stepBlocks(
  step: PlannedStep,
  state: StepState,
  buttons: StepButtons | undefined,
  budget: number,
): Block[] {
  const who =
    step.nodes?.length && !step.reportOnly
      ? ` — ${step.nodes.length} node${step.nodes.length === 1 ? '' : 's'}`
      : '';
  const head = `*Step ${step.index}. ${escapeMrkdwn(truncate(step.preview.headline, 200))}*${who}\n${RISK_BADGE[step.risk]} · ${code(step.action, 40)}${step.required ? ` · needs ${step.required} approval${step.required === 1 ? '' : 's'}` : ''}`;
  const { items, note } = limitList(step.preview.lines, MAX_LINES_PER_STEP, 'lines');
  const lines = items.map((l) => `• ${escapeMrkdwn(truncate(l, 300))}`);
  if (note) lines.push(`_${note}_`);
  if (step.condition) lines.push(`_Conditional: ${escapeMrkdwn(step.condition)}_`);
  const commands = (step.preview.commands ?? []).slice(0, MAX_COMMANDS_PER_STEP);
  const how =
    step.preview.via === 'node-pod'
      ? `Runs on ${step.nodes?.length === 1 ? step.nodes[0] : 'each node'} in a short-lived privileged pod (nsenter into the host):`
      : step.preview.via === 'api'
        ? 'Runs through the API (as kubectl would):'
        : 'The fix to make:';
  // The commands keep room of their own: they are what people check before approving.
  const commandText = commands.length
    ? `\n${how}\n${codeBlock(commands.join('\n\n'), Math.max(300, Math.floor(budget / 2)))}`
    : '';
  const textBudget = Math.max(400, Math.min(MAX_SECTION_TEXT, budget) - commandText.length);
  const blocks: Block[] = [section(`${truncate(`${head}\n${lines.join('\n')}`, textBudget)}${commandText}`)];
  const progress = nodeLines(state);
  blocks.push(
    context(
      `*Status:* ${stepStatus(step, state)}`,
      ...(progress.length ? [truncate(progress.join('\n'), MAX_FIELD_TEXT)] : []),
    ),
  );
  if (buttons && state.state === 'awaiting') {
    blocks.push(
      actions(
        button(
          `Approve step ${step.index}`,
          approveActionId(step),
          buttons.approve,
          'primary',
          // A high-risk step asks once more: it is the one that can hurt.
          step.risk === 'high'
            ? {
                title: `Approve step ${step.index}?`,
                text: `${escapeMrkdwn(truncate(step.preview.headline, 200))} — high risk; it runs once ${step.required} people approved.`,
                confirm: 'Approve',
              }
            : undefined,
        ),
        button(`Reject step ${step.index}`, rejectActionId(step), buttons.reject, 'danger'),
      ),
    );
  }
  return blocks;
}

/** The plan message; `buttons` per step id (awaiting steps of the current plan get Approve/Reject). */
export function renderPlan(
  view: PlanView,
  buttons: Record<string, StepButtons>,
  opts: { current: boolean; nowMs?: number },
): SlackMessage {
  const { plan, states } = view;
  const expired = Date.parse(plan.expiresAt) < (opts.nowMs ?? Date.now());
  const status = !opts.current
    ? '_Superseded by a newer plan: these buttons no longer act._'
    : expired
      ? `_Expired ${slackDate(plan.expiresAt)}: re-run the diagnosis for a new plan._`
      : `_Approvals bind to this version; it expires ${slackDate(plan.expiresAt)}._`;
  const approvers = [
    ...plan.approvers.users.map(mention),
    // Named, not mentioned: the page on the root already notified them; a plan edit must not ping a group.
    ...plan.approvers.groups.map((g) => `@${escapeMrkdwn(g)}`),
  ];
  const body: Block[] = [
    section(`:clipboard: *Remediation plan v${plan.version}* — ${escapeMrkdwn(plan.headline)}`),
    context(
      status,
      'steps run in order, each once approved',
      approvers.length
        ? `approvers: ${approvers.join(', ')}`
        : 'nobody may approve on this cluster: set approvals.approvers in clusters.yaml',
    ),
  ];
  // Share the message's room between the steps (the buttons of the last step must fit too).
  const budget = Math.floor((MAX_MESSAGE_CHARS - 2500) / Math.max(1, plan.steps.length)) - 600;
  for (const step of plan.steps) {
    const state = states[step.id] ?? { state: 'awaiting', approvals: [], nodes: {}, lines: [] };
    const clickable = opts.current && !expired && approvers.length > 0;
    body.push(...stepBlocks(step, state, clickable ? buttons[step.id] : undefined, budget));
  }
  if (plan.steps.length === 0)
    body.push(section('No step can be run automatically; the verdict above says what to fix.'));
  if (plan.notOffered.length) {
    body.push(
      divider(),
      context(
        `Not offered: ${plan.notOffered
          .slice(0, 6)
          .map((n) => `${escapeMrkdwn(n.title)} (${escapeMrkdwn(truncate(n.reason, 200))})`)
          .join('; ')}`,
      ),
    );
  }
  const awaiting = plan.steps.filter((s) => states[s.id]?.state === 'awaiting').length;
  return fitMessage(
    escapeMrkdwn(
      `Remediation plan v${plan.version} for ${plan.cluster}: ${plan.steps.length} steps, ${awaiting} awaiting approval`,
    ),
    body,
  );
}

/** A step's own thread reply: who approved it, then its outcome per node. */
export function renderStepResult(plan: IncidentPlan, step: PlannedStep, state: StepState): SlackMessage {
  const approvers = state.approvals.map((a) => mention(a.user)).join(', ');
  const head = `${STATUS[state.state].split(' ')[0]} *Step ${step.index}* ${escapeMrkdwn(truncate(step.preview.headline, 200))}: ${state.state}${approvers ? ` — approved by ${approvers}` : ''}`;
  const body = [
    section(head),
    ...linesToSections(
      [...nodeLines(state), ...state.lines.map((l) => escapeMrkdwn(truncate(l, 300)))].slice(0, 40),
    ),
  ];
  body.push(context(`plan v${plan.version} · ${code(step.action, 40)}`));
  return fitMessage(escapeMrkdwn(`Step ${step.index} ${state.state}: ${step.preview.headline}`), body);
}

export function renderVerification(
  outcome: 'passed' | 'failed',
  lines: readonly string[],
  quietSeconds?: number,
): SlackMessage {
  const head =
    outcome === 'passed'
      ? `:white_check_mark: *Verification passed*${quietSeconds ? ` — resolving if no new sandbox failure appears in the next ${quietSeconds}s` : ''}`
      : ':x: *Verification failed* — still wrong:';
  const { items, note } = limitList(lines, 15, 'lines');
  const body = [section(head), ...linesToSections(items.map((l) => `• ${escapeMrkdwn(truncate(l, 300))}`))];
  if (note) body.push(context(`_${note}_`));
  return fitMessage(outcome === 'passed' ? 'Verification passed' : 'Verification failed', body);
}

export function renderPage(
  targets: PageTargets,
  level: number,
  reason: string,
  incidentId: string,
): SlackMessage {
  const who = mentionTargets(targets);
  return fitMessage(`Paging again: incident ${escapeMrkdwn(incidentId)} ${escapeMrkdwn(reason)}`, [
    section(
      `${who} :rotating_light: *Paging again* (${level}): incident ${code(incidentId, 40)} is ${escapeMrkdwn(reason)}. Press *Acknowledge* on the incident when you are on it.`,
    ),
  ]);
}

function duration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '-';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m ${s % 60}s` : `${Math.floor(m / 60)}h ${m % 60}m`;
}

export function renderResolved(summary: ResolutionSummary): SlackMessage {
  const approvers = summary.approvers.map(mention).join(', ') || 'nobody (no step needed approval)';
  const lines = [
    `detected → plan: ${duration(summary.detectToDiagnosedMs)}`,
    `fix → verified: ${duration(summary.diagnosedToFixedMs)}`,
    `opened → resolved: ${duration(summary.openToResolvedMs)}`,
    `steps run: ${summary.stepsRun} · approved by ${approvers}`,
  ];
  return fitMessage(`Resolved: ${escapeMrkdwn(summary.reason)}`, [
    section(`:white_check_mark: *Resolved* — ${escapeMrkdwn(summary.reason)}`),
    section(lines.join('\n')),
  ]);
}

export { bold };
