/**
 * Reads the fields detection needs from an Event in either API shape. The same stored event is served
 * as core/v1 (involvedObject, message, count, source) and as events.k8s.io/v1 (regarding, note,
 * series, deprecated*) (domain/kubernetes-api.md §4.1). Timestamps are RFC 3339 strings from a watch
 * and Date objects from client-node's typed list calls; both are accepted.
 *
 * Every field is read defensively (type-checked, never trusted): events are untrusted input.
 */

type Timestamp = string | Date | null | undefined;

export interface ObjectReferenceLike {
  kind?: string | null;
  namespace?: string | null;
  name?: string | null;
  uid?: string | null;
}

export interface EventSourceLike {
  component?: string | null;
  host?: string | null;
}

/** Structurally compatible with client-node's CoreV1Event and EventsV1Event, and with raw watch JSON. */
export interface CoreV1EventLike {
  metadata?: {
    name?: string | null;
    namespace?: string | null;
    uid?: string | null;
    creationTimestamp?: Timestamp;
  } | null;
  reason?: string | null;
  type?: string | null;
  // core/v1
  involvedObject?: ObjectReferenceLike | null;
  message?: string | null;
  count?: number | null;
  source?: EventSourceLike | null;
  firstTimestamp?: Timestamp;
  lastTimestamp?: Timestamp;
  // events.k8s.io/v1
  regarding?: ObjectReferenceLike | null;
  note?: string | null;
  deprecatedSource?: EventSourceLike | null;
  deprecatedCount?: number | null;
  deprecatedFirstTimestamp?: Timestamp;
  deprecatedLastTimestamp?: Timestamp;
  // both
  series?: { count?: number | null; lastObservedTime?: Timestamp } | null;
  eventTime?: Timestamp;
  reportingInstance?: string | null;
}

export interface EventFields {
  reason: string;
  type: string;
  /** Kind of the involved object (`Pod` for both handled reasons). */
  kind: string;
  namespace: string;
  podName: string;
  podUid: string | null;
  /** `source.host`, else `reportingInstance` (the kubelet's node). */
  node: string | null;
  /** The Event's metadata.uid: stable across re-deliveries, the idempotency key. */
  eventUid: string;
  eventName: string;
  count: number;
  /** RFC 3339 timestamps (null when the event carries none). */
  firstSeen: string | null;
  lastSeen: string | null;
  message: string;
}

/** Null when the value is not an object at all. */
export function readEvent(event: CoreV1EventLike): EventFields | null {
  if (!isObject(event)) return null;
  const meta = isObject(event.metadata) ? event.metadata : {};
  const ref = isObject(event.involvedObject)
    ? event.involvedObject
    : isObject(event.regarding)
      ? event.regarding
      : {};
  const source = isObject(event.source)
    ? event.source
    : isObject(event.deprecatedSource)
      ? event.deprecatedSource
      : {};
  const series = isObject(event.series) ? event.series : {};

  const namespace = str(ref.namespace) ?? str(meta.namespace) ?? '';
  const eventName = str(meta.name) ?? '';
  const eventTime = time(event.eventTime);
  const firstSeen =
    time(event.firstTimestamp) ??
    time(event.deprecatedFirstTimestamp) ??
    eventTime ??
    time(meta.creationTimestamp);
  const lastSeen =
    time(event.lastTimestamp) ??
    time(event.deprecatedLastTimestamp) ??
    time(series.lastObservedTime) ??
    firstSeen;

  return {
    reason: str(event.reason) ?? '',
    type: str(event.type) ?? '',
    kind: str(ref.kind) ?? '',
    namespace,
    podName: str(ref.name) ?? '',
    podUid: str(ref.uid) ?? null,
    node: str(source.host) ?? str(event.reportingInstance) ?? null,
    // An event without a uid still needs a stable identity; its namespaced name is the next best thing.
    eventUid: str(meta.uid) ?? `${str(meta.namespace) ?? namespace}/${eventName}`,
    eventName,
    // The new events library leaves the deprecated count at 0 and counts in the series instead.
    count: positiveInt(event.count) ?? positiveInt(event.deprecatedCount) ?? positiveInt(series.count) ?? 1,
    firstSeen,
    lastSeen,
    message: str(event.message) ?? str(event.note) ?? '',
  };
}

function isObject<T>(value: T): value is NonNullable<T> {
  return typeof value === 'object' && value !== null;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function positiveInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 1 ? Math.floor(value) : undefined;
}

function time(value: unknown): string | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value === 'string' && value !== '') return value;
  return null;
}
