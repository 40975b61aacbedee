/**
 * The incident lifecycle: the ONE place that changes an incident's state, always together with the work that
 * leaves the new state, and the only place that decides what happens next.
 *
 *   detected ─> diagnosing ─> awaiting-approval ─(approved steps)─> remediating ─> verifying ─> resolved
 *                  │  ▲            │  ▲   (next step needs approval) ◄──┘          │
 *                  │  └─ re-run ───┘  └──────────── next plan version ◄──────────────┘ (still broken)
 *                  └─> open (the diagnosis could not finish; re-run)
 *
 * Inputs are detection (WatchService), people (Slack commands and clicks, translated by the listeners) and the
 * lifecycle queue's jobs (jobs.ts), which make every transition durable: a diagnosis carries its settle job,
 * an approved step is a job, the quiet period and the escalations are delayed jobs. Outputs are lifecycle
 * events to sinks (the Slack thread, the CLI printer): sinks render, they never decide.
 */
import { type Job, Queue, Worker, DelayedError } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ClusterConfig, NotifyTargets } from '../config/clusters.js';
import { newDiagnosisId, stableDiagnosisId } from '../diagnosis/ids.js';
import type { DiagnosisRequest } from '../diagnosis/service.js';
import type { Diagnosis, DiagnosisProgress } from '../diagnosis/types.js';
import {
  IllegalTransitionError,
  IncidentNotFoundError,
  IncidentStateConflictError,
} from '../incidents/errors.js';
import type { IncidentStore } from '../incidents/store.js';
import { isTerminalState, type IncidentState } from '../incidents/transitions.js';
import type { Incident } from '../incidents/types.js';
import type { KubeClients } from '../kube/clients.js';
import { nodeScriptRunner } from '../remediations/node-pod.js';
import type { BackupSink } from '../remediations/types.js';
import type { Runbook } from '../runbooks/schema.js';
import { log } from '../util/log.js';
import type { IncidentEvent } from '../watch/cluster-watcher.js';
import { ButtonStore, type ButtonTarget } from './buttons.js';
import { CLUSTER_TARGET, runStep } from './executor.js';
import {
  confirmJobSchema,
  escalateJobSchema,
  jobIds,
  LIFECYCLE_QUEUE,
  runStepJobSchema,
  settleJobSchema,
  type ConfirmJob,
  type EscalateJob,
  type RunStepJob,
  type SettleJob,
} from './jobs.js';
import { describeNext, needsPerson } from './next.js';
import { accept, refuse, type Outcome } from './outcomes.js';
import { PlanStore } from './plan-store.js';
import { approvalRefusal, isApprover } from './policy.js';
import { RateLimiter } from './rate-limit.js';
import { RemediationLock } from './cluster-lock.js';
import { buildPlan } from './planner.js';
import type {
  DiagnosisRun,
  LifecycleEvent,
  LifecycleSink,
  PageTargets,
  PlannedStep,
  PlanView,
  ResolutionSummary,
} from './types.js';
import { judgeVerification } from './verification.js';

const logger = log.child({ module: 'lifecycle' });

/** What the coordinator needs from DiagnosisService. */
export interface DiagnosisStarter {
  start(req: DiagnosisRequest): Promise<{ id: string }>;
  getResult(id: string): Promise<Diagnosis | undefined>;
}

/** Slack people and groups as the approval policy and paging need them (slack/directory.ts). */
export interface Directory {
  /** Members of these user groups (handles or S.. ids); cached briefly by the implementation. */
  groupMembers(groups: readonly string[]): Promise<Set<string>>;
  /** User group ids (S...) for handles or ids, for mentions. */
  groupIds(groups: readonly string[]): Promise<string[]>;
}

export interface LifecycleOptions {
  /** Connection for plans, buttons, locks and rate limits. */
  redis: Redis;
  /** BullMQ connection (maxRetriesPerRequest: null). */
  bullConnection: Redis;
  prefix: string;
  store: IncidentStore;
  diagnosis: DiagnosisStarter;
  clusters: readonly ClusterConfig[];
  runbooks: readonly Runbook[];
  clients(cluster: string): KubeClients;
  /** Where node actions run (the probe namespace and image). */
  nodeActions: { namespace: string; image: string; deadlineSeconds?: number };
  directory: Directory;
  backups: BackupSink;
  sinks?: LifecycleSink[];
  /** Every click's answer, by what the button was for ('expired': its id meant nothing) (the bot's metrics). */
  onClick?(kind: ButtonTarget['kind'] | 'expired', outcome: Outcome): void;
  /** Run the lifecycle worker in this process (default true; `false` only enqueues). */
  worker?: boolean;
  /** Crash recovery sweep interval (default 60 s; 0 = only at start-up). */
  reconcileIntervalMs?: number;
  /** Poll interval of a step's verify() (default 2 s). */
  verifyIntervalMs?: number;
  now?: () => number;
}

const REPORT_RUNNING_SECONDS = 300;

export class IncidentLifecycle {
  readonly plans: PlanStore;
  readonly buttons: ButtonStore;
  private readonly limiter: RateLimiter;
  private readonly lock: RemediationLock;
  private readonly queue: Queue;
  private worker?: Worker;
  private readonly sinks: LifecycleSink[];
  private readonly now: () => number;
  private reconcileTimer?: NodeJS.Timeout;
  private readonly shutdown = new AbortController();

  constructor(private readonly opts: LifecycleOptions) {
    this.plans = new PlanStore(opts.redis, opts.prefix);
    this.buttons = new ButtonStore(opts.redis, opts.prefix);
    this.now = opts.now ?? Date.now;
    this.limiter = new RateLimiter(opts.redis, opts.prefix, this.now);
    this.lock = new RemediationLock(opts.redis, opts.prefix);
    this.sinks = [...(opts.sinks ?? [])];
    this.queue = new Queue(LIFECYCLE_QUEUE, {
      connection: opts.bullConnection,
      prefix: opts.prefix,
      defaultJobOptions: {
        attempts: 5,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: { age: 7 * 86_400 },
        removeOnFail: { age: 7 * 86_400 },
      },
    });
    this.queue.on('error', (err) => logger.warn('lifecycle queue error', { err }));
  }

  addSink(sink: LifecycleSink): void {
    this.sinks.push(sink);
  }

  /** Starts the worker (unless disabled) and recovers what a crash left half done. */
  async start(): Promise<void> {
    if (this.opts.worker !== false && !this.worker) {
      this.worker = new Worker(LIFECYCLE_QUEUE, (job, token) => this.process(job, token), {
        connection: this.opts.bullConnection,
        prefix: this.opts.prefix,
        concurrency: 8,
        // A step that runs minutes keeps its lock renewed; a dead process's job is picked up soon.
        lockDuration: 20_000,
        stalledInterval: 10_000,
      });
      this.worker.on('error', (err) => logger.warn('lifecycle worker error', { err }));
      this.worker.on('failed', (job, err) =>
        logger.warn('lifecycle job failed', {
          job: job?.name,
          id: job?.id,
          attempt: job?.attemptsMade,
          err: err.message,
        }),
      );
      await this.worker.waitUntilReady();
    }
    await this.queue.waitUntilReady();
    await this.reconcile().catch((err) => logger.warn('reconcile failed', { err }));
    const every = this.opts.reconcileIntervalMs ?? 60_000;
    if (every > 0) {
      this.reconcileTimer = setInterval(
        () => void this.reconcile().catch((err) => logger.warn('reconcile failed', { err })),
        every,
      );
      this.reconcileTimer.unref?.();
    }
  }

  async close(): Promise<void> {
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    this.shutdown.abort();
    await this.worker?.close();
    await this.queue.close();
  }

  // --- inputs: detection -----------------------------------------------------------------------

  /** WatchService.onIncident: show it; a new or re-opened incident pages people and starts its diagnosis. */
  async detected(e: IncidentEvent): Promise<void> {
    const cluster = this.cluster(e.cluster);
    if (!cluster) return;
    if (e.event === 'resolved') return;
    const fresh = e.event === 'opened' || e.event === 'reopened';
    let incident = e.incident;
    if (e.event === 'reopened') {
      // A re-opened incident pages afresh (the root was posted long ago: a reply notifies), and whoever
      // acknowledged the last round is not taken to be on this one.
      await this.opts.store.setExtras(incident.id, { ack: null });
      incident = (await this.opts.store.get(incident.id)) ?? incident;
      const targets = await this.pageTargets(cluster.paging.notify);
      if (targets) {
        await this.emit({
          type: 'page',
          incident,
          level: 0,
          targets,
          reason: 're-opened: the failure is back',
        });
      }
    }
    await this.emitIncident(incident, fresh ? (e.event as 'opened' | 'reopened') : 'updated');
    if (!fresh || incident.state !== 'open') return;
    await this.scheduleEscalation(incident, cluster, 0);
    await this.beginDiagnosis(incident, {
      purpose: 'incident',
      by: 'bot',
      from: ['open'],
      reason: e.event === 'opened' ? 'incident opened' : 'incident re-opened: the failure is back',
    }).catch((err) => this.ignoreRace(err));
  }

  /** Diagnosis progress from DiagnosisService: rendering only. */
  async progress(p: DiagnosisProgress): Promise<void> {
    await this.emit({ type: 'diagnosis-progress', progress: p });
  }

  // --- inputs: people --------------------------------------------------------------------------

  /** `/flannel diagnose CLUSTER [NODE]`: an on-demand report (not an incident). */
  async requestDiagnosis(req: { cluster: string; node?: string; user: string }): Promise<Outcome> {
    const cluster = this.cluster(req.cluster);
    if (!cluster)
      return refuse({ code: 'unknown-cluster', cluster: req.cluster, known: this.clusterNames() });
    const runningKey = `${this.opts.prefix}:report-running:${cluster.name}:${req.node ?? '*'}`;
    const alreadyRunning = async (): Promise<Outcome | undefined> => {
      const raw = await this.opts.redis.get(runningKey);
      if (!raw) return undefined;
      const running = JSON.parse(raw) as { id?: string; by?: string };
      return refuse({ code: 'already-diagnosing', diagnosisId: running.id ?? '?', by: running.by ?? '?' });
    };
    // A request that changes nothing must not use up anyone's allowance: the running check comes first.
    const running = await alreadyRunning();
    if (running) return running;
    const limited = await this.rateLimit(cluster, req.user);
    if (limited) return limited;
    const id = newDiagnosisId();
    const claimed = await this.opts.redis.set(
      runningKey,
      JSON.stringify({ id, by: req.user }),
      'EX',
      REPORT_RUNNING_SECONDS,
      'NX',
    );
    if (claimed !== 'OK')
      return (await alreadyRunning()) ?? refuse({ code: 'already-diagnosing', diagnosisId: '?', by: '?' });
    try {
      await this.opts.diagnosis.start({
        cluster: cluster.name,
        id,
        purpose: 'report',
        requestedBy: req.user,
        ...(req.node && { nodes: [req.node] }),
        then: this.settleJob({
          diagnosisId: id,
          purpose: 'report',
          cluster: cluster.name,
          requestedBy: req.user,
          ...(req.node && { node: req.node }),
        }),
      });
    } catch (err) {
      await this.opts.redis.del(runningKey);
      return refuse({ code: 'could-not-start', reason: (err as Error)?.message ?? String(err) });
    }
    await this.emit({
      type: 'diagnosis-started',
      cluster: cluster.name,
      diagnosisId: id,
      purpose: 'report',
      requestedBy: req.user,
      ...(req.node && { node: req.node }),
    });
    return accept({
      code: 'diagnosis-started',
      cluster: cluster.name,
      diagnosisId: id,
      ...(req.node && { node: req.node }),
      reportTo: cluster.reports,
    });
  }

  /**
   * A scheduled diagnosis (clusters.yaml `schedule:`). `runKey` names the run (the scheduler's job id), so a
   * retried job starts it once. Nothing is posted while it runs; its settle job posts to the cluster's channel
   * only when something is wrong (see settleScheduled).
   */
  async scheduledDiagnosis(clusterName: string, runKey: string): Promise<void> {
    const cluster = this.cluster(clusterName);
    if (!cluster) return;
    const id = stableDiagnosisId(cluster.name, `scheduled-${runKey}`);
    const data: SettleJob = { diagnosisId: id, purpose: 'scheduled', cluster: cluster.name };
    try {
      await this.opts.diagnosis.start({
        cluster: cluster.name,
        id,
        purpose: 'scheduled',
        requestedBy: 'schedule',
        then: this.settleJob(data),
      });
    } catch (err) {
      await this.diagnosisFailed(data, (err as Error)?.message ?? String(err));
    }
  }

  /** A button click: the opaque id says what it was for. */
  async click(buttonId: string, user: string): Promise<Outcome> {
    const target = await this.buttons.resolve(buttonId);
    const outcome = target ? await this.answerClick(target, user) : refuse({ code: 'expired-button' });
    this.opts.onClick?.(target?.kind ?? 'expired', outcome);
    return outcome;
  }

  private async answerClick(target: ButtonTarget, user: string): Promise<Outcome> {
    switch (target.kind) {
      case 'approve':
      case 'reject':
        return this.decide(target, user);
      case 'rerun':
        return this.rerun(target, user);
      case 'ack':
        return this.acknowledge(target.incidentId, user);
      case 'evidence':
        return this.evidence(target.diagnosisId, target.cause);
    }
  }

  /** All evidence of one cause of a finished diagnosis (read-only: anyone who sees the thread may ask). */
  private async evidence(diagnosisId: string, causeId: string): Promise<Outcome> {
    const d = await this.opts.diagnosis.getResult(diagnosisId);
    const cause = d?.causes.find((c) => c.id === causeId);
    if (!d || !cause) return refuse({ code: 'unknown-diagnosis', diagnosisId });
    const fromChecks = d.checks
      .filter((c) => cause.checks.includes(c.id))
      .flatMap((c) => c.evidence.map((line) => `${c.id}: ${line}`));
    return accept({
      code: 'evidence',
      cluster: d.cluster,
      cause: cause.id,
      title: cause.title,
      lines: [...new Set([...cause.evidence, ...fromChecks])],
    });
  }

  /** Opaque ids for the buttons of a message (renderers ask; the coordinator keeps what they mean). */
  issueButton(target: ButtonTarget): Promise<string> {
    return this.buttons.issue(target);
  }

  async planView(incidentId: string, version: number): Promise<PlanView | undefined> {
    return this.plans.get(incidentId, version);
  }

  async acknowledge(incidentId: string, user: string): Promise<Outcome> {
    const incident = await this.opts.store.get(incidentId);
    if (!incident) return refuse({ code: 'unknown-incident', incidentId });
    const ack = { user, at: new Date(this.now()).toISOString() };
    if (!(await this.opts.store.setExtraIfAbsent(incidentId, 'ack', ack))) {
      const current = (await this.opts.store.get(incidentId))?.extras.ack as
        { user: string; at: string } | undefined;
      return refuse({ code: 'already-acknowledged', by: current?.user ?? '?', at: current?.at ?? '' });
    }
    await this.opts.store.audit(incidentId, { actor: user, action: 'acknowledge', outcome: 'ok' });
    const updated = (await this.opts.store.get(incidentId)) ?? incident;
    await this.emitIncident(updated, 'acknowledged');
    return accept({ code: 'acknowledged', incidentId });
  }

  // --- approvals -------------------------------------------------------------------------------

  private async decide(
    target: Extract<ButtonTarget, { kind: 'approve' | 'reject' }>,
    user: string,
  ): Promise<Outcome> {
    const incident = await this.opts.store.get(target.incidentId);
    if (!incident) return refuse({ code: 'unknown-incident', incidentId: target.incidentId });
    const cluster = this.cluster(incident.cluster);
    const view = await this.plans.get(incident.id, target.version);
    const step = view?.plan.steps.find((s) => s.id === target.stepId);
    if (!cluster || !view || !step) return refuse({ code: 'expired-button' });
    const refusal = await this.decisionRefusal(incident, cluster, view, step, user, target.kind);
    if (refusal) {
      await this.audit(incident.id, user, target.kind, 'refused', {
        step: step.index,
        version: view.plan.version,
        reason: refusal.code,
      });
      return refuse(refusal);
    }
    const result = await this.plans.decide(
      incident.id,
      view.plan.version,
      step.id,
      user,
      target.kind,
      step.required,
      this.now(),
    );
    switch (result.outcome) {
      case 'superseded':
        return refuse({
          code: 'superseded',
          version: view.plan.version,
          ...(result.current !== undefined && { current: result.current }),
        });
      case 'unknown-step':
        return refuse({ code: 'expired-button' });
      case 'duplicate':
        return refuse({
          code: 'duplicate',
          step: step.index,
          count: result.state.approvals.length,
          required: step.required,
        });
      case 'state':
        return refuse({
          code: 'step-state',
          step: step.index,
          state: result.state.state,
          ...(result.state.rejectedBy && { by: result.state.rejectedBy.user }),
        });
    }
    const count = result.state.approvals.length;
    await this.audit(incident.id, user, target.kind, result.outcome, {
      step: step.index,
      action: step.action,
      version: view.plan.version,
      approvals: count,
      required: step.required,
    });
    const fresh = (await this.plans.get(incident.id, view.plan.version))!;
    await this.emit({
      type: 'step',
      incident,
      view: fresh,
      stepId: step.id,
      what: result.outcome === 'rejected' ? 'rejected' : 'approval',
    });
    if (result.outcome === 'recorded')
      return accept({ code: 'approval-recorded', step: step.index, count, required: step.required });
    await this.advance(incident.id, view.plan.version);
    if (result.outcome === 'rejected') return accept({ code: 'step-rejected', step: step.index });
    const before = fresh.plan.steps.find(
      (s) =>
        s.index < step.index && ['awaiting', 'approved', 'running'].includes(fresh.states[s.id]?.state ?? ''),
    );
    return accept({ code: 'step-approved', step: step.index, ...(before && { waitsFor: before.index }) });
  }

  private async decisionRefusal(
    incident: Incident,
    cluster: ClusterConfig,
    view: PlanView,
    step: PlannedStep,
    user: string,
    kind: 'approve' | 'reject',
  ) {
    if (incident.extras.planVersion !== view.plan.version) {
      return {
        code: 'superseded' as const,
        version: view.plan.version,
        current: Number(incident.extras.planVersion),
      };
    }
    if (incident.state !== 'awaiting-approval' && incident.state !== 'remediating') {
      return { code: 'incident-state' as const, state: incident.state, incidentId: incident.id };
    }
    if (Date.parse(view.plan.expiresAt) < this.now())
      return { code: 'plan-expired' as const, expiredAt: view.plan.expiresAt };
    const members = await this.opts.directory.groupMembers(cluster.approvals.approvers.groups);
    const policy = approvalRefusal({
      policy: cluster.approvals,
      user,
      groupMembers: members,
      step,
      ...(kind === 'approve' && view.plan.requestedBy && { requestedBy: view.plan.requestedBy }),
    });
    if (policy) return policy;
    if (kind === 'approve') {
      const holder = await this.lock.holder(cluster.name);
      if (holder && holder !== incident.id)
        return { code: 'cluster-busy' as const, cluster: cluster.name, incidentId: holder };
    }
    return undefined;
  }

  /**
   * The sequencer: steps run in plan order, each once approved. Enqueues the next approved step, moves the
   * incident between awaiting-approval and remediating, and starts the verification once every step is
   * decided. Idempotent: safe to call from any event (a click, a finished step, the reconcile sweep).
   */
  async advance(incidentId: string, version: number): Promise<void> {
    const incident = await this.opts.store.get(incidentId);
    if (!incident || incident.extras.planVersion !== version) return;
    if (incident.state !== 'awaiting-approval' && incident.state !== 'remediating') return;
    const view = await this.plans.get(incidentId, version);
    if (!view) return;
    let failedBefore: PlannedStep | undefined;
    for (const step of view.plan.steps) {
      const state = view.states[step.id]?.state;
      if (state === 'failed') failedBefore ??= step;
      if (!state || ['done', 'failed', 'rejected', 'skipped', 'report'].includes(state)) continue;
      if (failedBefore) {
        // A failed step stops the plan: what is left is re-planned after the verification says what is wrong.
        const skipped = await this.plans.moveStep(
          incidentId,
          version,
          step.id,
          ['awaiting', 'approved'],
          'skipped',
          {
            lines: [`not run: step ${failedBefore.index} failed`],
          },
        );
        if (skipped)
          await this.emit({
            type: 'step',
            incident,
            view: (await this.plans.get(incidentId, version))!,
            stepId: step.id,
            what: 'skipped',
          });
        continue;
      }
      if (state === 'running') return;
      if (state === 'approved') {
        const moved = await this.moveIncident(
          incident,
          'remediating',
          ['awaiting-approval', 'remediating'],
          'bot',
          `step ${step.index} approved`,
        );
        if (!moved) return;
        const data: RunStepJob = { incidentId, version, stepId: step.id };
        await this.queue.add('run-step', data, { jobId: jobIds.runStep(data) });
        if (moved !== incident) await this.emitIncident(moved, 'state', view);
        return;
      }
      // awaiting approval
      const moved = await this.moveIncident(
        incident,
        'awaiting-approval',
        ['remediating', 'awaiting-approval'],
        'bot',
        `step ${step.index} needs approval`,
      );
      if (moved && moved !== incident) await this.emitIncident(moved, 'state', view);
      return;
    }
    const ran = view.plan.steps.filter((s) => ['done', 'failed'].includes(view.states[s.id]?.state ?? ''));
    if (ran.length === 0) {
      // Nothing ran (report-only, or every step rejected): a person has to act; say so on the root.
      await this.emitIncident(incident, 'state', view);
      return;
    }
    await this.beginDiagnosis(incident, {
      purpose: 'verification',
      by: 'bot',
      from: ['awaiting-approval', 'remediating'],
      reason: `every step of plan v${version} decided: verifying`,
      nodes: [...new Set(view.plan.steps.flatMap((s) => s.nodes ?? []))],
    }).catch((err) => this.ignoreRace(err));
  }

  // --- re-runs ---------------------------------------------------------------------------------

  private async rerun(target: Extract<ButtonTarget, { kind: 'rerun' }>, user: string): Promise<Outcome> {
    const cluster = this.cluster(target.cluster);
    if (!cluster)
      return refuse({ code: 'unknown-cluster', cluster: target.cluster, known: this.clusterNames() });
    const incident = target.incidentId ? await this.opts.store.get(target.incidentId) : undefined;
    if (!incident || isTerminalState(incident.state)) {
      return this.requestDiagnosis({
        cluster: cluster.name,
        user,
        ...(target.node && { node: target.node }),
      });
    }
    if (incident.state === 'awaiting-approval') {
      const members = await this.opts.directory.groupMembers(cluster.approvals.approvers.groups);
      if (!isApprover(cluster.approvals, user, members))
        return refuse({ code: 'rerun-needs-approver', incidentId: incident.id });
    }
    if (incident.state === 'diagnosing' || incident.state === 'verifying') {
      const run = incident.extras.diagnosisRun as DiagnosisRun | undefined;
      return refuse({ code: 'already-diagnosing', diagnosisId: run?.id ?? '?', by: run?.by ?? '?' });
    }
    if (incident.state === 'remediating')
      return refuse({ code: 'incident-state', state: incident.state, incidentId: incident.id });
    const limited = await this.rateLimit(cluster, user);
    if (limited) return limited;
    try {
      const run = await this.beginDiagnosis(incident, {
        purpose: 'incident',
        by: user,
        from: [incident.state],
        reason: 're-run diagnosis',
      });
      return accept({
        code: 'diagnosis-started',
        cluster: cluster.name,
        diagnosisId: run.id,
        incidentId: incident.id,
        reportTo: 'channel',
      });
    } catch (err) {
      if (err instanceof IncidentStateConflictError) {
        const now = await this.opts.store.get(incident.id);
        const run = now?.extras.diagnosisRun as DiagnosisRun | undefined;
        if (now?.state === 'diagnosing')
          return refuse({ code: 'already-diagnosing', diagnosisId: run?.id ?? '?', by: run?.by ?? '?' });
        return refuse({ code: 'incident-state', state: err.actual, incidentId: incident.id });
      }
      throw err;
    }
  }

  // --- diagnoses -------------------------------------------------------------------------------

  /**
   * Moves the incident to diagnosing (or verifying) AND records the run it waits for, in one atomic step, then
   * adds the diagnosis flow whose settle job leaves that state. A crash in between is repaired by reconcile().
   */
  private async beginDiagnosis(
    incident: Incident,
    how: {
      purpose: 'incident' | 'verification';
      by: string;
      from: IncidentState[];
      reason: string;
      nodes?: string[];
    },
  ): Promise<DiagnosisRun> {
    const run: DiagnosisRun = {
      id: newDiagnosisId(),
      purpose: how.purpose,
      by: how.by,
      at: new Date(this.now()).toISOString(),
    };
    const to = how.purpose === 'verification' ? 'verifying' : 'diagnosing';
    const moved = await this.opts.store.transition(incident.id, to, {
      actor: how.by,
      reason: how.reason,
      expectState: how.from,
      details: { diagnosis: run.id },
      extras: { diagnosisRun: run, diagnosisFailed: null },
    });
    await this.emitIncident(moved, 'state');
    await this.startFlow(moved, run, how.nodes);
    return run;
  }

  private async startFlow(incident: Incident, run: DiagnosisRun, nodes?: string[]): Promise<void> {
    const pinned = nodes?.length
      ? [...new Set([...nodes, ...(await this.incidentNodes(incident))])]
      : undefined;
    try {
      await this.opts.diagnosis.start({
        cluster: incident.cluster,
        incidentId: incident.id,
        id: run.id,
        purpose: run.purpose,
        requestedBy: run.by,
        ...(pinned && { nodes: pinned }),
        then: this.settleJob({
          diagnosisId: run.id,
          purpose: run.purpose,
          cluster: incident.cluster,
          incidentId: incident.id,
          requestedBy: run.by,
        }),
      });
    } catch (err) {
      await this.diagnosisFailed(
        {
          diagnosisId: run.id,
          purpose: run.purpose,
          cluster: incident.cluster,
          incidentId: incident.id,
          requestedBy: run.by,
        },
        (err as Error)?.message ?? String(err),
      );
      return;
    }
    await this.emit({
      type: 'diagnosis-started',
      cluster: incident.cluster,
      diagnosisId: run.id,
      purpose: run.purpose,
      incidentId: incident.id,
      requestedBy: run.by,
    });
  }

  private async incidentNodes(incident: Incident): Promise<string[]> {
    try {
      return await this.opts.redis.srandmember(`${this.opts.store.keys.incident(incident.id)}:nodes`, 50);
    } catch {
      return [];
    }
  }

  private settleJob(data: SettleJob) {
    return { queueName: LIFECYCLE_QUEUE, name: 'settle', jobId: jobIds.settle(data.diagnosisId), data };
  }

  /** The settle job: the diagnosis (its child in the flow) finished or failed for good. */
  private async settle(job: Job): Promise<void> {
    const data = settleJobSchema.parse(job.data);
    const values = await job.getChildrenValues<Diagnosis>();
    const diagnosis = Object.values(values).find(
      (v) => v && typeof v === 'object' && Array.isArray(v.causes),
    );
    if (!diagnosis) {
      const failures = Object.values(await job.getIgnoredChildrenFailures()).join('; ');
      await this.diagnosisFailed(data, failures || 'the diagnosis job failed (see the bot logs)');
      return;
    }
    await this.settleFrom(data, diagnosis);
  }

  private async settleFrom(data: SettleJob, d: Diagnosis): Promise<void> {
    if (data.purpose === 'scheduled') return this.settleScheduled(d);
    if (data.purpose === 'report') {
      await this.opts.redis.del(`${this.opts.prefix}:report-running:${data.cluster}:${data.node ?? '*'}`);
      await this.emit({
        type: 'diagnosis-done',
        diagnosis: d,
        purpose: 'report',
        ...(data.node && { node: data.node }),
      });
      return;
    }
    await this.emit({ type: 'diagnosis-done', diagnosis: d, purpose: data.purpose });
    const incident = data.incidentId ? await this.opts.store.get(data.incidentId) : undefined;
    if (!incident) return;
    const run = incident.extras.diagnosisRun as DiagnosisRun | undefined;
    const expected: IncidentState = data.purpose === 'verification' ? 'verifying' : 'diagnosing';
    // A superseded run (a newer re-run, or the incident moved on): its verdict is shown, nothing changes.
    if (incident.state !== expected || run?.id !== d.id) return;
    if (data.purpose === 'verification') return this.settleVerification(incident, d);
    if (d.healthy) {
      await this.resolve(incident, expected, 'diagnosis found no problem');
      return;
    }
    await this.offerPlan(incident, d, expected, `diagnosis: ${d.causes[0]?.id ?? 'problems found'}`);
  }

  /**
   * A scheduled diagnosis posts only news: something wrong that was not already posted by the last scheduled
   * run within a day (a healthy run forgets it), and nothing while an incident thread covers the cluster.
   */
  private async settleScheduled(d: Diagnosis): Promise<void> {
    const key = `${this.opts.prefix}:scheduled-finding:${d.cluster}`;
    if (d.healthy) {
      await this.opts.redis.del(key);
      return;
    }
    const [active] = await this.opts.store.list({ cluster: d.cluster, state: 'active', limit: 1 });
    if (active) return;
    const finding = d.causes.map((c) => c.id).join(',') || 'problems found';
    if (!(await this.scheduledNews(d.cluster, finding))) return;
    await this.emit({ type: 'diagnosis-done', diagnosis: d, purpose: 'scheduled' });
  }

  /** Records the finding of a scheduled run; true when it differs from the last one posted (within a day). */
  private async scheduledNews(cluster: string, finding: string): Promise<boolean> {
    const key = `${this.opts.prefix}:scheduled-finding:${cluster}`;
    const previous = await this.opts.redis.set(key, finding, 'EX', 86_400, 'GET');
    return previous !== finding;
  }

  private async diagnosisFailed(data: SettleJob, reason: string): Promise<void> {
    if (data.purpose === 'scheduled' && !(await this.scheduledNews(data.cluster, 'could not diagnose')))
      return;
    if (data.purpose === 'report') {
      await this.opts.redis.del(`${this.opts.prefix}:report-running:${data.cluster}:${data.node ?? '*'}`);
    }
    await this.emit({
      type: 'diagnosis-failed',
      cluster: data.cluster,
      diagnosisId: data.diagnosisId,
      purpose: data.purpose,
      reason,
      ...(data.incidentId && { incidentId: data.incidentId }),
      ...(data.requestedBy && { requestedBy: data.requestedBy }),
    });
    if (!data.incidentId) return;
    const incident = await this.opts.store.get(data.incidentId);
    const run = incident?.extras.diagnosisRun as DiagnosisRun | undefined;
    if (!incident || run?.id !== data.diagnosisId) return;
    if (incident.state === 'diagnosing') {
      const moved = await this.moveIncident(
        incident,
        'open',
        ['diagnosing'],
        'bot',
        `diagnosis could not finish: ${reason}`,
        {
          diagnosisFailed: { id: data.diagnosisId, reason: reason.slice(0, 300) },
        },
      );
      if (moved) await this.emitIncident(moved, 'state');
    } else if (incident.state === 'verifying') {
      // The fix ran but could not be verified: a person decides (re-run the diagnosis).
      const version = Number(incident.extras.planVersion);
      const moved = await this.moveIncident(
        incident,
        'awaiting-approval',
        ['verifying'],
        'bot',
        `verification could not finish: ${reason}`,
      );
      if (moved) await this.emitIncident(moved, 'state', await this.plans.get(incident.id, version));
    }
  }

  private async settleVerification(incident: Incident, d: Diagnosis): Promise<void> {
    const cluster = this.cluster(incident.cluster);
    const runbook = this.runbook(incident.runbookId);
    if (!cluster || !runbook) return;
    const judgement = judgeVerification(runbook, d);
    if (!judgement.passed) {
      await this.emit({
        type: 'verification',
        incident,
        diagnosisId: d.id,
        outcome: 'failed',
        lines: judgement.lines,
      });
      await this.audit(incident.id, 'bot', 'verify', 'failed', {
        diagnosis: d.id,
        lines: judgement.lines.slice(0, 10),
      });
      await this.offerPlan(incident, d, 'verifying', 'verification failed: next plan');
      return;
    }
    const quiet = cluster.verification.quietPeriodSeconds;
    await this.emit({
      type: 'verification',
      incident,
      diagnosisId: d.id,
      outcome: 'passed',
      lines: judgement.lines,
      quietSeconds: quiet,
    });
    await this.audit(incident.id, 'bot', 'verify', 'passed', { diagnosis: d.id, quietSeconds: quiet });
    const data: ConfirmJob = { incidentId: incident.id, diagnosisId: d.id, passedAt: this.now() };
    await this.queue.add('confirm', data, { jobId: jobIds.confirm(d.id), delay: quiet * 1000 });
  }

  /** After the quiet period: no sandbox failure recorded since the verification passed → resolved. */
  private async confirm(data: ConfirmJob): Promise<void> {
    const incident = await this.opts.store.get(data.incidentId);
    const run = incident?.extras.diagnosisRun as DiagnosisRun | undefined;
    if (!incident || incident.state !== 'verifying' || run?.id !== data.diagnosisId) return;
    if (Date.parse(incident.lastSeen) > data.passedAt) {
      await this.emit({
        type: 'verification',
        incident,
        diagnosisId: `${data.diagnosisId}-quiet`,
        outcome: 'failed',
        lines: [`new sandbox failures since the checks passed (last seen ${incident.lastSeen})`],
      });
      await this.beginDiagnosis(incident, {
        purpose: 'incident',
        by: 'bot',
        from: ['verifying'],
        reason: 'new sandbox failures during the quiet period',
      }).catch((err) => this.ignoreRace(err));
      return;
    }
    await this.resolve(
      incident,
      'verifying',
      'verified: checks pass and no new sandbox failure in the quiet period',
    );
  }

  private async resolve(incident: Incident, from: IncidentState, reason: string): Promise<void> {
    const resolved = await this.claimMove(incident, 'resolved', [from], 'bot', reason);
    if (!resolved) return;
    await this.emitIncident(resolved, 'state');
    await this.emit({ type: 'resolved', incident: resolved, summary: await this.summary(resolved, reason) });
  }

  private async summary(incident: Incident, reason: string): Promise<ResolutionSummary> {
    const timeline = await this.opts.store.timeline(incident.id).catch(() => []);
    const at = (pred: (e: (typeof timeline)[number]) => boolean) => {
      const e = timeline.find(pred);
      return e ? Date.parse(e.at) : undefined;
    };
    const opened = Date.parse(incident.openedAt);
    const diagnosed = at(
      (e) => e.action === 'transition' && e.outcome === 'ok' && e.details.to === 'awaiting-approval',
    );
    const fixStart = at((e) => e.action === 'step' && e.outcome === 'started');
    const fixed = at((e) => e.action === 'verify' && e.outcome === 'passed');
    const approvers = [
      ...new Set(
        timeline
          .filter((e) => e.action === 'approve' && ['approved', 'recorded'].includes(e.outcome))
          .map((e) => e.actor),
      ),
    ];
    return {
      openToResolvedMs: Date.parse(incident.resolvedAt ?? new Date(this.now()).toISOString()) - opened,
      ...(diagnosed && { detectToDiagnosedMs: diagnosed - opened }),
      ...(fixStart && fixed && { diagnosedToFixedMs: fixed - (diagnosed ?? fixStart) }),
      approvers,
      stepsRun: timeline.filter((e) => e.action === 'step' && e.outcome !== 'started').length,
      reason,
    };
  }

  // --- plans -----------------------------------------------------------------------------------

  /** Builds the next plan version from a diagnosis (previews included) and offers it. */
  private async offerPlan(
    incident: Incident,
    d: Diagnosis,
    from: IncidentState,
    reason: string,
  ): Promise<void> {
    const cluster = this.cluster(incident.cluster)!;
    const version = Number(incident.extras.planVersion ?? 0) + 1;
    const run = incident.extras.diagnosisRun as DiagnosisRun | undefined;
    const plan = await buildPlan({
      incidentId: incident.id,
      cluster,
      diagnosis: d,
      version,
      requestedBy: run && run.by !== 'bot' ? run.by : undefined,
      kube: this.opts.clients(cluster.name),
      backups: this.opts.backups,
      nowMs: this.now(),
    });
    const view = await this.plans.create(plan);
    const moved = await this.claimMove(incident, 'awaiting-approval', [from], 'bot', reason, {
      planVersion: version,
      verdict: { headline: plan.headline, cause: d.causes[0]?.id, diagnosis: d.id },
    });
    if (!moved) return;
    await this.audit(incident.id, 'bot', 'plan', 'offered', {
      version,
      steps: plan.steps.map((s) => `${s.index}. ${s.action} (${s.risk}, ${s.required} approvals)`),
      notOffered: plan.notOffered.map((n) => `${n.step}: ${n.reason}`),
    });
    const superseded = version > 1 ? await this.plans.get(incident.id, version - 1) : undefined;
    await this.emit({ type: 'plan', incident: moved, view, ...(superseded && { superseded }) });
    await this.emitIncident(moved, 'state', view);
    await this.advance(incident.id, version);
  }

  // --- steps -----------------------------------------------------------------------------------

  private async runStepJob(job: Job, token: string | undefined): Promise<void> {
    const data = runStepJobSchema.parse(job.data);
    const incident = await this.opts.store.get(data.incidentId);
    const view = await this.plans.get(data.incidentId, data.version);
    const step = view?.plan.steps.find((s) => s.id === data.stepId);
    const cluster = incident && this.cluster(incident.cluster);
    if (!incident || !view || !step || !cluster) return;
    if (incident.extras.planVersion !== data.version) {
      await this.plans.moveStep(incident.id, data.version, step.id, ['approved'], 'skipped', {
        lines: ['superseded by a newer plan'],
      });
      return;
    }
    const held = await this.lock.acquire(cluster.name, incident.id, String(job.id));
    if (!held) {
      await job.moveToDelayed(this.now() + 5000, token);
      throw new DelayedError();
    }
    try {
      let state = await this.plans.moveStep(incident.id, data.version, step.id, ['approved'], 'running', {
        startedAt: this.now(),
      });
      if (!state) {
        // Resumed after a crash (it is running already) or nothing to do (finished, skipped).
        const current = (await this.plans.get(incident.id, data.version))?.states[step.id];
        if (current?.state !== 'running') return;
        state = current;
      } else {
        await this.audit(incident.id, 'bot', 'step', 'started', {
          step: step.index,
          action: step.action,
          version: data.version,
          nodes: step.nodes,
        });
      }
      const render = async (what: 'started' | 'finished') =>
        this.emit({
          type: 'step',
          incident,
          view: (await this.plans.get(incident.id, data.version))!,
          stepId: step.id,
          what,
        });
      await render('started');
      const result = await runStep(view.plan, step, {
        plans: this.plans,
        kube: this.opts.clients(cluster.name),
        cluster,
        nodeScripts: nodeScriptRunner(
          this.opts.clients,
          this.opts.nodeActions,
          cluster.name,
          this.shutdown.signal,
        ),
        backups: this.opts.backups,
        now: this.now,
        signal: this.shutdown.signal,
        ...(this.opts.verifyIntervalMs !== undefined && { verifyIntervalMs: this.opts.verifyIntervalMs }),
        onProgress: () => render('started'),
      });
      if (this.shutdown.signal.aborted) throw new Error('shutting down: the step resumes in another process');
      await this.plans.moveStep(incident.id, data.version, step.id, ['running'], result.state, {
        finishedAt: this.now(),
      });
      await this.audit(incident.id, 'bot', 'step', result.state, {
        step: step.index,
        action: step.action,
        version: data.version,
        outcomes: Object.fromEntries(
          Object.entries(result.outcomes).map(([n, o]) => [
            n === CLUSTER_TARGET ? 'cluster' : n,
            `${o.state}: ${o.lines.slice(0, 3).join(' | ')}`,
          ]),
        ),
      });
      await render('finished');
    } finally {
      await held.release();
    }
    await this.advance(incident.id, data.version);
  }

  // --- paging ----------------------------------------------------------------------------------

  private async pageTargets(notify: NotifyTargets): Promise<PageTargets | undefined> {
    const groups = notify.groups.length ? await this.opts.directory.groupIds(notify.groups) : [];
    const targets = { users: [...notify.users], groups, here: notify.here };
    return targets.users.length || targets.groups.length || targets.here ? targets : undefined;
  }

  private async scheduleEscalation(incident: Incident, cluster: ClusterConfig, level: number): Promise<void> {
    const entry = cluster.paging.escalation[level];
    if (!entry) return;
    const previous = level === 0 ? 0 : cluster.paging.escalation[level - 1].afterMinutes;
    const data: EscalateJob = { incidentId: incident.id, level, round: incident.reopenCount };
    logger.debug('escalation scheduled', { incident: incident.id, level, afterMinutes: entry.afterMinutes });
    await this.queue.add('escalate', data, {
      jobId: jobIds.escalate(data),
      delay: Math.round((entry.afterMinutes - previous) * 60_000),
    });
  }

  private async escalate(data: EscalateJob): Promise<void> {
    const incident = await this.opts.store.get(data.incidentId);
    logger.debug('escalation due', {
      incident: data.incidentId,
      level: data.level,
      state: incident?.state,
      ack: incident?.extras.ack,
    });
    if (!incident || isTerminalState(incident.state) || incident.extras.ack) return;
    if (incident.reopenCount !== data.round) return;
    const cluster = this.cluster(incident.cluster);
    const entry = cluster?.paging.escalation[data.level];
    if (!cluster || !entry) return;
    const targets = await this.pageTargets(entry.notify ?? cluster.paging.notify);
    if (targets) {
      const reason = `not acknowledged ${entry.afterMinutes} minute${entry.afterMinutes === 1 ? '' : 's'} after it opened`;
      await this.emit({ type: 'page', incident, level: data.level + 1, targets, reason });
      await this.audit(incident.id, 'bot', 'page', 'sent', {
        level: data.level + 1,
        users: targets.users,
        groups: targets.groups,
        here: targets.here,
      });
    }
    await this.scheduleEscalation(incident, cluster, data.level + 1);
  }

  // --- crash recovery --------------------------------------------------------------------------

  /**
   * Repairs what a crash left half done (it never re-decides what already happened): an open incident whose
   * diagnosis never started, a diagnosis whose flow was never added, a finished diagnosis whose settle job
   * was lost, and plans whose next step was approved but not queued.
   */
  async reconcile(): Promise<void> {
    const grace = 20_000;
    const incidents = await this.opts.store.list({ state: 'active', limit: 500 });
    for (const incident of incidents) {
      if (!this.cluster(incident.cluster)) continue;
      try {
        const run = incident.extras.diagnosisRun as DiagnosisRun | undefined;
        if (incident.state === 'open' && !run && this.now() - Date.parse(incident.updatedAt) > grace) {
          await this.beginDiagnosis(incident, {
            purpose: 'incident',
            by: 'bot',
            from: ['open'],
            reason: 'recovered: the diagnosis never started',
          });
        } else if (
          (incident.state === 'diagnosing' || incident.state === 'verifying') &&
          run &&
          this.now() - Date.parse(run.at) > grace
        ) {
          const result = await this.opts.diagnosis.getResult(run.id);
          if (result) {
            // The diagnosis finished: settle from its stored result now, whatever its settle job's state. An
            // 'active' settle job may already be past its look at the incident (it ran while the incident was
            // elsewhere, or its process died mid-way and its lock has not expired yet), so waiting for it can
            // leave the incident diagnosing until a later sweep. Settling twice is safe: only one of the two wins
            // the compare-and-set on the state (offerPlan/resolve use claimMove), and the renders are upserts.
            await this.settleFrom(
              {
                diagnosisId: run.id,
                purpose: run.purpose as 'incident' | 'verification',
                cluster: incident.cluster,
                incidentId: incident.id,
              },
              result,
            );
          } else if (!(await this.queue.getJob(jobIds.settle(run.id)))) {
            await this.startFlow(incident, run);
          }
        } else if (incident.state === 'awaiting-approval' || incident.state === 'remediating') {
          const version = Number(incident.extras.planVersion);
          if (version > 0) await this.advance(incident.id, version);
        }
      } catch (err) {
        this.ignoreRace(err);
      }
    }
  }

  // --- plumbing --------------------------------------------------------------------------------

  private async process(job: Job, token: string | undefined): Promise<void> {
    switch (job.name) {
      case 'settle':
        return this.settle(job);
      case 'run-step':
        return this.runStepJob(job, token);
      case 'confirm':
        return this.confirm(confirmJobSchema.parse(job.data));
      case 'escalate':
        return this.escalate(escalateJobSchema.parse(job.data));
      default:
        logger.warn('unknown lifecycle job', { name: job.name });
    }
  }

  /** Compare-and-set transition; undefined when someone else moved the incident first (not an error). */
  private async moveIncident(
    incident: Incident,
    to: IncidentState,
    from: IncidentState[],
    actor: string,
    reason: string,
    extras?: Record<string, unknown>,
  ): Promise<Incident | undefined> {
    if (incident.state === to && from.includes(to) && !extras) return incident;
    let actual: IncidentState | undefined;
    const moved = await this.claimMove(
      incident,
      to,
      from,
      actor,
      reason,
      extras,
      (state) => (actual = state),
    );
    if (moved) return moved;
    // Someone else already moved it where we wanted it: the incident as it is now.
    return actual === to ? this.opts.store.get(incident.id) : undefined;
  }

  /**
   * Like moveIncident, but undefined unless THIS call made the change: for a settle that the settle job and the
   * recovery sweep may both run, so only the one that moved the incident on audits and posts what follows.
   */
  private async claimMove(
    incident: Incident,
    to: IncidentState,
    from: IncidentState[],
    actor: string,
    reason: string,
    extras?: Record<string, unknown>,
    onConflict?: (actual: IncidentState) => void,
  ): Promise<Incident | undefined> {
    try {
      return await this.opts.store.transition(incident.id, to, {
        actor,
        reason,
        expectState: from,
        ...(extras && { extras }),
      });
    } catch (err) {
      if (err instanceof IncidentStateConflictError) {
        onConflict?.(err.actual);
        return undefined;
      }
      if (err instanceof IllegalTransitionError) return undefined;
      throw err;
    }
  }

  /**
   * The incident as its root shows it, with what is next and whom it pages. Every render carries the page
   * (computed from the configuration, cached), so whichever render is posted first notifies them.
   */
  private async emitIncident(
    incident: Incident,
    change: Extract<LifecycleEvent, { type: 'incident' }>['change'],
    view?: PlanView,
  ): Promise<void> {
    const version = Number(incident.extras.planVersion ?? 0);
    const plan =
      view ??
      (version > 0 && !isTerminalState(incident.state)
        ? await this.plans.get(incident.id, version)
        : undefined);
    const cluster = this.cluster(incident.cluster);
    const page = cluster ? await this.pageTargets(cluster.paging.notify).catch(() => undefined) : undefined;
    await this.emit({
      type: 'incident',
      incident,
      change,
      ...(page && { page }),
      next: describeNext(incident, plan, this.now()),
      needsPerson: needsPerson(incident, plan, this.now()),
    });
  }

  private async emit(event: LifecycleEvent): Promise<void> {
    for (const sink of this.sinks) {
      try {
        await sink.handle(event);
      } catch (err) {
        logger.warn('lifecycle sink failed', { sink: sink.name, event: event.type, err });
      }
    }
  }

  private async audit(
    incidentId: string,
    actor: string,
    action: string,
    outcome: string,
    details: Record<string, unknown>,
  ): Promise<void> {
    await this.opts.store.audit(incidentId, { actor, action, outcome, details }).catch((err) => {
      if (!(err instanceof IncidentNotFoundError)) logger.warn('audit failed', { incident: incidentId, err });
    });
  }

  private async rateLimit(cluster: ClusterConfig, user: string): Promise<Outcome | undefined> {
    const userWait = await this.limiter.take(`user:${user}`, cluster.limits.diagnosesPerUserPerMinute);
    if (userWait > 0) {
      return refuse({
        code: 'rate-limited',
        scope: 'user',
        cluster: cluster.name,
        retryAfterSeconds: Math.ceil(userWait / 1000),
        limit: cluster.limits.diagnosesPerUserPerMinute,
      });
    }
    const clusterWait = await this.limiter.take(
      `cluster:${cluster.name}`,
      cluster.limits.diagnosesPerClusterPerMinute,
    );
    if (clusterWait > 0) {
      return refuse({
        code: 'rate-limited',
        scope: 'cluster',
        cluster: cluster.name,
        retryAfterSeconds: Math.ceil(clusterWait / 1000),
        limit: cluster.limits.diagnosesPerClusterPerMinute,
      });
    }
    return undefined;
  }

  /** Lost compare-and-set races are expected between replicas and clicks: not errors. */
  private ignoreRace(err: unknown): void {
    if (err instanceof IncidentStateConflictError || err instanceof IllegalTransitionError) return;
    logger.warn('lifecycle step failed', { err });
  }

  private cluster(name: string): ClusterConfig | undefined {
    return this.opts.clusters.find((c) => c.name === name);
  }

  private clusterNames(): string[] {
    return this.opts.clusters.map((c) => c.name);
  }

  private runbook(id: string): Runbook | undefined {
    return this.opts.runbooks.find((r) => r.id === id);
  }
}
