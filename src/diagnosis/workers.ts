/**
 * The processors of the diagnosis flow (see diagnosis-flow.ts) and the workers running them.
 * Checks are read-only, so a job that runs twice (retry, stalled job picked up after a crash) is harmless.
 * Every processor turns failures into results; it throws only to ask BullMQ for a retry (transient
 * error with attempts left) or when the worker is shutting down (the job is then picked up again).
 */
import { setMaxListeners } from 'node:events';
import { DelayedError, type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CheckId } from '../checks/catalog.js';
import type { CheckResult, KubeClients } from '../checks/types.js';
import type { CheckDefinition } from '../checks/types.js';
import { runProbes, type ProbeResult } from '../checks/probe/runner.js';
import { assembleDiagnosis } from './assemble.js';
import { runCheck } from './run-check.js';
import type { Diagnosis } from './types.js';
import type { IncidentStore } from '../incidents/store.js';
import type { Runbook } from '../runbooks/schema.js';
import { log } from '../util/log.js';
import { RedisSemaphore } from '../coordination/semaphore.js';
import {
  isNodeCheck,
  type CheckJobData,
  type DiagnosisJobData,
  type NodeChecksJobData,
  type ProbeJobData,
} from './flow.js';
import {
  CHECKS_QUEUE,
  checkJobId,
  DIAGNOSIS_QUEUE,
  diagnosisJobId,
  NODE_CHECKS_JOB,
  nodeChecksJobId,
  PROBES_QUEUE,
} from './queue-names.js';
import {
  DIAGNOSIS_RETENTION_SECONDS,
  DiagnosisProgressStore,
  type ProgressChange,
  type SequencedProgress,
} from './progress.js';

export interface ProbeSettings {
  namespace: string;
  image: string;
  /** Probe pods at the same time in this process (worker concurrency of the probe queue). */
  concurrency: number;
  deadlineSeconds: number;
  /** The runtime's socket directory, mounted so probes can list sandboxes (FLANNEL_OPS_PROBE_CRI_SOCKET_DIR). */
  criSocketDir?: string;
  /**
   * Probe pods one cluster may run at once across every replica (clusters.yaml remediation.probeConcurrency).
   * A probe job over its cluster's limit goes back to the queue for a moment, freeing the worker slot for
   * other clusters' probes. Absent: only the process-wide `concurrency` applies.
   */
  clusterLimit?(cluster: string): number | undefined;
}

/** Optional counters of the work this process did (the bot's metrics); every method is optional. */
export interface DiagnosisObserver {
  check?(cluster: string, check: CheckId, status: CheckResult['status'], ms: number): void;
  probe?(cluster: string, ok: boolean, ms: number): void;
  diagnosis?(cluster: string, purpose: string, outcome: 'healthy' | 'problems' | 'failed', ms: number): void;
}

export interface DiagnosisWorkerDeps {
  connection: Redis;
  prefix: string;
  clients(cluster: string): KubeClients;
  getCheck(id: CheckId): CheckDefinition;
  runbooks: readonly Runbook[];
  store?: IncidentStore;
  probe: ProbeSettings;
  /** Per check run (default 30 s). */
  checkTimeoutMs?: number;
  /** API checks run at the same time in this process (default 16). */
  checkConcurrency?: number;
  /** How long close() waits for active jobs before abandoning them to another process (default 15 s). */
  closeTimeoutMs?: number;
  observer?: DiagnosisObserver;
}

/** Where the finished Diagnosis document is kept (JSON), besides the parent job's return value. */
export function diagnosisResultKey(prefix: string, id: string): string {
  return `${prefix}:diagnosis:${id}:result`;
}

export interface NodeChecksResult {
  results: CheckResult[];
}

export interface ProbeJobResult {
  node: string;
  result: ProbeResult;
}

/** After cancelling, how long active jobs get to record their failed attempt. */
const CANCEL_GRACE_MS = 3000;

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}

class ShuttingDownError extends Error {
  constructor() {
    super('worker shutting down: the job will run again');
    this.name = 'ShuttingDownError';
  }
}

// Probe failures caused by a flaky API server, not by the node: worth another probe pod.
const TRANSIENT_PROBE_ERROR = /\bHTTP (5\d\d|429)\b|ECONNRESET|ETIMEDOUT|ECONNREFUSED|socket hang up/;

/** Runs the diagnosis workers in this process. */
export class DiagnosisWorkers {
  private readonly workers: Worker[];
  private readonly diagnosisQueue: Queue;
  private readonly progress: DiagnosisProgressStore;
  private readonly shutdown = new AbortController();
  private readonly probeSlots: RedisSemaphore;

  constructor(private readonly deps: DiagnosisWorkerDeps) {
    const { connection, prefix } = deps;
    this.probeSlots = new RedisSemaphore(connection, prefix, 'probes');
    // Every running check and probe listens on the shutdown signal; dozens at once are expected.
    setMaxListeners(0, this.shutdown.signal);
    this.diagnosisQueue = new Queue(DIAGNOSIS_QUEUE, { connection, prefix });
    this.diagnosisQueue.on('error', (err) => log.warn('diagnosis queue error', { err }));
    this.progress = new DiagnosisProgressStore(connection, prefix);
    // Locks are renewed while a process lives; a dead process's jobs are taken over within ~20 s.
    const common = { connection, prefix, autorun: true, lockDuration: 15_000, stalledInterval: 10_000 };
    this.workers = [
      new Worker(DIAGNOSIS_QUEUE, (job) => this.processDiagnosis(job as Job<DiagnosisJobData>), {
        ...common,
        concurrency: 4,
      }),
      new Worker(
        CHECKS_QUEUE,
        (job) =>
          job.name === NODE_CHECKS_JOB
            ? this.processNodeChecks(job as Job<NodeChecksJobData>)
            : this.processCheck(job as Job<CheckJobData>),
        { ...common, concurrency: deps.checkConcurrency ?? 16 },
      ),
      new Worker(PROBES_QUEUE, (job, token) => this.processProbe(job as Job<ProbeJobData>, token), {
        ...common,
        concurrency: Math.max(1, deps.probe.concurrency),
      }),
    ];
    for (const worker of this.workers) {
      worker.on('error', (err) => log.warn('diagnosis worker error', { queue: worker.name, err }));
      worker.on('failed', (job, err) => {
        if (job) void this.onJobFailed(worker.name, job, err);
      });
    }
  }

  async waitUntilReady(): Promise<void> {
    await Promise.all([...this.workers.map((w) => w.waitUntilReady()), this.diagnosisQueue.waitUntilReady()]);
  }

  /**
   * Stops taking jobs and waits for the active ones. Past the deadline, running checks and probes are
   * cancelled (probe pods deleted) and their jobs fail this attempt, so another process retries them.
   */
  async close(timeoutMs = this.deps.closeTimeoutMs ?? 15_000): Promise<void> {
    const graceful = Promise.all(this.workers.map((w) => w.close())).then(() => true);
    if (!(await settlesWithin(graceful, timeoutMs))) {
      log.warn('diagnosis workers did not finish in time; cancelling active jobs for a retry elsewhere', {
        timeoutMs,
      });
      this.shutdown.abort();
      if (!(await settlesWithin(graceful, CANCEL_GRACE_MS))) {
        log.warn('diagnosis jobs still active after cancelling; they will be picked up as stalled jobs');
      }
    }
    await this.diagnosisQueue.close();
  }

  // --- processors -----------------------------------------------------------------------------

  private async processCheck(job: Job<CheckJobData>): Promise<CheckResult> {
    const { diagnosisId, cluster, check, nodes } = job.data;
    await this.report(diagnosisId, { check: { id: check.id, state: 'running' } });
    const run = await runCheck(
      this.deps.getCheck(check.id),
      { cluster, kube: this.deps.clients(cluster), nodes, params: check.params ?? {} },
      { timeoutMs: this.deps.checkTimeoutMs, signal: this.shutdown.signal },
    );
    this.throwIfShuttingDown();
    if (run.retryable && hasAttemptsLeft(job)) throw new Error(run.result.summary);
    this.deps.observer?.check?.(cluster, check.id, run.result.status, run.result.durationMs ?? 0);
    await this.report(diagnosisId, {
      check: { id: check.id, state: run.result.status, summary: run.result.summary },
    });
    return run.result;
  }

  private async processProbe(job: Job<ProbeJobData>, token?: string): Promise<ProbeJobResult> {
    const { cluster } = job.data;
    const limit = this.deps.probe.clusterLimit?.(cluster);
    if (limit === undefined) return this.runProbeJob(job);
    // The slot outlives a hung probe pod only briefly; a crashed replica's slot frees itself.
    const leaseMs = (this.deps.probe.deadlineSeconds + 60) * 1000;
    const holder = `${job.id}`;
    if (!(await this.probeSlots.acquire(cluster, holder, limit, leaseMs))) {
      // Over the cluster's limit: back to the queue for a moment (not an attempt), the slot goes to others.
      await job.moveToDelayed(Date.now() + 200 + Math.floor(Math.random() * 300), token);
      throw new DelayedError();
    }
    try {
      return await this.runProbeJob(job);
    } finally {
      await this.probeSlots.release(cluster, holder).catch((err: unknown) => {
        log.debug('probe slot release failed (its lease ends it)', { cluster, err });
      });
    }
  }

  private async runProbeJob(job: Job<ProbeJobData>): Promise<ProbeJobResult> {
    const { diagnosisId, cluster, node } = job.data;
    await this.report(diagnosisId, { probe: { node, state: 'running' } });
    const { probe } = this.deps;
    const startedAt = Date.now();
    let result: ProbeResult;
    try {
      const results = await runProbes(this.deps.clients(cluster), [node], {
        namespace: probe.namespace,
        image: probe.image,
        concurrency: 1,
        deadlineSeconds: probe.deadlineSeconds,
        signal: this.shutdown.signal,
        runId: labelSafe(diagnosisId),
        ...(probe.criSocketDir && { criSocketDir: probe.criSocketDir }),
      });
      result = results.get(node) ?? { ok: false, error: 'the probe runner returned no result' };
    } catch (err) {
      result = { ok: false, error: `probe failed: ${(err as Error)?.message ?? String(err)}` };
    }
    this.throwIfShuttingDown();
    if (!result.ok && TRANSIENT_PROBE_ERROR.test(result.error) && hasAttemptsLeft(job)) {
      throw new Error(result.error);
    }
    this.deps.observer?.probe?.(cluster, result.ok, Date.now() - startedAt);
    await this.report(diagnosisId, { probe: { node, state: result.ok ? 'done' : 'failed' } });
    return { node, result };
  }

  private async processNodeChecks(job: Job<NodeChecksJobData>): Promise<NodeChecksResult> {
    const { diagnosisId, cluster, checks, nodes } = job.data;
    if (nodes.length === 0) {
      const results = checks.map((ref): CheckResult => {
        const definition = this.deps.getCheck(ref.id);
        return {
          id: ref.id,
          status: 'skipped',
          summary: `${definition.title}: skipped (no affected node to probe)`,
          evidence: [],
          findings: [],
        };
      });
      for (const r of results)
        await this.report(diagnosisId, { check: { id: r.id, state: r.status, summary: r.summary } });
      return { results };
    }
    const probes = await this.collectProbes(job, nodes);
    const kube = this.deps.clients(cluster);
    const runs = await Promise.all(
      checks.map(async (ref) => {
        await this.report(diagnosisId, { check: { id: ref.id, state: 'running' } });
        const run = await runCheck(
          this.deps.getCheck(ref.id),
          { cluster, kube, nodes, probes, params: ref.params ?? {} },
          { timeoutMs: this.deps.checkTimeoutMs, signal: this.shutdown.signal },
        );
        return run;
      }),
    );
    this.throwIfShuttingDown();
    // The probes are kept (children values), so a retry re-runs only these evaluations.
    if (runs.some((r) => r.retryable) && hasAttemptsLeft(job)) {
      throw new Error(runs.find((r) => r.retryable)!.result.summary);
    }
    for (const { result } of runs) {
      this.deps.observer?.check?.(cluster, result.id, result.status, result.durationMs ?? 0);
      await this.report(diagnosisId, {
        check: { id: result.id, state: result.status, summary: result.summary },
      });
    }
    return { results: runs.map((r) => r.result) };
  }

  private async collectProbes(job: Job, nodes: string[]): Promise<Map<string, ProbeResult>> {
    const values = await job.getChildrenValues<ProbeJobResult>();
    const byNode = new Map<string, ProbeResult>();
    for (const value of Object.values(values)) if (value?.node) byNode.set(value.node, value.result);
    const failures = await job.getIgnoredChildrenFailures();
    const failureText = Object.values(failures).join('; ');
    return new Map(
      nodes.map((node) => [
        node,
        byNode.get(node) ?? {
          ok: false,
          error: `the probe job did not finish${failureText ? ` (${failureText})` : ''}`,
        },
      ]),
    );
  }

  private async processDiagnosis(job: Job<DiagnosisJobData>): Promise<Diagnosis> {
    const data = job.data;
    await this.report(data.id, { phase: 'verdict' });
    const results = await this.collectCheckResults(job);
    const runbook = this.deps.runbooks.find((r) => r.id === data.runbookId);
    if (!runbook) throw new Error(`runbook "${data.runbookId}" is not loaded in this process`);
    const diagnosis = assembleDiagnosis({
      request: data,
      runbook,
      results,
      finishedAt: new Date().toISOString(),
    });
    const { connection, prefix, store } = this.deps;
    await connection.set(
      diagnosisResultKey(prefix, data.id),
      JSON.stringify(diagnosis),
      'EX',
      DIAGNOSIS_RETENTION_SECONDS,
    );
    if (data.incidentId && store) {
      try {
        await store.setExtras(data.incidentId, { diagnosis });
      } catch (err) {
        // The verdict stands even when its incident is gone; say so in the log.
        log.warn('could not store the diagnosis on its incident', { incident: data.incidentId, err });
      }
    }
    await this.report(data.id, { phase: 'done' });
    const outcome = diagnosis.healthy ? 'healthy' : 'problems';
    this.deps.observer?.diagnosis?.(data.cluster, data.purpose ?? 'cli', outcome, sinceMs(data.startedAt));
    return diagnosis;
  }

  /** One result per runbook check: a child that failed for good or never reported counts as 'error'. */
  private async collectCheckResults(job: Job<DiagnosisJobData>): Promise<CheckResult[]> {
    const values = await job.getChildrenValues<CheckResult | NodeChecksResult>();
    const byId = new Map<CheckId, CheckResult>();
    for (const value of Object.values(values)) {
      if (!value) continue;
      if ('results' in value) for (const r of value.results) byId.set(r.id, r);
      else byId.set(value.id, value);
    }
    const failures = await job.getIgnoredChildrenFailures();
    return job.data.checks.map((ref) => {
      const found = byId.get(ref.id);
      if (found) return found;
      const ownJob = isNodeCheck(ref.id) ? nodeChecksJobId(job.data.id) : checkJobId(job.data.id, ref.id);
      const reason = Object.entries(failures).find(([key]) => key.endsWith(`:${ownJob}`))?.[1] ?? 'no result';
      let title: string = ref.id;
      try {
        title = this.deps.getCheck(ref.id).title;
      } catch {
        // unknown id: keep the id
      }
      return {
        id: ref.id,
        status: 'error',
        summary: `${title}: could not run (${reason})`,
        evidence: [String(reason)],
        findings: [],
      };
    });
  }

  private async onJobFailed(queue: string, job: Job, err: Error): Promise<void> {
    const attempts = job.opts.attempts ?? 1;
    if (job.attemptsMade < attempts) return; // a retry follows
    const reason = err?.message ?? String(err);
    if (queue === DIAGNOSIS_QUEUE) {
      const data = job.data as DiagnosisJobData;
      this.deps.observer?.diagnosis?.(data.cluster, data.purpose ?? 'cli', 'failed', sinceMs(data.startedAt));
      await this.report(data.id, { phase: 'failed' });
    } else if (queue === CHECKS_QUEUE && job.name !== NODE_CHECKS_JOB) {
      const { diagnosisId, check } = job.data as CheckJobData;
      await this.report(diagnosisId, { check: { id: check.id, state: 'error', summary: reason } });
    } else if (queue === PROBES_QUEUE) {
      const { diagnosisId, node } = job.data as ProbeJobData;
      await this.report(diagnosisId, { probe: { node, state: 'failed' } });
    }
  }

  /** Updates the shared snapshot and publishes it as the parent job's progress (QueueEvents 'progress'). */
  private async report(diagnosisId: string, change: ProgressChange): Promise<void> {
    try {
      const snapshot = await this.progress.update(diagnosisId, change);
      if (snapshot) await publishProgress(this.diagnosisQueue, snapshot);
    } catch (err) {
      // Progress is best effort: the diagnosis itself must not fail because a snapshot was lost.
      log.debug('could not publish diagnosis progress', { diagnosis: diagnosisId, err });
    }
  }

  private throwIfShuttingDown(): void {
    if (this.shutdown.signal.aborted) throw new ShuttingDownError();
  }
}

const sinceMs = (iso: string) => Math.max(0, Date.now() - (Date.parse(iso) || Date.now()));

export async function publishProgress(diagnosisQueue: Queue, snapshot: SequencedProgress): Promise<void> {
  await diagnosisQueue.updateJobProgress(diagnosisJobId(snapshot.id), { ...snapshot });
}

function hasAttemptsLeft(job: Job): boolean {
  return job.attemptsMade + 1 < (job.opts.attempts ?? 1);
}

/** A label value: at most 63 characters of [A-Za-z0-9_.-], starting and ending alphanumeric. */
function labelSafe(value: string): string {
  const cleaned = value.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 63);
  return cleaned.replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '') || 'diagnosis';
}
