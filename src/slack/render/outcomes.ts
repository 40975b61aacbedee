/** The ephemeral answer to a person's command or click (pure): what happened, or why nothing did. */
import type { Outcome, Refusal } from '../../lifecycle/outcomes.js';
import { code, escapeMrkdwn, mention, truncate } from '../mrkdwn.js';

function who(users: readonly string[], groups: readonly string[]): string {
  const parts = [...users.map(mention), ...groups.map((g) => `members of @${escapeMrkdwn(g)}`)];
  return parts.length ? parts.join(', ') : 'nobody (approvals.approvers in clusters.yaml is empty)';
}

export function refusalText(r: Refusal): string {
  switch (r.code) {
    case 'expired-button':
      return 'This button has expired or belongs to a message that no longer acts. Run `/flannel diagnose CLUSTER` for a fresh report.';
    case 'unknown-cluster':
      return `Unknown cluster ${code(r.cluster, 60)}. Clusters: ${r.known.map((c) => code(c, 60)).join(', ') || '(none configured)'}.`;
    case 'unknown-incident':
      return `Incident ${code(r.incidentId, 40)} no longer exists.`;
    case 'not-approver':
      return `You may not approve or reject steps on this cluster. Approvers: ${who(r.users, r.groups)}.`;
    case 'self-approval':
      return 'You asked for the diagnosis behind this plan, so another approver must approve its high-risk steps (approvals.requesterMayApproveHighRisk is false).';
    case 'report-only':
      return 'This step is a fix to make by hand: there is nothing to approve. Re-run the diagnosis once you made it.';
    case 'duplicate':
      return `You already approved step ${r.step} (${r.count}/${r.required}): it needs ${r.required - r.count} more approval${r.required - r.count === 1 ? '' : 's'} from someone else.`;
    case 'step-state':
      return `Step ${r.step} is already ${r.state}${r.by ? ` (by ${mention(r.by)})` : ''}: nothing changed.`;
    case 'superseded':
      return `This plan (v${r.version}) was replaced${r.current ? ` by plan v${r.current}` : ''}: approve the steps of the newest plan in the thread.`;
    case 'plan-expired':
      return 'This plan expired: re-run the diagnosis (the button on the verdict) for a new one.';
    case 'incident-state':
      return `Incident ${code(r.incidentId, 40)} is ${r.state.replace('-', ' ')}: nothing to approve now.`;
    case 'cluster-busy':
      return `A remediation is running on ${code(r.cluster, 60)} for incident ${code(r.incidentId, 40)}: one at a time per cluster. Try again when it finished.`;
    case 'rate-limited':
      return r.scope === 'user'
        ? `You started ${r.limit} diagnoses in the last minute: try again in ${r.retryAfterSeconds}s.`
        : `Cluster ${code(r.cluster, 60)} had ${r.limit} diagnoses in the last minute: try again in ${r.retryAfterSeconds}s.`;
    case 'already-diagnosing':
      return `A diagnosis is already running (${code(r.diagnosisId, 60)}, started by ${mention(r.by)}): its report appears in the thread.`;
    case 'rerun-needs-approver':
      return 'A plan awaits approval on this incident: only its approvers may replace it with a new diagnosis.';
    case 'already-acknowledged':
      return `Already acknowledged by ${mention(r.by)}.`;
    case 'could-not-start':
      return `Could not start the diagnosis: ${escapeMrkdwn(truncate(r.reason, 500))}`;
    case 'unknown-diagnosis':
      return `Diagnosis ${code(r.diagnosisId, 60)} is no longer kept (results are kept 7 days): run \`/flannel diagnose CLUSTER\` for a fresh one.`;
  }
}

/** Slack caps a message's text; the evidence answer stays well below it and says where the rest is. */
const MAX_EVIDENCE_TEXT = 3500;

function evidenceText(o: Extract<Outcome, { ok: true; code: 'evidence' }>): string {
  const head = `:mag_right: *Evidence for ${escapeMrkdwn(truncate(o.title, 200))}* ${code(o.cause, 40)} (${o.lines.length} line${o.lines.length === 1 ? '' : 's'}):`;
  const out = [head];
  let size = head.length;
  let shown = 0;
  for (const line of o.lines) {
    const text = `• ${escapeMrkdwn(truncate(line, 400))}`;
    if (size + text.length + 1 > MAX_EVIDENCE_TEXT) break;
    out.push(text);
    size += text.length + 1;
    shown++;
  }
  if (shown < o.lines.length)
    out.push(
      `_…${o.lines.length - shown} more: \`flannel-ops diagnose ${escapeMrkdwn(o.cluster)} --json\` prints every line_`,
    );
  return out.join('\n');
}

export function outcomeText(o: Outcome, channelOf: (cluster: string) => string | undefined): string {
  if (!o.ok) return `:no_entry: ${refusalText(o.refusal)}`;
  switch (o.code) {
    case 'approval-recorded':
      return `:ballot_box_with_check: Your approval of step ${o.step} is recorded (${o.count}/${o.required}); it needs ${o.required - o.count} more from someone else.`;
    case 'step-approved':
      return `:white_check_mark: Step ${o.step} approved${o.waitsFor ? `: it runs after step ${o.waitsFor}` : ' and starting'}.`;
    case 'step-rejected':
      return `:no_entry_sign: Step ${o.step} rejected: it will not run.`;
    case 'acknowledged':
      return `:eyes: You are on incident ${code(o.incidentId, 40)}: paging stops.`;
    case 'evidence':
      return evidenceText(o);
    case 'diagnosis-started': {
      const node = o.node ? ` (node ${code(o.node, 80)})` : '';
      if (o.incidentId)
        return `:mag: Re-running the diagnosis of ${code(o.cluster, 60)}${node}: the new verdict appears in this thread.`;
      const channel = channelOf(o.cluster);
      const where =
        o.reportTo === 'dm' ? 'in a direct message' : channel ? `in <#${channel}>` : 'in the cluster channel';
      return `:mag: Running the diagnosis of ${code(o.cluster, 60)}${node}… the report appears ${where}.`;
    }
  }
}
