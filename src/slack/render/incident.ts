/** The incident root message: what broke, where, how big, and where the incident stands. Pure. */
import type { Incident } from '../../incidents/types.js';
import type { IncidentState } from '../../incidents/transitions.js';
import type { PageTargets } from '../../lifecycle/types.js';
import { bold, code, codeBlock, escapeMrkdwn, mention, mentionTargets } from '../mrkdwn.js';
import { actions, button, context, fields, fitMessage, section, type SlackMessage } from './blocks.js';

/** action_id of the root message's Acknowledge button (its value is an opaque id). */
export const ACK_ACTION_ID = 'acknowledge';

export const STATE_EMOJI: Record<IncidentState, string> = {
  open: ':rotating_light:',
  diagnosing: ':mag:',
  'awaiting-approval': ':raised_hand:',
  remediating: ':hammer_and_wrench:',
  verifying: ':hourglass_flowing_sand:',
  resolved: ':white_check_mark:',
  failed: ':x:',
};

const STATE_LABEL: Record<IncidentState, string> = {
  open: 'Open',
  diagnosing: 'Diagnosing',
  'awaiting-approval': 'Awaiting approval',
  remediating: 'Remediating',
  verifying: 'Verifying',
  resolved: 'Resolved',
  failed: 'Failed',
};

export function stateBadge(state: IncidentState): string {
  return `${STATE_EMOJI[state]} ${STATE_LABEL[state]}`;
}

/** The root's state: "Awaiting approval" only while something can be approved, else "Needs a person". */
function rootState(state: IncidentState, needsPerson: boolean | undefined): { badge: string; label: string } {
  if (state === 'awaiting-approval' && needsPerson) {
    return { badge: ':bust_in_silhouette: Needs a person', label: 'Needs a person' };
  }
  return { badge: stateBadge(state), label: STATE_LABEL[state] };
}

/** Slack renders `<!date^…>` in each reader's time zone; the fallback is the ISO time. */
export function slackDate(iso: string | undefined): string {
  if (!iso) return '-';
  const seconds = Math.floor(Date.parse(iso) / 1000);
  if (!Number.isFinite(seconds)) return escapeMrkdwn(iso);
  return `<!date^${seconds}^{date_short_pretty} {time_secs}|${escapeMrkdwn(iso)}>`;
}

export interface IncidentView {
  incident: Incident;
  /** The runbook's title, e.g. "Flannel CNI: pods stuck in ContainerCreating". */
  runbookTitle?: string;
  /** What happens next, from the lifecycle ("Needs 2 approvals: Install Flannel v0.28.9"). */
  next?: string;
  /** Who this incident pages (configured Slack ids only): mentioned on the root's first line. */
  page?: PageTargets;
  /** Opaque id of the Acknowledge button (omitted once acknowledged or ended). */
  ackId?: string;
  /** A person must act by hand (from the lifecycle): "Needs a person" instead of "Awaiting approval". */
  needsPerson?: boolean;
}

export function renderIncidentRoot({
  incident,
  runbookTitle,
  next,
  page,
  ackId,
  needsPerson,
}: IncidentView): SlackMessage {
  const shown = rootState(incident.state, needsPerson);
  const c = incident.counts;
  const approx = c.approximate ? '≈' : '';
  const title = runbookTitle ?? incident.runbookId;
  const classes = incident.signatures.map((s) => `${code(s.errorClass, 60)} ×${s.occurrences}`);
  const sample = incident.signatures[0]?.sampleMessage;
  const verdict = incident.extras.verdict as { headline?: string; cause?: string } | undefined;
  const ack = incident.extras.ack as { user?: string; at?: string } | undefined;
  const paging = page ? mentionTargets(page) : '';
  const headline = `${STATE_EMOJI[incident.state]} ${bold(title)} on cluster ${bold(incident.cluster)}`;
  const body = [
    section(paging ? `${paging} ${headline}` : headline),
    ...(next ? [section(`*Next:* ${escapeMrkdwn(next)}`)] : []),
    ...(verdict?.headline
      ? [
          section(
            `*Verdict:* ${escapeMrkdwn(verdict.headline)}${verdict.cause ? ` (${code(verdict.cause, 60)})` : ''}`,
          ),
        ]
      : []),
    fields([
      `*State*\n${shown.badge}`,
      `*Cluster*\n${escapeMrkdwn(incident.cluster)}`,
      `*Runbook*\n${escapeMrkdwn(title)} (${code(incident.runbookId, 60)})`,
      `*Failure class*\n${classes.slice(0, 6).join(', ') || '-'}`,
      `*Pods / nodes / namespaces*\n${approx}${c.pods} / ${approx}${c.nodes} / ${approx}${c.namespaces}`,
      `*Events (occurrences)*\n${approx}${c.events} (${approx}${c.occurrences})`,
      `*First seen*\n${slackDate(incident.firstSeen)}`,
      `*Last seen*\n${slackDate(incident.lastSeen)}`,
      `*On it*\n${ack?.user ? `${mention(ack.user)} since ${slackDate(ack.at)}` : 'nobody has acknowledged yet'}`,
    ]),
    ...(sample ? [section(`*Sample event*\n${codeBlock(sample, 600)}`)] : []),
    context(
      `Incident ${code(incident.id, 40)}`,
      ...(incident.reopenCount > 0 ? [`re-opened ${incident.reopenCount}×`] : []),
      `\`/flannel timeline ${escapeMrkdwn(incident.id)}\` for the audit log`,
    ),
  ];
  const tail = ackId && !ack?.user ? [actions(button('Acknowledge', ACK_ACTION_ID, ackId, 'primary'))] : [];
  const fallback = `${shown.label}: ${title} on ${incident.cluster} (${c.pods} pods, ${c.nodes} nodes)${next ? ` — ${next}` : ''}`;
  return fitMessage(escapeMrkdwn(fallback), body, tail);
}

/** The root of an on-demand `/flannel diagnose` report. */
export function renderDiagnoseRequest(input: {
  cluster: string;
  requestedBy: string;
  node?: string;
  state: 'running' | 'done' | 'failed';
  healthy?: boolean;
  /** Started by clusters.yaml `schedule:` rather than a person. */
  scheduled?: boolean;
}): SlackMessage {
  const emoji =
    input.state === 'running'
      ? ':mag:'
      : input.state === 'failed'
        ? ':x:'
        : input.healthy
          ? ':white_check_mark:'
          : ':warning:';
  const status =
    input.state === 'running'
      ? 'running…'
      : input.state === 'failed'
        ? 'could not finish'
        : input.healthy
          ? 'no problem found'
          : 'problems found (see thread)';
  const node = input.node ? ` node ${bold(input.node)}` : '';
  const text = input.scheduled
    ? `${emoji} Scheduled diagnosis of cluster ${bold(input.cluster)}: ${status}`
    : `${emoji} Diagnosis of cluster ${bold(input.cluster)}${node} requested by ${mention(input.requestedBy)}: ${status}`;
  return fitMessage(
    `${input.scheduled ? 'Scheduled diagnosis' : 'Diagnosis'} of ${escapeMrkdwn(input.cluster)}: ${status}`,
    [section(text)],
  );
}
