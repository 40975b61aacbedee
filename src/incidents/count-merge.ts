import type { SandboxSignalLike, TimeInput } from './types.js';

/** Sample messages are untrusted and can be huge (hostile events); keep one short excerpt per error class. */
export const SAMPLE_MESSAGE_MAX_CHARS = 500;
const ERROR_CLASS_MAX_CHARS = 100;

/**
 * How one event's count folds into an incident. Kubernetes re-delivers the same Event object on every relist,
 * every replica sees it, and the kubelet bumps `count` when the failure repeats; the incident keeps the highest
 * count seen per event, so occurrences grow only by the increase and replays change nothing.
 *
 * The recordSignals Lua script applies exactly this rule to the stored per-event maximum.
 */
export interface EventCountMerge {
  /** The count to store for the event from now on. */
  max: number;
  /** How much the incident's occurrences grow. */
  occurrencesDelta: number;
  /** First time this event object is seen by the incident. */
  isNewEvent: boolean;
}

export function mergeEventCount(previousMax: number | undefined, incoming: number): EventCountMerge {
  const count = normalizeCount(incoming);
  if (previousMax === undefined) return { max: count, occurrencesDelta: count, isNewEvent: true };
  if (count <= previousMax) return { max: previousMax, occurrencesDelta: 0, isNewEvent: false };
  return { max: count, occurrencesDelta: count - previousMax, isNewEvent: false };
}

/** An Event always happened at least once; counts from odd producers (0, NaN, 2.5) are made sane. */
/**
 * An Event's count is an int32 in the API (core/v1 `count`, events.k8s.io `series.count`); a larger number is not
 * a real count, and past ~1e14 Lua would write it in exponent form, which Redis' integer commands refuse.
 */
export const MAX_EVENT_COUNT = 2 ** 31 - 1;

export function normalizeCount(count: number | null | undefined): number {
  if (typeof count !== 'number' || !Number.isFinite(count) || count < 1) return 1;
  return Math.min(Math.floor(count), MAX_EVENT_COUNT);
}

export function toEpochMs(value: TimeInput): number | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Cuts at a code point boundary so a sample never ends in half a surrogate pair. */
export function truncateMessage(
  message: string | null | undefined,
  maxChars = SAMPLE_MESSAGE_MAX_CHARS,
): string {
  if (!message) return '';
  if (message.length <= maxChars) return message;
  const points = Array.from(message.slice(0, maxChars + 1));
  let out = '';
  for (const p of points) {
    if (out.length + p.length > maxChars - 1) break;
    out += p;
  }
  return `${out}…`;
}

export interface AggregatedEvent {
  uid: string;
  count: number;
  errorClass: string;
}

/** A batch reduced to what the Redis script needs: one entry per event, distinct members, one sample per class. */
export interface AggregatedBatch {
  events: AggregatedEvent[];
  pods: string[];
  nodes: string[];
  namespaces: string[];
  /** errorClass -> sample message (the first one in the batch). */
  samples: Map<string, string>;
  firstSeenMs: number;
  lastSeenMs: number;
}

/** Identifies a pod across namespaces (names are only unique per namespace). */
export function podKey(namespace: string, podName: string): string {
  return `${namespace}/${podName}`;
}

/**
 * Collapses duplicates inside one batch (a relist replays the same events next to watch updates) before they
 * travel to Redis: per event the highest count wins, exactly as mergeEventCount would decide.
 */
export function aggregateSignals(signals: readonly SandboxSignalLike[], nowMs: number): AggregatedBatch {
  const events = new Map<string, AggregatedEvent>();
  const pods = new Set<string>();
  const nodes = new Set<string>();
  const namespaces = new Set<string>();
  const samples = new Map<string, string>();
  let firstSeenMs = Number.POSITIVE_INFINITY;
  let lastSeenMs = Number.NEGATIVE_INFINITY;

  for (const signal of signals) {
    // Classes come from detection's fixed vocabulary; the cap only guards Redis field names against surprises.
    const errorClass = (signal.signature.errorClass || 'unknown').slice(0, ERROR_CLASS_MAX_CHARS);
    const count = normalizeCount(signal.count);
    const seen = events.get(signal.eventUid);
    if (!seen || count > seen.count) events.set(signal.eventUid, { uid: signal.eventUid, count, errorClass });

    if (signal.podName) pods.add(podKey(signal.namespace, signal.podName));
    if (signal.node) nodes.add(signal.node);
    if (signal.namespace) namespaces.add(signal.namespace);
    if (!samples.has(errorClass)) samples.set(errorClass, truncateMessage(signal.message));

    const first = toEpochMs(signal.firstSeen) ?? toEpochMs(signal.lastSeen) ?? nowMs;
    const last = toEpochMs(signal.lastSeen) ?? first;
    firstSeenMs = Math.min(firstSeenMs, first);
    lastSeenMs = Math.max(lastSeenMs, last);
  }

  return {
    events: [...events.values()],
    pods: [...pods],
    nodes: [...nodes],
    namespaces: [...namespaces],
    samples,
    firstSeenMs: Number.isFinite(firstSeenMs) ? firstSeenMs : nowMs,
    lastSeenMs: Number.isFinite(lastSeenMs) ? lastSeenMs : nowMs,
  };
}
