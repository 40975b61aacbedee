import type { KubeObject, ObjectStore } from '../store.js';
import { eventName, isoSeconds } from './names.js';

export interface EventSource {
  component: string;
  host?: string;
}

export interface ObjectReference {
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
  apiVersion: string;
  resourceVersion?: string;
  fieldPath?: string;
}

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  /** Spam filter: events per object allowed in a burst (client-go: 25) ... */
  spamBurst?: number;
  /** ... and how often one more token is granted (client-go: one per 5 minutes). */
  spamRefillMs?: number;
  /** Distinct messages within the window after which events are combined (client-go: 10 in 10 minutes). */
  aggregateMaxMessages?: number;
  aggregateWindowMs?: number;
  now?: () => number;
}

export const COMBINED_PREFIX = '(combined from similar events): ';

interface DedupEntry {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
}

/** Reference to `obj` as an event's involvedObject. */
export function referenceTo(obj: KubeObject, fieldPath?: string): ObjectReference {
  return {
    kind: obj.kind,
    namespace: obj.metadata.namespace,
    name: obj.metadata.name,
    uid: obj.metadata.uid,
    apiVersion: obj.apiVersion,
    resourceVersion: obj.metadata.resourceVersion,
    ...(fieldPath ? { fieldPath } : {}),
  };
}

/**
 * Writes core/v1 Events the way client-go's legacy recorder (kubelet, controllers) does
 * (domain/kubernetes-api.md §4.2): a per-object spam filter, the "combined from similar events"
 * aggregator, and the dedup cache that turns an exact repeat into count+1 / lastTimestamp on the
 * same Event (MODIFIED) instead of a new object.
 */
export class EventRecorder {
  private readonly spamBurst: number;
  private readonly spamRefillMs: number;
  private readonly maxMessages: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly buckets = new Map<string, { tokens: number; lastRefill: number }>();
  private readonly aggregates = new Map<string, { messages: Set<string>; last: number }>();
  private readonly dedup = new Map<string, DedupEntry>();
  private static readonly DEDUP_CAPACITY = 4096;

  constructor(
    private readonly store: ObjectStore,
    opts: EventRecorderOptions = {},
  ) {
    this.spamBurst = opts.spamBurst ?? 25;
    this.spamRefillMs = opts.spamRefillMs ?? 300_000;
    this.maxMessages = opts.aggregateMaxMessages ?? 10;
    this.windowMs = opts.aggregateWindowMs ?? 600_000;
    this.now = opts.now ?? Date.now;
  }

  /** Records one occurrence; returns the Event as stored, or undefined when the spam filter dropped it. */
  record(
    ref: ObjectReference,
    type: EventType,
    reason: string,
    message: string,
    source: EventSource,
  ): KubeObject | undefined {
    const now = this.now();
    const objectKey = [
      source.component,
      source.host ?? '',
      ref.kind,
      ref.namespace ?? '',
      ref.name,
      ref.uid ?? '',
      ref.apiVersion,
    ].join('\u0000');
    if (!this.takeToken(objectKey, now)) return undefined;

    const aggregateKey = [objectKey, type, reason].join('\u0000');
    let dedupKey = [aggregateKey, ref.fieldPath ?? '', message].join('\u0000');
    let finalMessage = message;
    let aggregate = this.aggregates.get(aggregateKey);
    if (!aggregate || now - aggregate.last > this.windowMs) {
      aggregate = { messages: new Set(), last: now };
      this.aggregates.set(aggregateKey, aggregate);
    }
    aggregate.last = now;
    aggregate.messages.add(message);
    if (aggregate.messages.size >= this.maxMessages) {
      // Keep the set just under the limit (client-go PopAny) so every later message stays combined.
      const first = aggregate.messages.values().next().value;
      if (first !== undefined) aggregate.messages.delete(first);
      dedupKey = aggregateKey;
      finalMessage = COMBINED_PREFIX + message;
    }
    return this.write(dedupKey, ref, type, reason, finalMessage, source, now);
  }

  private takeToken(key: string, now: number): boolean {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: this.spamBurst, lastRefill: now };
      this.buckets.set(key, bucket);
    }
    const refills = Math.floor((now - bucket.lastRefill) / this.spamRefillMs);
    if (refills > 0) {
      bucket.tokens = Math.min(this.spamBurst, bucket.tokens + refills);
      bucket.lastRefill += refills * this.spamRefillMs;
    }
    if (bucket.tokens <= 0) return false;
    bucket.tokens--;
    return true;
  }

  private write(
    dedupKey: string,
    ref: ObjectReference,
    type: EventType,
    reason: string,
    message: string,
    source: EventSource,
    now: number,
  ): KubeObject {
    const timestamp = isoSeconds(now);
    const seen = this.dedup.get(dedupKey);
    if (seen) {
      try {
        const updated = this.store.mutate('Event', seen.namespace, seen.name, (ev) => {
          ev.count = seen.count + 1;
          ev.lastTimestamp = timestamp;
          ev.message = message;
        });
        seen.count++;
        this.touch(dedupKey, seen);
        return updated;
      } catch (err) {
        // The Event expired (TTL) or was deleted: like client-go, fall back to creating a new one.
        if ((err as { code?: number }).code !== 404) throw err;
      }
    }
    const namespace = ref.namespace ?? 'default';
    const name = eventName(ref.name, now);
    const created = this.store.create({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: ref,
      reason,
      message,
      source: source.host
        ? { component: source.component, host: source.host }
        : { component: source.component },
      firstTimestamp: timestamp,
      lastTimestamp: timestamp,
      count: 1,
      type,
      eventTime: null,
      reportingComponent: source.component,
      reportingInstance: source.host ?? '',
    });
    this.touch(dedupKey, { name, namespace, count: 1, firstTimestamp: timestamp });
    return created;
  }

  private touch(key: string, entry: DedupEntry): void {
    this.dedup.delete(key);
    this.dedup.set(key, entry);
    if (this.dedup.size > EventRecorder.DEDUP_CAPACITY) {
      const oldest = this.dedup.keys().next().value;
      if (oldest !== undefined) this.dedup.delete(oldest);
    }
  }
}
