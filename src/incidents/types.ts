import type { IncidentState } from './transitions.js';

/** Timestamps accepted from detection: Kubernetes gives RFC 3339 strings, tests and benches give Dates or ms. */
export type TimeInput = string | number | Date | null | undefined;

/**
 * What detection hands the store for one Kubernetes Event that matched a runbook trigger.
 * `eventUid` is the Event object's metadata.uid: the same object re-delivered by a relist, a replica or a
 * restart carries the same uid, which is what makes recording idempotent.
 */
export interface SandboxSignalLike {
  eventUid: string;
  namespace: string;
  podName: string;
  /** Node the kubelet that reported the event runs on; empty when the event did not say. */
  node?: string | null;
  /** The Event's count (kubelet increments it when the same failure repeats); missing means 1. */
  count?: number | null;
  firstSeen?: TimeInput;
  lastSeen?: TimeInput;
  message?: string | null;
  /** Only the error class is stored; detection's full signature (any extra fields) is accepted as is. */
  signature: { readonly errorClass: string };
}

export interface IncidentCounts {
  /** Distinct Event objects. */
  events: number;
  /** Sum over events of the highest count seen for each. */
  occurrences: number;
  pods: number;
  nodes: number;
  namespaces: number;
  /**
   * True once an incident outgrew the per-incident tracking cap: from then on, new distinct members are
   * counted with a HyperLogLog (about 1% error) instead of exact sets, so Redis memory stays bounded.
   */
  approximate: boolean;
}

export interface FailureSignature {
  errorClass: string;
  /** Distinct events with this error class. */
  events: number;
  /** Occurrences (kubelet counts) attributed to this error class. */
  occurrences: number;
  /** One raw message, at most 500 characters; untrusted text, escape before display. */
  sampleMessage: string;
}

/**
 * Fields later pipeline stages attach to an incident (Slack thread, diagnosis, plan). Each top-level key is
 * stored in its own Redis hash field, so two stages writing different keys never overwrite each other.
 */
export interface IncidentExtras {
  slack?: { channel: string; ts: string };
  diagnosis?: unknown;
  planVersion?: number;
  [key: string]: unknown;
}

export interface Incident {
  id: string;
  cluster: string;
  runbookId: string;
  state: IncidentState;
  counts: IncidentCounts;
  /** Ordered by occurrences, most frequent first. */
  signatures: FailureSignature[];
  /** ISO 8601 timestamps. firstSeen/lastSeen come from the events; the others are the bot's clock. */
  firstSeen: string;
  lastSeen: string;
  openedAt: string;
  updatedAt: string;
  /** Set when the incident reached resolved or failed; cleared when it re-opens. */
  resolvedAt?: string;
  /** How many times the incident re-opened because the failure came back within the cooldown. */
  reopenCount: number;
  /** Increments on every change; lets consumers drop stale updates (e.g. Slack message coalescing). */
  version: number;
  extras: IncidentExtras;
}

/**
 * - opened: a new incident (page people).
 * - reopened: the failure came back within the cooldown after the last incident resolved; the same incident
 *   (and Slack thread) is back in state `open` instead of a second page.
 * - updated: counts or times of an existing incident changed.
 * - unchanged: everything in the batch was already recorded (replay, relist, second replica).
 */
export type RecordChange = 'opened' | 'reopened' | 'updated' | 'unchanged';

export interface RecordResult {
  incident: Incident;
  change: RecordChange;
}

export interface AuditEntryInput {
  /** Who: a Slack user id, 'detector', 'bot', 'policy', ... */
  actor: string;
  /** What: 'transition', 'approve', 'remediation:restart-flannel-pod', ... */
  action: string;
  /** How it ended: 'ok', 'rejected', 'failed', 'started', ... */
  outcome: string;
  details?: Record<string, unknown>;
}

export interface AuditEntry extends AuditEntryInput {
  /** Redis stream id: unique and ordered. */
  entryId: string;
  /** When (ISO 8601, the recording replica's clock). */
  at: string;
  details: Record<string, unknown>;
}

export interface TransitionOptions {
  actor: string;
  reason?: string;
  /** Compare-and-set: fail unless the incident is in this state (one of these states) right now. */
  expectState?: IncidentState | readonly IncidentState[];
  details?: Record<string, unknown>;
  /** Extras written in the same atomic step as the state change (e.g. the diagnosis run it starts). */
  extras?: IncidentExtras;
}

export interface ListOptions {
  cluster?: string;
  /** A state, or 'active' for every non-terminal state. */
  state?: IncidentState | 'active';
  limit?: number;
}
