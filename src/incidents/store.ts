import { Redis } from 'ioredis';
import { z } from 'zod';
import { createRedis, DEFAULT_REDIS_URL } from '../coordination/redis-connection.js';
import { aggregateSignals, type AggregatedBatch } from './count-merge.js';
import { DEFAULT_REOPEN_COOLDOWN_MS } from './cooldown.js';
import { IllegalTransitionError, IncidentNotFoundError, IncidentStateConflictError } from './errors.js';
import { newIncidentId } from './incident-id.js';
import { DEFAULT_KEY_PREFIX, IncidentKeys } from './keys.js';
import { defineIncidentScripts } from './scripts.js';
import {
  allowedPredecessors,
  describeIllegalTransition,
  INCIDENT_STATES,
  isTerminalState,
  type IncidentState,
} from './transitions.js';
import type {
  AuditEntry,
  AuditEntryInput,
  FailureSignature,
  Incident,
  IncidentExtras,
  ListOptions,
  RecordChange,
  RecordResult,
  SandboxSignalLike,
  TransitionOptions,
} from './types.js';

export interface IncidentStoreOptions {
  /** An existing connection (not closed by close()); otherwise one is opened from redisUrl. */
  redis?: Redis;
  /** Default redis://127.0.0.1:6379; a /N database number is honoured. */
  redisUrl?: string;
  /** Key prefix, default 'flannel-ops'. Do not also set ioredis' own keyPrefix: the scripts build keys. */
  prefix?: string;
  /** Quiet period after an incident ends (see cooldown.ts). Default 10 minutes. */
  cooldownMs?: number;
  /**
   * Distinct events/pods/nodes/namespaces tracked exactly per incident; beyond it they are estimated with a
   * HyperLogLog so a runaway storm cannot grow Redis without bound. Default 100,000.
   */
  maxTrackedMembers?: number;
  /** How long the per-incident counting sets live after the incident ended. Default 7 days. */
  trackingRetentionMs?: number;
  /** Clock, injectable for tests. */
  now?: () => number;
}

interface IncidentScripts {
  flannelOpsRecordSignals(...args: (string | number)[]): Promise<unknown>;
  flannelOpsTransition(...args: (string | number)[]): Promise<unknown>;
  flannelOpsAudit(...args: (string | number)[]): Promise<string | null>;
  flannelOpsSetExtras(...args: (string | number)[]): Promise<number>;
}

const ID_COLLISION_RETRIES = 5;
const LIST_PAGE = 100;

const numeric = z.coerce.number().finite();
const incidentHashSchema = z.looseObject({
  id: z.string().min(1),
  cluster: z.string(),
  runbookId: z.string(),
  state: z.enum(INCIDENT_STATES),
  events: numeric,
  occurrences: numeric,
  pods: numeric,
  nodes: numeric,
  namespaces: numeric,
  approximate: z.string().optional(),
  firstSeen: numeric,
  lastSeen: numeric,
  openedAt: numeric,
  updatedAt: numeric,
  resolvedAt: numeric.optional(),
  reopenCount: numeric.default(0),
  version: numeric.default(0),
});

/**
 * Incidents in Redis: one active incident per (cluster, runbook), idempotent signal recording, a
 * compare-and-set state machine and an append-only audit stream per incident. Safe to share between bot
 * replicas: every write that must not race is a single Lua script.
 */
export class IncidentStore {
  readonly keys: IncidentKeys;
  private readonly redis: Redis & IncidentScripts;
  private readonly ownsConnection: boolean;
  private readonly cooldownMs: number;
  private readonly cap: number;
  private readonly retentionMs: number;
  private readonly now: () => number;

  constructor(options: IncidentStoreOptions = {}) {
    this.ownsConnection = !options.redis;
    const redis = options.redis ?? createRedis(options.redisUrl ?? DEFAULT_REDIS_URL);
    this.keys = new IncidentKeys(options.prefix ?? DEFAULT_KEY_PREFIX);
    this.cooldownMs = options.cooldownMs ?? DEFAULT_REOPEN_COOLDOWN_MS;
    this.cap = Math.max(1, options.maxTrackedMembers ?? 100_000);
    // The counting sets must outlive the cooldown, or a re-opened incident would count old events again.
    this.retentionMs = Math.max(options.trackingRetentionMs ?? 7 * 24 * 3_600_000, this.cooldownMs * 2);
    this.now = options.now ?? Date.now;

    defineIncidentScripts(redis);
    this.redis = redis as Redis & IncidentScripts;
  }

  /**
   * Records a batch of matching events in one Redis round trip: opens the incident if none is active (or
   * re-opens the last one if it resolved within the cooldown), folds counts in idempotently, and says what
   * changed. Returns null for an empty batch.
   */
  async recordSignals(
    cluster: string,
    runbookId: string,
    signals: readonly SandboxSignalLike[],
  ): Promise<RecordResult | null> {
    requireName('cluster', cluster);
    requireName('runbookId', runbookId);
    if (signals.length === 0) return null;
    for (const s of signals) {
      if (!s || typeof s.eventUid !== 'string' || s.eventUid === '') {
        throw new TypeError(`recordSignals(${cluster}, ${runbookId}): every signal needs an eventUid`);
      }
    }
    const nowMs = this.now();
    const batch = aggregateSignals(signals, nowMs);
    const keys = [
      this.keys.latest(cluster, runbookId),
      this.keys.allIndex,
      this.keys.activeIndex,
      this.keys.clusterIndex(cluster),
      this.keys.clusterActiveIndex(cluster),
    ];
    for (let attempt = 0; attempt < ID_COLLISION_RETRIES; attempt++) {
      const args = this.recordArgs(cluster, runbookId, newIncidentId(), nowMs, batch);
      const reply = (await this.redis.flannelOpsRecordSignals(...keys, ...args)) as unknown[];
      if (reply[0] === 'id-collision') continue;
      const [change, hash, sigs] = reply as [RecordChange, string[], string[]];
      return { change, incident: toIncident(pairs(hash), pairs(sigs)) };
    }
    throw new Error(`recordSignals(${cluster}, ${runbookId}): could not draw a free incident id`);
  }

  private recordArgs(
    cluster: string,
    runbookId: string,
    candidateId: string,
    nowMs: number,
    batch: AggregatedBatch,
  ): (string | number)[] {
    const classes = [...batch.samples.keys()];
    const classIndex = new Map(classes.map((c, i) => [c, i + 1]));
    const args: (string | number)[] = [
      this.keys.incidentBase,
      cluster,
      runbookId,
      candidateId,
      nowMs,
      this.cooldownMs,
      this.cap,
      batch.firstSeenMs,
      batch.lastSeenMs,
      this.keys.clusterBase(cluster),
      batch.events.length,
      batch.pods.length,
      batch.nodes.length,
      batch.namespaces.length,
      classes.length,
    ];
    // One argument per event (HMGET/HSET need the uids), the counts and class indexes packed into one string each
    // (record-signals.lua): redis-server then parses and allocates a third of the per-event arguments.
    const counts: number[] = new Array(batch.events.length);
    const indexes: number[] = classes.length > 1 ? new Array(batch.events.length) : [];
    for (let i = 0; i < batch.events.length; i++) {
      const e = batch.events[i];
      args.push(e.uid);
      counts[i] = e.count;
      if (classes.length > 1) indexes[i] = classIndex.get(e.errorClass) ?? 1;
    }
    args.push(counts.join(','), indexes.join(','));
    for (const p of batch.pods) args.push(p);
    for (const n of batch.nodes) args.push(n);
    for (const ns of batch.namespaces) args.push(ns);
    for (const c of classes) args.push(c, batch.samples.get(c) ?? '');
    return args;
  }

  /**
   * Moves an incident to `to` if the transition table allows it (and, with expectState, only if it is still in
   * that state), recording the attempt in the audit log either way. Throws IllegalTransitionError,
   * IncidentStateConflictError or IncidentNotFoundError.
   */
  async transition(id: string, to: IncidentState, options: TransitionOptions): Promise<Incident> {
    requireName('actor', options.actor);
    const details: Record<string, unknown> = { ...(options.details ?? {}) };
    if (options.reason !== undefined) details.reason = options.reason;
    const expected = options.expectState === undefined ? [] : [options.expectState].flat();
    const reply = (await this.redis.flannelOpsTransition(
      this.keys.incident(id),
      this.keys.audit(id),
      this.keys.activeIndex,
      to,
      expected.join(','),
      allowedPredecessors(to).join(','),
      this.now(),
      options.actor,
      JSON.stringify(details),
      isTerminalState(to) ? '1' : '0',
      this.retentionMs,
      ...extraArgs(options.extras ?? {}),
    )) as unknown[];
    switch (reply[0]) {
      case 'ok':
        return toIncident(pairs(reply[1] as string[]), pairs(reply[2] as string[]));
      case 'not-found':
        throw new IncidentNotFoundError(id);
      case 'conflict':
        throw new IncidentStateConflictError(id, expected, reply[1] as IncidentState, to);
      default: {
        const from = reply[1] as IncidentState;
        throw new IllegalTransitionError(describeIllegalTransition(id, from, to), id, from, to);
      }
    }
  }

  /** Appends an action to the incident's audit log; returns the entry id. */
  async audit(id: string, entry: AuditEntryInput): Promise<string> {
    requireName('actor', entry.actor);
    requireName('action', entry.action);
    const entryId = await this.redis.flannelOpsAudit(
      this.keys.incident(id),
      this.keys.audit(id),
      this.now(),
      entry.actor,
      entry.action,
      entry.outcome,
      JSON.stringify(entry.details ?? {}),
    );
    if (!entryId) throw new IncidentNotFoundError(id);
    return entryId;
  }

  /** The audit log, oldest first. */
  async timeline(id: string, options: { limit?: number } = {}): Promise<AuditEntry[]> {
    const raw = options.limit
      ? await this.redis.xrange(this.keys.audit(id), '-', '+', 'COUNT', options.limit)
      : await this.redis.xrange(this.keys.audit(id), '-', '+');
    return raw.map(([entryId, fields]) => toAuditEntry(entryId, pairs(fields)));
  }

  async get(id: string): Promise<Incident | undefined> {
    const [incident] = await this.fetchMany([id]);
    return incident;
  }

  /** The active (non-terminal) incident for a cluster and runbook, if any. */
  async findActive(cluster: string, runbookId: string): Promise<Incident | undefined> {
    const id = await this.redis.get(this.keys.latest(cluster, runbookId));
    if (!id) return undefined;
    const incident = await this.get(id);
    return incident && !isTerminalState(incident.state) ? incident : undefined;
  }

  /** Incidents newest first, optionally of one cluster and/or state ('active' = every non-terminal state). */
  async list(options: ListOptions = {}): Promise<Incident[]> {
    const limit = Math.max(1, options.limit ?? 50);
    const wantsActive =
      options.state === 'active' || (options.state !== undefined && !isTerminalState(options.state));
    const index = wantsActive
      ? options.cluster !== undefined
        ? this.keys.clusterActiveIndex(options.cluster)
        : this.keys.activeIndex
      : options.cluster !== undefined
        ? this.keys.clusterIndex(options.cluster)
        : this.keys.allIndex;
    const matches = (i: Incident): boolean =>
      options.state === undefined || options.state === 'active' || i.state === options.state;

    const out: Incident[] = [];
    for (let start = 0; out.length < limit; start += LIST_PAGE) {
      const ids = await this.redis.zrevrange(index, start, start + LIST_PAGE - 1);
      if (ids.length === 0) break;
      for (const incident of await this.fetchMany(ids)) {
        if (incident && matches(incident)) out.push(incident);
        if (out.length >= limit) break;
      }
      if (ids.length < LIST_PAGE) break;
    }
    return out;
  }

  /** Attaches later-stage data (Slack thread, diagnosis, plan version); each key is its own hash field. */
  async setExtras(id: string, extras: IncidentExtras): Promise<void> {
    const written = await this.redis.flannelOpsSetExtras(
      this.keys.incident(id),
      '0',
      this.now(),
      ...extraArgs(extras),
    );
    if (written < 0) throw new IncidentNotFoundError(id);
  }

  /**
   * Sets one extra only if it has no value yet (or was cleared to null); true if this call set it. Lets exactly one replica claim, say,
   * the Slack root message of an incident.
   */
  async setExtraIfAbsent<K extends keyof IncidentExtras & string>(
    id: string,
    name: K,
    value: IncidentExtras[K],
  ): Promise<boolean> {
    const written = await this.redis.flannelOpsSetExtras(
      this.keys.incident(id),
      '1',
      this.now(),
      ...extraArgs({ [name]: value }),
    );
    if (written < 0) throw new IncidentNotFoundError(id);
    return written === 1;
  }

  /** Closes the connection if the store opened it. */
  async close(): Promise<void> {
    if (this.ownsConnection) await this.redis.quit();
  }

  private async fetchMany(ids: readonly string[]): Promise<(Incident | undefined)[]> {
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) {
      pipeline.hgetall(this.keys.incident(id));
      pipeline.hgetall(this.keys.signatures(id));
    }
    const replies = (await pipeline.exec()) ?? [];
    return ids.map((_, i) => {
      const [hashErr, hash] = replies[i * 2] ?? [];
      const [, sigs] = replies[i * 2 + 1] ?? [];
      if (hashErr) throw hashErr;
      const fields = hash as Record<string, string> | undefined;
      if (!fields || Object.keys(fields).length === 0) return undefined;
      return toIncident(fields, (sigs as Record<string, string>) ?? {});
    });
  }
}

function requireName(field: string, value: unknown): void {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new TypeError(`${field} must be a non-empty string`);
  }
}

function extraArgs(extras: IncidentExtras): string[] {
  const args: string[] = [];
  for (const [name, value] of Object.entries(extras)) {
    if (value === undefined) continue;
    args.push(name, JSON.stringify(value));
  }
  return args;
}

/** Redis flat [k, v, k, v] replies -> object. */
function pairs(flat: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]] = flat[i + 1];
  return out;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function toIncident(hash: Record<string, string>, sigs: Record<string, string>): Incident {
  const parsed = incidentHashSchema.safeParse(hash);
  if (!parsed.success) {
    const where = hash.id ? `incident ${hash.id}` : 'an incident';
    throw new Error(
      `${where} in Redis is malformed: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`,
    );
  }
  const h = parsed.data;
  const extras: IncidentExtras = {};
  for (const [field, value] of Object.entries(hash)) {
    if (!field.startsWith('x:')) continue;
    try {
      extras[field.slice(2)] = JSON.parse(value);
    } catch {
      extras[field.slice(2)] = value;
    }
  }
  return {
    id: h.id,
    cluster: h.cluster,
    runbookId: h.runbookId,
    state: h.state,
    counts: {
      events: h.events,
      occurrences: h.occurrences,
      pods: h.pods,
      nodes: h.nodes,
      namespaces: h.namespaces,
      approximate: h.approximate === '1',
    },
    signatures: toSignatures(sigs),
    firstSeen: iso(h.firstSeen),
    lastSeen: iso(h.lastSeen),
    openedAt: iso(h.openedAt),
    updatedAt: iso(h.updatedAt),
    ...(h.resolvedAt !== undefined ? { resolvedAt: iso(h.resolvedAt) } : {}),
    reopenCount: h.reopenCount,
    version: h.version,
    extras,
  };
}

function toSignatures(sigs: Record<string, string>): FailureSignature[] {
  const out: FailureSignature[] = [];
  for (const [field, value] of Object.entries(sigs)) {
    if (!field.startsWith('e:')) continue;
    const errorClass = field.slice(2);
    // Past the tracking cap: exact part plus the class's estimate of untracked events (scripts.ts).
    out.push({
      errorClass,
      events: Number(value) + Number(sigs[`eu:${errorClass}`] ?? 0),
      occurrences: Number(sigs[`o:${errorClass}`] ?? 0) + Number(sigs[`ou:${errorClass}`] ?? 0),
      sampleMessage: sigs[`m:${errorClass}`] ?? '',
    });
  }
  return out.sort((a, b) => b.occurrences - a.occurrences || a.errorClass.localeCompare(b.errorClass));
}

function toAuditEntry(entryId: string, fields: Record<string, string>): AuditEntry {
  let details: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(fields.details ?? '{}');
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      details = parsed as Record<string, unknown>;
  } catch {
    details = { raw: fields.details };
  }
  const atMs = Number(fields.at);
  return {
    entryId,
    at: Number.isFinite(atMs) ? iso(atMs) : String(fields.at),
    actor: fields.actor ?? '',
    action: fields.action ?? '',
    outcome: fields.outcome ?? '',
    details,
  };
}
