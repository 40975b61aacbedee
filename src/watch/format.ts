import { terminalLine } from '../util/sanitize.js';
import type { IncidentEvent } from './cluster-watcher.js';
import type { ClusterWatchStatus, ReplicaStatus } from './watch-service.js';

/** The `watch --json` line: a stable, flat shape scripts can rely on. */
export function incidentEventJson(e: IncidentEvent): Record<string, unknown> {
  const { incident } = e;
  return {
    event: e.event,
    id: incident.id,
    cluster: e.cluster,
    runbook: incident.runbookId,
    state: incident.state,
    events: incident.counts.events,
    occurrences: incident.counts.occurrences,
    pods: incident.counts.pods,
    nodes: incident.counts.nodes,
    namespaces: incident.counts.namespaces,
    counts: incident.counts,
    signatures: incident.signatures.map((s) => ({
      errorClass: s.errorClass,
      events: s.events,
      occurrences: s.occurrences,
    })),
    firstSeen: incident.firstSeen,
    lastSeen: incident.lastSeen,
    reopenCount: incident.reopenCount,
  };
}

/** The human line: what changed, where, and how big it is. */
export function incidentEventLine(e: IncidentEvent, now: Date = new Date()): string {
  const { incident } = e;
  const c = incident.counts;
  // Past the tracking cap counts are estimates (src/incidents/README.md): say so, as Slack shows "≈".
  const est = c.approximate ? '~' : '';
  const classes = incident.signatures.map((s) => s.errorClass).join(',') || '-';
  // Names and classes come from the cluster: no escape sequence or line break of theirs reaches the terminal.
  return terminalLine(
    [
      now.toISOString(),
      e.event.padEnd(8),
      incident.id,
      `cluster=${e.cluster}`,
      `runbook=${incident.runbookId}`,
      `state=${incident.state}`,
      `events=${est}${c.events}`,
      `occurrences=${est}${c.occurrences}`,
      `pods=${est}${c.pods}`,
      `nodes=${est}${c.nodes}`,
      `namespaces=${est}${c.namespaces}`,
      `failure=${classes}`,
    ].join(' '),
  );
}

/** A cluster's watch status for stderr: only what an operator acts on. */
export function statusLine(s: ClusterWatchStatus): string {
  const state = s.stream?.state ? ` stream=${s.stream.state}` : '';
  const error = s.lastError ? `: ${s.lastError}` : '';
  return terminalLine(`cluster ${s.cluster}: ${s.role}${state}${error}`);
}

/** This replica's place in the hub for stderr: how many replicas, its share, and what it leads. */
export function replicaLine(r: ReplicaStatus): string {
  return terminalLine(
    `replica ${r.id}: live=${r.live} share=${r.share} leading=${r.leading.length} clusters=${r.leading.join(',') || '-'}`,
  );
}
