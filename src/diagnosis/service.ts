/**
 * DiagnosisService: the one entry point the CLI and the Slack layer use (contract "Service API").
 * start() picks the affected nodes and adds the diagnosis flow to BullMQ; workers (in this process
 * unless `workers: false`, or in any other process) run it. 'progress' and 'done' are emitted in every
 * process that has a service, from QueueEvents, so the Slack bot sees diagnoses the CLI started.
 */
import { EventEmitter } from 'node:events';
import { FlowProducer, Job, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CheckId } from '../checks/catalog.js';
import { getCheck as builtInCheck } from '../checks/registry.js';
import type { CheckDefinition, KubeClients } from '../checks/types.js';
import { IncidentKeys } from '../incidents/keys.js';
import type { IncidentStore } from '../incidents/store.js';
import { createQueueConnection } from '../coordination/queue-connection.js';
import {
  buildDiagnosisFlow,
  DEFAULT_RETRY,
  type DiagnosisJobData,
  type FollowUpJob,
  type RetryPolicy,
} from './flow.js';
import {
  diagnosisResultKey,
  DiagnosisWorkers,
  publishProgress,
  type DiagnosisObserver,
  type ProbeSettings,
} from './workers.js';
import { DIAGNOSIS_QUEUE, diagnosisJobId } from './queue-names.js';
import { DiagnosisProgressStore, withoutSeq, type SequencedProgress } from './progress.js';
import type { Runbook } from '../runbooks/schema.js';
import { UserError } from '../util/errors.js';
import { log } from '../util/log.js';
import { DEFAULT_MAX_PROBED_NODES, gatherAffectedNodeFacts, pickAffectedNodes } from './affected-nodes.js';
import type { DiagnosisDocument } from './assemble.js';
import { newDiagnosisId, stableDiagnosisId } from './ids.js';
import { assertNodesExist } from './requested-nodes.js';
import { describeCheckFailure } from './run-check.js';
import type { Diagnosis, DiagnosisProgress } from './types.js';

/** The default of FLANNEL_OPS_PROBE_NAMESPACE (src/config/env.ts); callers pass env.probeNamespace. */
export const DEFAULT_PROBE_NAMESPACE = 'kube-system';
export const DEFAULT_PROBE_DEADLINE_SECONDS = 60;
export const DEFAULT_RUNBOOK_ID = 'flannel';

export interface DiagnosisServiceOptions {
  /** A connection (duplicated for BullMQ, never closed) or a Redis URL. */
  redis: Redis | string;
  /** The configured key prefix (BullMQ `prefix` and the service's own keys). */
  prefix: string;
  store: IncidentStore;
  runbooks: Runbook[];
  clients(cluster: string): KubeClients;
  probe: ProbeSettings;
  /** Run the workers in this process (default true). */
  workers?: boolean;
  /** Affected nodes probed at most; the rest are reported as not probed (default 20). */
  maxProbedNodes?: number;
  /** Retries of transient errors (default 3 attempts, 1 s exponential backoff). */
  retry?: Partial<RetryPolicy>;
  /** Per check (default 30 s). */
  checkTimeoutMs?: number;
  /** close(): how long active jobs may take to finish (default 15 s). */
  closeTimeoutMs?: number;
  /** Counters of the checks, probes and diagnoses this process's workers run (the bot's metrics). */
  observer?: DiagnosisObserver;
  /** Check lookup (default: the built-in registry). */
  getCheck?(id: CheckId): CheckDefinition;
}

export interface DiagnosisRequest {
  cluster: string;
  incidentId?: string;
  /** Nodes to probe; default: the affected nodes (incident, stuck pods, CNI NotReady, no Flannel pod). */
  nodes?: string[];
  requestedBy?: string;
  /** Default: the incident's runbook, else "flannel". */
  runbookId?: string;
  /**
   * Makes start() idempotent: the same key (e.g. a Slack trigger id or "<incident>-v<version>") for the
   * same cluster gives the same diagnosis id, and a repeated request does not run it twice.
   */
  requestKey?: string;
  /** The diagnosis id, chosen by the caller (who recorded it first); a repeated start() is a no-op. */
  id?: string;
  /** Why it runs ('incident', 'verification', 'report', 'cli'); carried into progress and the result. */
  purpose?: string;
  /** A job to run after the diagnosis, in the same flow (see FollowUpJob). */
  then?: FollowUpJob;
}

export class DiagnosisTimeoutError extends UserError {
  constructor(id: string, timeoutMs: number) {
    super(`could not diagnose: diagnosis ${id} did not finish within ${Math.round(timeoutMs / 1000)}s`, 2);
    this.name = 'DiagnosisTimeoutError';
  }
}

export class DiagnosisFailedError extends UserError {
  constructor(id: string, reason: string) {
    super(`could not diagnose: diagnosis ${id} failed: ${reason}`, 2);
    this.name = 'DiagnosisFailedError';
  }
}

export class UnknownDiagnosisError extends UserError {
  constructor(id: string) {
    super(`no diagnosis with id "${id}" (finished diagnoses are kept for 7 days)`, 2);
    this.name = 'UnknownDiagnosisError';
  }
}

const MAX_TRACKED_DIAGNOSES = 1000;

type Events = { progress: [DiagnosisProgress]; done: [Diagnosis] };

export class DiagnosisService {
  private readonly emitter = new EventEmitter();
  private readonly connection: Redis;
  private readonly queue: Queue;
  private readonly flows: FlowProducer;
  private readonly events: QueueEvents;
  private readonly progress: DiagnosisProgressStore;
  private readonly workers?: DiagnosisWorkers;
  private readonly retry: RetryPolicy;
  private readonly ready: Promise<void>;
  private readonly lastSeq = new Map<string, number>();
  private closed = false;

  constructor(private readonly opts: DiagnosisServiceOptions) {
    this.connection = createQueueConnection(opts.redis);
    this.connection.on('error', (err) => log.debug('diagnosis redis error', { err }));
    const { prefix } = opts;
    this.queue = new Queue(DIAGNOSIS_QUEUE, { connection: this.connection, prefix });
    this.flows = new FlowProducer({ connection: this.connection, prefix });
    this.events = new QueueEvents(DIAGNOSIS_QUEUE, { connection: this.connection, prefix });
    const onError = (err: unknown) => log.warn('diagnosis queue error', { err });
    this.queue.on('error', onError);
    this.flows.on('error', onError);
    this.events.on('error', onError);
    this.progress = new DiagnosisProgressStore(this.connection, prefix);
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.events.on('progress', ({ data }) => this.onProgress(data));
    this.events.on('completed', ({ returnvalue }) => this.onCompleted(returnvalue));
    if (opts.workers !== false) {
      this.workers = new DiagnosisWorkers({
        connection: this.connection,
        prefix,
        clients: (cluster) => opts.clients(cluster),
        getCheck: opts.getCheck ?? builtInCheck,
        runbooks: opts.runbooks,
        store: opts.store,
        probe: opts.probe,
        checkTimeoutMs: opts.checkTimeoutMs,
        closeTimeoutMs: opts.closeTimeoutMs,
        observer: opts.observer,
      });
    }
    this.ready = Promise.all([
      this.events.waitUntilReady(),
      this.queue.waitUntilReady(),
      this.workers?.waitUntilReady(),
    ]).then(() => undefined);
    this.ready.catch(() => undefined);
  }

  on(event: 'progress', fn: (p: DiagnosisProgress) => void): this;
  on(event: 'done', fn: (d: Diagnosis) => void): this;
  on<E extends keyof Events>(event: E, fn: (...args: Events[E]) => void): this {
    this.emitter.on(event, fn as (...args: unknown[]) => void);
    return this;
  }

  off<E extends keyof Events>(event: E, fn: (...args: Events[E]) => void): this {
    this.emitter.off(event, fn as (...args: unknown[]) => void);
    return this;
  }

  /** Resolves once the queue connections (and local workers) are up. */
  waitUntilReady(): Promise<void> {
    return this.ready;
  }

  async start(req: DiagnosisRequest): Promise<{ id: string }> {
    await this.ready;
    const id = req.id ?? (req.requestKey ? stableDiagnosisId(req.cluster, req.requestKey) : newDiagnosisId());
    if ((req.requestKey || req.id) && (await this.exists(id, req.then))) return { id };

    const incident = req.incidentId ? await this.opts.store.get(req.incidentId) : undefined;
    if (req.incidentId && !incident) throw new UserError(`no incident with id "${req.incidentId}"`);
    if (incident && incident.cluster !== req.cluster) {
      throw new UserError(
        `incident ${incident.id} belongs to cluster "${incident.cluster}", not "${req.cluster}"`,
      );
    }
    const runbookId = req.runbookId ?? incident?.runbookId ?? DEFAULT_RUNBOOK_ID;
    const runbook = this.opts.runbooks.find((r) => r.id === runbookId);
    if (!runbook) {
      const known = this.opts.runbooks.map((r) => r.id).join(', ') || 'none loaded';
      throw new UserError(`unknown runbook "${runbookId}" (loaded: ${known})`);
    }
    const kube = this.opts.clients(req.cluster);
    const { nodes, notProbed, sample } = await this.affectedNodes(kube, req);

    const data: DiagnosisJobData = {
      id,
      cluster: req.cluster,
      ...(req.incidentId ? { incidentId: req.incidentId } : {}),
      runbookId,
      ...(req.requestedBy ? { requestedBy: req.requestedBy } : {}),
      ...(req.purpose ? { purpose: req.purpose } : {}),
      nodes,
      nodesNotProbed: notProbed,
      ...(sample ? { sample: true } : {}),
      startedAt: new Date().toISOString(),
      checks: runbook.checks,
    };
    const initial = await this.progress.init({
      id,
      cluster: req.cluster,
      ...(req.incidentId ? { incidentId: req.incidentId } : {}),
      ...(req.purpose ? { purpose: req.purpose } : {}),
      ...(req.requestedBy ? { requestedBy: req.requestedBy } : {}),
      checks: runbook.checks.map((c) => c.id),
      nodes,
    });
    await this.flows.add(buildDiagnosisFlow(data, this.retry, req.then));
    await publishProgress(this.queue, initial).catch(() => undefined);
    this.onProgress(initial);
    return { id };
  }

  /** Waits for the verdict of a diagnosis started by any process. */
  async result(id: string, timeoutMs = 120_000): Promise<DiagnosisDocument> {
    await this.ready;
    const stored = await this.storedResult(id);
    if (stored) return stored;
    const job = await Job.fromId<DiagnosisJobData, DiagnosisDocument>(this.queue, diagnosisJobId(id));
    if (!job) throw new UnknownDiagnosisError(id);
    try {
      return await job.waitUntilFinished(this.events, timeoutMs);
    } catch (err) {
      const again = await this.storedResult(id);
      if (again) return again;
      const message = (err as Error)?.message ?? String(err);
      if (/timed out/i.test(message)) throw new DiagnosisTimeoutError(id, timeoutMs);
      throw new DiagnosisFailedError(id, message);
    }
  }

  /** The latest progress snapshot of a diagnosis, if it is known. */
  async getProgress(id: string): Promise<DiagnosisProgress | undefined> {
    const snapshot = await this.progress.get(id);
    return snapshot ? withoutSeq(snapshot) : undefined;
  }

  /** Graceful: local workers finish their current jobs (bounded), then every connection closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.ready.catch(() => undefined);
    await this.workers?.close();
    await Promise.all([this.events.close(), this.flows.close(), this.queue.close()]);
    await this.connection.quit().catch(() => this.connection.disconnect());
  }

  // --- internals -------------------------------------------------------------------------------

  /** A diagnosis with this id was started (its job or its follow-up exists) or finished (its result is kept). */
  private async exists(id: string, then?: FollowUpJob): Promise<boolean> {
    if (await this.connection.exists(diagnosisResultKey(this.opts.prefix, id))) return true;
    if ((await Job.fromId(this.queue, diagnosisJobId(id))) !== undefined) return true;
    if (!then) return false;
    const followUp = new Queue(then.queueName, { connection: this.connection, prefix: this.opts.prefix });
    try {
      return (await Job.fromId(followUp, then.jobId)) !== undefined;
    } finally {
      await followUp.close();
    }
  }

  /** The finished diagnosis, if it finished (kept 7 days). */
  async getResult(id: string): Promise<DiagnosisDocument | undefined> {
    return this.storedResult(id);
  }

  private async storedResult(id: string): Promise<DiagnosisDocument | undefined> {
    const raw = await this.connection.get(diagnosisResultKey(this.opts.prefix, id));
    return raw ? (JSON.parse(raw) as DiagnosisDocument) : undefined;
  }

  private async affectedNodes(
    kube: KubeClients,
    req: DiagnosisRequest,
  ): Promise<{ nodes: string[]; notProbed: string[]; sample?: boolean }> {
    const max = this.opts.maxProbedNodes ?? DEFAULT_MAX_PROBED_NODES;
    if (req.nodes?.length) {
      const unique = [...new Set(req.nodes)];
      await assertNodesExist(kube.core, req.cluster, unique);
      return { nodes: unique.slice(0, max), notProbed: unique.slice(max) };
    }
    let facts;
    try {
      facts = await gatherAffectedNodeFacts(kube);
    } catch (err) {
      throw new UserError(
        `could not diagnose: cluster "${req.cluster}" is unreachable (${describeCheckFailure(err).reason})`,
        2,
      );
    }
    const incidentNodes = req.incidentId ? await this.incidentNodes(req.incidentId) : [];
    const picked = pickAffectedNodes(facts, { incidentNodes, max });
    return {
      nodes: picked.nodes,
      notProbed: picked.notProbed,
      ...(picked.sample ? { sample: true } : {}),
    };
  }

  /** Nodes the incident's events named (exact up to the store's tracking cap; a sample beyond). */
  private async incidentNodes(incidentId: string): Promise<string[]> {
    const key = `${new IncidentKeys(this.opts.prefix).incident(incidentId)}:nodes`;
    try {
      return await this.connection.srandmember(key, 1000);
    } catch {
      return [];
    }
  }

  private onProgress(data: unknown): void {
    if (!isSnapshot(data)) return;
    const last = this.lastSeq.get(data.id) ?? -1;
    if (data.seq <= last) return; // an older snapshot that arrived late
    // After the last snapshot, late ones are dropped too.
    const finished = data.phase === 'done' || data.phase === 'failed';
    this.lastSeq.set(data.id, finished ? Number.MAX_SAFE_INTEGER : data.seq);
    if (this.lastSeq.size > MAX_TRACKED_DIAGNOSES) {
      this.lastSeq.delete(this.lastSeq.keys().next().value as string);
    }
    this.emit('progress', withoutSeq(data));
  }

  private onCompleted(value: unknown): void {
    const diagnosis = value as Diagnosis | undefined;
    if (!diagnosis || typeof diagnosis !== 'object' || typeof diagnosis.id !== 'string') return;
    if (!Array.isArray(diagnosis.causes)) return;
    this.emit('done', diagnosis);
  }

  private emit<E extends keyof Events>(event: E, ...args: Events[E]): void {
    for (const listener of this.emitter.listeners(event)) {
      try {
        (listener as (...a: Events[E]) => void)(...args);
      } catch (err) {
        log.warn(`diagnosis ${event} listener failed`, { err });
      }
    }
  }
}

function isSnapshot(data: unknown): data is SequencedProgress {
  const d = data as Partial<SequencedProgress> | null;
  return (
    !!d &&
    typeof d === 'object' &&
    typeof d.id === 'string' &&
    typeof d.seq === 'number' &&
    Array.isArray(d.checks)
  );
}

export { newDiagnosisId, stableDiagnosisId };
