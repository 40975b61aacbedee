/**
 * Incident threads: turns detection (IncidentEvent) and diagnosis (progress / done) into outbox writes.
 *
 * Per incident: one root message in the cluster's channel (keyed `inc-<id>-root`, so however many replicas
 * and updates, the outbox posts it once and then edits it), and per diagnosis two thread replies: the checks
 * message that updates as checks finish, then the verdict + plan. On-demand `/flannel diagnose` reports get
 * a root of their own in the channel where they were asked. Where a diagnosis renders is stored in Redis, so
 * any replica that receives its events renders it the same way.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ClusterConfig } from '../config/clusters.js';
import type { Diagnosis, DiagnosisProgress } from '../diagnosis/types.js';
import { IncidentStateConflictError, IllegalTransitionError } from '../incidents/errors.js';
import type { IncidentStore } from '../incidents/store.js';
import type { Incident } from '../incidents/types.js';
import type { Runbook } from '../runbooks/load.js';
import { log } from '../util/log.js';
import type { IncidentEvent } from '../watch/cluster-watcher.js';
import type { SlackOutbox } from './outbox.js';
import {
  renderDiagnosisChecks,
  renderDiagnosisFailed,
  renderDiagnosisProgress,
  renderVerdict,
} from './render/diagnosis.js';
import { renderDiagnoseRequest, renderIncidentRoot } from './render/incident.js';

const logger = log.child({ module: 'incident-thread' });

/** What this layer needs from DiagnosisService (src/diagnosis/service.ts). */
export interface DiagnosisStarter {
  start(req: {
    cluster: string;
    incidentId?: string;
    nodes?: string[];
    requestedBy?: string;
    requestKey?: string;
  }): Promise<{ id: string }>;
  on(event: 'progress', fn: (p: DiagnosisProgress) => void): unknown;
  on(event: 'done', fn: (d: Diagnosis) => void): unknown;
  getProgress?(id: string): Promise<DiagnosisProgress | undefined>;
}

/** Where a diagnosis renders. */
interface DiagnosisTarget {
  cluster: string;
  channel: string;
  /** The thread's root message key. */
  threadKey: string;
  incidentId?: string;
  /** On-demand reports: the report root to update when done. */
  report?: { key: string; requestedBy: string; node?: string };
}

/** What a "Re-run diagnosis" button's opaque id stands for. */
interface RerunButton {
  kind: 'rerun';
  cluster: string;
  channel: string;
  threadKey: string;
  incidentId?: string;
  node?: string;
}

export interface IncidentThreadsOptions {
  outbox: SlackOutbox;
  store: IncidentStore;
  diagnosis: DiagnosisStarter;
  /** Connection for the layer's own keys (targets, buttons). */
  redis: Redis;
  prefix: string;
  clusters: readonly ClusterConfig[];
  runbooks: readonly Runbook[];
}

const TTL_SECONDS = 7 * 86_400;
const PHASE_RANK: Record<DiagnosisProgress['phase'], number> = {
  queued: 0,
  probing: 1,
  checking: 2,
  verdict: 3,
  done: 4,
  failed: 4,
};

export const incidentRootKey = (incidentId: string) => `inc-${incidentId}-root`;
export const reportRootKey = (diagnosisId: string) => `report-${diagnosisId}-root`;
const checksKey = (diagnosisId: string) => `diag-${diagnosisId}-checks`;
const verdictKey = (diagnosisId: string) => `diag-${diagnosisId}-verdict`;

export type RerunResult = { ok: true; diagnosisId: string } | { ok: false; message: string };

export class IncidentThreads {
  /** Results that arrived before this process knew where to render them (start() races its own events). */
  private readonly recentDone = new Map<string, Diagnosis>();

  constructor(private readonly opts: IncidentThreadsOptions) {}

  /** Subscribes to the diagnosis service's events. */
  attach(): void {
    this.opts.diagnosis.on(
      'progress',
      (p) => void this.onProgress(p).catch((err) => this.fail('progress', err)),
    );
    this.opts.diagnosis.on('done', (d) => void this.onDone(d).catch((err) => this.fail('done', err)));
  }

  /** Called by the outbox worker once a keyed message got its ts: records an incident's thread once. */
  async onPosted(key: string, where: { channel: string; ts: string }): Promise<void> {
    const match = /^inc-(.+)-root$/.exec(key);
    if (match) await this.opts.store.setExtraIfAbsent(match[1], 'slack', where).catch(() => false);
  }

  /** WatchService.onIncident: render the root; a newly opened (or re-opened) incident starts its diagnosis. */
  async onIncident(e: IncidentEvent): Promise<void> {
    const cluster = this.cluster(e.cluster);
    if (!cluster) return;
    let incident = e.incident;
    await this.renderRoot(incident, cluster.channel);
    if (e.event === 'resolved' || incident.state !== 'open') return;
    try {
      incident = await this.opts.store.transition(incident.id, 'diagnosing', {
        actor: 'bot',
        reason: 'incident opened: diagnosing',
        expectState: 'open',
      });
    } catch (err) {
      // Another replica (or an earlier event) already moved it on: it owns the diagnosis.
      if (err instanceof IncidentStateConflictError || err instanceof IllegalTransitionError) return;
      throw err;
    }
    await this.renderRoot(incident, cluster.channel);
    await this.startDiagnosis(
      {
        cluster: cluster.name,
        incidentId: incident.id,
        requestKey: `${incident.id}-r${incident.reopenCount}`,
      },
      {
        cluster: cluster.name,
        channel: cluster.channel,
        threadKey: incidentRootKey(incident.id),
        incidentId: incident.id,
      },
    );
  }

  /** `/flannel diagnose CLUSTER [NODE]`: a report root in `channel`, the diagnosis in its thread. */
  async requestDiagnosis(req: {
    cluster: string;
    node?: string;
    requestedBy: string;
    channel: string;
    requestKey?: string;
  }): Promise<{ id: string }> {
    const { id } = await this.opts.diagnosis.start({
      cluster: req.cluster,
      ...(req.node && { nodes: [req.node] }),
      requestedBy: req.requestedBy,
      ...(req.requestKey && { requestKey: req.requestKey }),
    });
    const key = reportRootKey(id);
    await this.opts.outbox.upsert(key, {
      channel: req.channel,
      seq: 0,
      ...renderDiagnoseRequest({
        cluster: req.cluster,
        requestedBy: req.requestedBy,
        node: req.node,
        state: 'running',
      }),
    });
    await this.track(id, {
      cluster: req.cluster,
      channel: req.channel,
      threadKey: key,
      report: { key, requestedBy: req.requestedBy, ...(req.node && { node: req.node }) },
    });
    return { id };
  }

  /** The "Re-run diagnosis" button: a new diagnosis in the same thread. */
  async rerun(buttonId: string, user: string): Promise<RerunResult> {
    const raw = /^[a-z0-9]{8,64}$/.test(buttonId)
      ? await this.opts.redis.get(this.buttonKey(buttonId))
      : null;
    if (!raw)
      return { ok: false, message: 'This button has expired. Run `/flannel diagnose CLUSTER` instead.' };
    const button = JSON.parse(raw) as RerunButton;
    if (!this.cluster(button.cluster)) {
      return { ok: false, message: `Cluster "${button.cluster}" is no longer configured.` };
    }
    if (button.incidentId) {
      // A plan on the table is replaced by the new diagnosis; other states just get a fresh report.
      await this.opts.store
        .transition(button.incidentId, 'diagnosing', {
          actor: user,
          reason: 're-run diagnosis',
          expectState: 'awaiting-approval',
        })
        .then((incident) => this.renderRoot(incident, button.channel))
        .catch(() => undefined);
    }
    // Clicks within the same half minute are one request (double clicks, Slack retries).
    const window = Math.floor(Date.now() / 30_000);
    const { id } = await this.startDiagnosis(
      {
        cluster: button.cluster,
        ...(button.incidentId && { incidentId: button.incidentId }),
        ...(button.node && { nodes: [button.node] }),
        requestedBy: user,
        requestKey: `rerun-${buttonId}-${window}`,
      },
      {
        cluster: button.cluster,
        channel: button.channel,
        threadKey: button.threadKey,
        ...(button.incidentId && { incidentId: button.incidentId }),
      },
    );
    return { ok: true, diagnosisId: id };
  }

  // --- diagnosis events --------------------------------------------------------------------------

  async onProgress(p: DiagnosisProgress): Promise<void> {
    const target = await this.target(p.id, p.cluster, p.incidentId);
    if (!target) return;
    const finished = p.checks.filter((c) => c.state !== 'pending' && c.state !== 'running').length;
    await this.opts.outbox.upsert(checksKey(p.id), {
      channel: target.channel,
      thread: { key: target.threadKey },
      seq: PHASE_RANK[p.phase] * 100_000 + finished,
      ...renderDiagnosisProgress(p),
    });
    if (p.phase === 'failed') {
      const rerunId = await this.rerunButton(p.id, target);
      await this.opts.outbox.upsert(verdictKey(p.id), {
        channel: target.channel,
        thread: { key: target.threadKey },
        final: true,
        after: checksKey(p.id),
        ...renderDiagnosisFailed(p.cluster, 'the diagnosis job failed (see the bot logs)', rerunId),
      });
      if (target.report) await this.renderReport(target, 'failed');
    }
  }

  async onDone(d: Diagnosis): Promise<void> {
    const target = await this.target(d.id, d.cluster, d.incidentId);
    if (!target) {
      this.remember(d);
      return;
    }
    const rerunId = await this.rerunButton(d.id, target);
    await this.opts.outbox.upsert(checksKey(d.id), {
      channel: target.channel,
      thread: { key: target.threadKey },
      final: true,
      ...renderDiagnosisChecks(d),
    });
    await this.opts.outbox.upsert(verdictKey(d.id), {
      channel: target.channel,
      thread: { key: target.threadKey },
      final: true,
      after: checksKey(d.id),
      ...renderVerdict(d, { rerunId }),
    });
    if (target.report) await this.renderReport(target, 'done', d.healthy);
    if (target.incidentId) await this.settleIncident(target, d);
  }

  // --- internals ---------------------------------------------------------------------------------

  private async settleIncident(target: DiagnosisTarget, d: Diagnosis): Promise<void> {
    const to = d.healthy ? 'resolved' : 'awaiting-approval';
    try {
      const incident = await this.opts.store.transition(target.incidentId!, to, {
        actor: 'bot',
        reason: d.healthy
          ? 'diagnosis found no problem'
          : `diagnosis: ${d.causes[0]?.id ?? 'problems found'}`,
        expectState: 'diagnosing',
        details: { diagnosis: d.id, causes: d.causes.map((c) => c.id), steps: d.plan.length },
      });
      await this.renderRoot(incident, target.channel);
    } catch (err) {
      // Another replica settled it, or it moved on meanwhile: nothing to do.
      if (err instanceof IncidentStateConflictError || err instanceof IllegalTransitionError) return;
      throw err;
    }
  }

  private async startDiagnosis(
    req: Parameters<DiagnosisStarter['start']>[0],
    target: DiagnosisTarget,
  ): Promise<{ id: string }> {
    let id: string;
    try {
      ({ id } = await this.opts.diagnosis.start(req));
    } catch (err) {
      // Say so in the thread (with a way to try again) rather than leaving the incident silent.
      const reason = (err as Error)?.message ?? String(err);
      const pseudo = `failed-${randomBytes(6).toString('hex')}`;
      const rerunId = await this.rerunButton(pseudo, target);
      await this.opts.outbox.upsert(verdictKey(pseudo), {
        channel: target.channel,
        thread: { key: target.threadKey },
        final: true,
        ...renderDiagnosisFailed(target.cluster, reason, rerunId),
      });
      throw err;
    }
    await this.track(id, target);
    return { id };
  }

  /** Records where diagnosis `id` renders, then renders what already happened (its events may have raced us). */
  private async track(id: string, target: DiagnosisTarget): Promise<void> {
    await this.opts.redis.set(this.targetKey(id), JSON.stringify(target), 'EX', TTL_SECONDS);
    const done = this.recentDone.get(id);
    if (done) {
      this.recentDone.delete(id);
      await this.onDone(done);
      return;
    }
    const progress = await this.opts.diagnosis.getProgress?.(id).catch(() => undefined);
    if (progress) await this.onProgress(progress);
  }

  private async target(
    id: string,
    cluster: string,
    incidentId?: string,
  ): Promise<DiagnosisTarget | undefined> {
    const raw = await this.opts.redis.get(this.targetKey(id));
    if (raw) return JSON.parse(raw) as DiagnosisTarget;
    // Started by another process (e.g. `flannel-ops diagnose` for an incident): render in the incident's thread.
    const config = this.cluster(cluster);
    if (incidentId && config) {
      return { cluster, channel: config.channel, threadKey: incidentRootKey(incidentId), incidentId };
    }
    return undefined;
  }

  private async rerunButton(diagnosisId: string, target: DiagnosisTarget): Promise<string> {
    // One opaque id per diagnosis, whichever replica renders it first.
    const slot = `${this.opts.prefix}:slack:diag:${diagnosisId}:rerun`;
    const candidate = randomBytes(12).toString('hex');
    await this.opts.redis.set(slot, candidate, 'EX', TTL_SECONDS, 'NX');
    const id = (await this.opts.redis.get(slot)) ?? candidate;
    const button: RerunButton = {
      kind: 'rerun',
      cluster: target.cluster,
      channel: target.channel,
      threadKey: target.threadKey,
      ...(target.incidentId && { incidentId: target.incidentId }),
      ...(target.report?.node && { node: target.report.node }),
    };
    await this.opts.redis.set(this.buttonKey(id), JSON.stringify(button), 'EX', TTL_SECONDS);
    return id;
  }

  private async renderRoot(incident: Incident, channel: string): Promise<void> {
    const runbookTitle = this.opts.runbooks.find((r) => r.id === incident.runbookId)?.title;
    await this.opts.outbox.upsert(incidentRootKey(incident.id), {
      channel,
      seq: incident.version,
      ...renderIncidentRoot({ incident, runbookTitle }),
    });
  }

  private async renderReport(
    target: DiagnosisTarget,
    state: 'done' | 'failed',
    healthy?: boolean,
  ): Promise<void> {
    const report = target.report!;
    await this.opts.outbox.upsert(report.key, {
      channel: target.channel,
      final: true,
      ...renderDiagnoseRequest({
        cluster: target.cluster,
        requestedBy: report.requestedBy,
        node: report.node,
        state,
        healthy,
      }),
    });
  }

  private remember(d: Diagnosis): void {
    this.recentDone.set(d.id, d);
    if (this.recentDone.size > 100) this.recentDone.delete(this.recentDone.keys().next().value as string);
  }

  private cluster(name: string): ClusterConfig | undefined {
    return this.opts.clusters.find((c) => c.name === name);
  }

  private targetKey(id: string): string {
    return `${this.opts.prefix}:slack:diag:${id}`;
  }

  private buttonKey(id: string): string {
    return `${this.opts.prefix}:slack:button:${id}`;
  }

  private fail(what: string, err: unknown): void {
    logger.warn(`rendering diagnosis ${what} failed`, { err });
  }
}
