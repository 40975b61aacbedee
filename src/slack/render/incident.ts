/** The incident root message: what broke, where, how big, and where the incident stands. Pure. */
import type { Incident } from '../../incidents/types.js';
import type { IncidentState } from '../../incidents/transitions.js';
import { bold, code, codeBlock, escapeMrkdwn, mention } from '../mrkdwn.js';
import { context, fields, fitMessage, section, type SlackMessage } from './blocks.js';

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
}

export function renderIncidentRoot({ incident, runbookTitle }: IncidentView): SlackMessage {
  const c = incident.counts;
  const approx = c.approximate ? '≈' : '';
  const title = runbookTitle ?? incident.runbookId;
  const classes = incident.signatures.map((s) => `${code(s.errorClass, 60)} ×${s.occurrences}`);
  const sample = incident.signatures[0]?.sampleMessage;
  const body = [
    section(`${STATE_EMOJI[incident.state]} ${bold(title)} on cluster ${bold(incident.cluster)}`),
    fields([
      `*State*\n${stateBadge(incident.state)}`,
      `*Cluster*\n${escapeMrkdwn(incident.cluster)}`,
      `*Runbook*\n${escapeMrkdwn(title)} (${code(incident.runbookId, 60)})`,
      `*Failure class*\n${classes.slice(0, 6).join(', ') || '-'}`,
      `*Pods / nodes / namespaces*\n${approx}${c.pods} / ${approx}${c.nodes} / ${approx}${c.namespaces}`,
      `*Events (occurrences)*\n${approx}${c.events} (${c.occurrences})`,
      `*First seen*\n${slackDate(incident.firstSeen)}`,
      `*Last seen*\n${slackDate(incident.lastSeen)}`,
    ]),
    ...(sample ? [section(`*Sample event*\n${codeBlock(sample, 600)}`)] : []),
    context(
      `Incident ${code(incident.id, 40)}`,
      ...(incident.reopenCount > 0 ? [`re-opened ${incident.reopenCount}×`] : []),
      `\`/flannel timeline ${escapeMrkdwn(incident.id)}\` for the audit log`,
    ),
  ];
  const fallback = `${STATE_LABEL[incident.state]}: ${title} on ${incident.cluster} (${c.pods} pods, ${c.nodes} nodes)`;
  return fitMessage(escapeMrkdwn(fallback), body);
}

/** The root of an on-demand `/flannel diagnose` report. */
export function renderDiagnoseRequest(input: {
  cluster: string;
  requestedBy: string;
  node?: string;
  state: 'running' | 'done' | 'failed';
  healthy?: boolean;
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
  const text = `${emoji} Diagnosis of cluster ${bold(input.cluster)}${node} requested by ${mention(input.requestedBy)}: ${status}`;
  return fitMessage(`Diagnosis of ${escapeMrkdwn(input.cluster)}: ${status}`, [section(text)]);
}
