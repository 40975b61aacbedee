/** Texts of the `/flannel` answers (help, errors, status, incidents, timeline). Pure. */
import type { AuditEntry, Incident } from '../../incidents/types.js';
import type { ClusterWatchStatus } from '../../watch/watch-service.js';
import { USAGE } from '../commands.js';
import { code, escapeMrkdwn, limitList, mention, truncate } from '../mrkdwn.js';
import { context, fitMessage, linesToSections, section, type SlackMessage } from './blocks.js';
import { slackDate, stateBadge } from './incident.js';

export function renderHelp(clusters: readonly string[]): SlackMessage {
  const lines = USAGE.map(([form, what]) => `\`${form}\` — ${what}`);
  const known = clusters.length ? clusters.map((c) => code(c)).join(', ') : '_none configured_';
  return fitMessage('flannel-ops: /flannel diagnose | status | incidents | timeline | help', [
    section('*flannel-ops* finds why pods are stuck in ContainerCreating on Flannel clusters.'),
    section(lines.join('\n')),
    context(`Clusters: ${known}`),
  ]);
}

export function renderCommandError(message: string): SlackMessage {
  return fitMessage(message, [section(`:warning: ${message}`)]);
}

const ROLE_TEXT: Record<ClusterWatchStatus['role'], string> = {
  leader: ':large_green_circle: watching',
  standby: ':large_blue_circle: standby (another replica watches)',
  error: ':red_circle: cannot watch',
  stopped: ':white_circle: stopped',
};

export function renderStatus(input: {
  clusters: readonly string[];
  statuses: readonly ClusterWatchStatus[];
  incidents: readonly Incident[];
}): SlackMessage {
  const lines = input.clusters.map((name) => {
    const s = input.statuses.find((x) => x.cluster === name);
    const role = s ? ROLE_TEXT[s.role] : ':white_circle: not watched by this replica';
    const stream = s?.stream
      ? ` (stream ${escapeMrkdwn(s.stream.state)}${s.stream.relists ? `, ${s.stream.relists} relists` : ''})`
      : '';
    const err = s?.lastError ? ` — ${escapeMrkdwn(truncate(s.lastError, 200))}` : '';
    const open = input.incidents.filter((i) => i.cluster === name);
    const openText = open.length
      ? ` — ${open.length} open: ${open
          .slice(0, 5)
          .map((i) => `${code(i.id)} ${stateBadge(i.state)}`)
          .join(', ')}`
      : ' — no open incident';
    return `*${escapeMrkdwn(name)}*: ${role}${stream}${err}${openText}`;
  });
  return fitMessage('flannel-ops status', [section('*Status*'), ...linesToSections(lines)]);
}

export function renderIncidents(incidents: readonly Incident[], cluster?: string): SlackMessage {
  const where = cluster ? ` on ${escapeMrkdwn(cluster)}` : '';
  if (incidents.length === 0) return fitMessage(`No incidents${where}`, [section(`No incidents${where}.`)]);
  const { items, note } = limitList(incidents, 20, 'incidents');
  const lines = items.map((i) => {
    const c = i.counts;
    return `${code(i.id)} ${stateBadge(i.state)} — *${escapeMrkdwn(i.cluster)}* · ${code(i.runbookId, 40)} · ${c.pods} pods, ${c.nodes} nodes, ${c.events} events · opened ${slackDate(i.openedAt)}`;
  });
  if (note) lines.push(`_${note}_`);
  return fitMessage(`Recent incidents${where}`, [
    section(`*Recent incidents${where}*`),
    ...linesToSections(lines),
  ]);
}

function detailsText(details: Record<string, unknown>): string {
  const entries = Object.entries(details).slice(0, 6);
  if (entries.length === 0) return '';
  const text = entries.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
  return ` — ${escapeMrkdwn(truncate(text, 300))}`;
}

/** The audit log, oldest first; every field escaped (reasons and details may quote the cluster). */
export function renderTimeline(incidentId: string, entries: readonly AuditEntry[]): SlackMessage {
  if (entries.length === 0) {
    return fitMessage(`No timeline for ${incidentId}`, [
      section(`No audit entries for ${code(incidentId)} (unknown or expired incident).`),
    ]);
  }
  const { items, note } = limitList(entries.slice(-100), 100, 'entries');
  const lines = items.map(
    (e) =>
      `${slackDate(e.at)} · ${mention(e.actor)} · ${code(e.action, 60)} → ${escapeMrkdwn(e.outcome)}${detailsText(e.details)}`,
  );
  if (note) lines.push(`_${note}_`);
  return fitMessage(`Timeline of ${incidentId}`, [
    section(`*Timeline of ${code(incidentId)}*`),
    ...linesToSections(lines),
  ]);
}
