/**
 * The Slack sink of the incident lifecycle: renders each lifecycle event into the incident's thread through
 * the outbox. It decides nothing — which state, which plan, who may click — it only says where a message goes
 * and what it looks like. Logical message keys (one Slack message each, edited in place):
 *
 *   inc-<incident>-root              the incident root in the cluster's channel (state, next, verdict, Acknowledge)
 *   diag-<diagnosis>-checks|verdict  a diagnosis in its thread (incident thread, or a report's own root)
 *   plan-<incident>-v<n>             a plan with Approve/Reject per step
 *   step-<incident>-v<n>-<step>      a step's result
 *   verify-<diagnosis>               a verification's result
 *   page-<incident>-r<n>-l<m>        an escalation page
 *   resolved-<incident>-r<n>         the resolution summary
 *   report-<diagnosis>-root          an on-demand report's root (cluster channel, or a DM with its requester)
 */
import type { ClusterConfig } from '../config/clusters.js';
import type { Diagnosis, DiagnosisProgress } from '../diagnosis/types.js';
import type { Incident } from '../incidents/types.js';
import { isTerminalState } from '../incidents/transitions.js';
import type { ButtonTarget } from '../lifecycle/buttons.js';
import type { LifecycleEvent, LifecycleSink, PageTargets, PlanView } from '../lifecycle/types.js';
import type { Runbook } from '../runbooks/schema.js';
import type { SlackOutbox } from './outbox.js';
import {
  renderDiagnosisChecks,
  renderDiagnosisFailed,
  renderDiagnosisProgress,
  renderVerdict,
  hasMoreEvidence,
} from './render/diagnosis.js';
import { renderDiagnoseRequest, renderIncidentRoot } from './render/incident.js';
import {
  renderPage,
  renderPlan,
  renderResolved,
  renderStepResult,
  renderVerification,
  type StepButtons,
} from './render/plan.js';

export const incidentRootKey = (incidentId: string) => `inc-${incidentId}-root`;
export const reportRootKey = (diagnosisId: string) => `report-${diagnosisId}-root`;
const checksKey = (diagnosisId: string) => `diag-${diagnosisId}-checks`;
const verdictKey = (diagnosisId: string) => `diag-${diagnosisId}-verdict`;
const planKey = (incidentId: string, version: number) => `plan-${incidentId}-v${version}`;

const PHASE_RANK: Record<DiagnosisProgress['phase'], number> = {
  queued: 0,
  probing: 1,
  checking: 2,
  verdict: 3,
  done: 4,
  failed: 4,
};

export interface ThreadSinkOptions {
  outbox: SlackOutbox;
  clusters: readonly ClusterConfig[];
  runbooks: readonly Runbook[];
  /** Opaque ids for buttons (the lifecycle keeps what they mean). */
  issueButton(target: ButtonTarget): Promise<string>;
  /** The DM channel with a user, for clusters whose reports go to whoever asked. */
  openDm?(user: string): Promise<string>;
}

interface Where {
  channel: string;
  threadKey: string;
}

export class SlackThreadSink implements LifecycleSink {
  readonly name = 'slack';

  constructor(private readonly opts: ThreadSinkOptions) {}

  async handle(e: LifecycleEvent): Promise<void> {
    switch (e.type) {
      case 'incident':
        return this.root(e.incident, e.next, e.page, e.needsPerson);
      case 'diagnosis-started':
        if (e.purpose !== 'report') return;
        return this.reportRoot(e.cluster, e.diagnosisId, e.requestedBy, e.node, 'running');
      case 'diagnosis-progress':
        return this.progress(e.progress);
      case 'diagnosis-done':
        return this.done(e.diagnosis, e.purpose, e.node);
      case 'diagnosis-failed': {
        const where = await this.where(e.cluster, e.diagnosisId, e.purpose, e.incidentId, e.requestedBy);
        if (!where) return;
        // A scheduled diagnosis posts nothing until it has news: its root comes first, with the news.
        if (e.purpose === 'scheduled')
          await this.reportRoot(e.cluster, e.diagnosisId, undefined, undefined, 'failed', undefined, true);
        const rerunId = await this.rerunButton(e.cluster, e.incidentId);
        await this.opts.outbox.upsert(verdictKey(e.diagnosisId), {
          channel: where.channel,
          thread: { key: where.threadKey },
          final: true,
          after: checksKey(e.diagnosisId),
          ...renderDiagnosisFailed(e.cluster, e.reason, rerunId),
        });
        if (e.purpose === 'report')
          await this.reportRoot(e.cluster, e.diagnosisId, e.requestedBy, undefined, 'failed');
        return;
      }
      case 'plan':
        if (e.superseded) await this.plan(e.incident, e.superseded, false);
        return this.plan(e.incident, e.view, true);
      case 'step': {
        await this.plan(e.incident, e.view, e.incident.extras.planVersion === e.view.plan.version);
        if (e.what !== 'started' && e.what !== 'finished') return;
        const step = e.view.plan.steps.find((s) => s.id === e.stepId);
        const state = e.view.states[e.stepId];
        const channel = this.channelOf(e.incident.cluster);
        if (!step || !state || !channel) return;
        await this.opts.outbox.upsert(`step-${e.incident.id}-v${e.view.plan.version}-${step.id}`, {
          channel,
          thread: { key: incidentRootKey(e.incident.id) },
          after: planKey(e.incident.id, e.view.plan.version),
          ...renderStepResult(e.view.plan, step, state),
        });
        return;
      }
      case 'verification':
        return this.reply(
          e.incident,
          `verify-${e.diagnosisId}`,
          renderVerification(e.outcome, e.lines, e.quietSeconds),
        );
      case 'page':
        return this.reply(
          e.incident,
          `page-${e.incident.id}-r${e.incident.reopenCount}-l${e.level}`,
          renderPage(e.targets, e.level, e.reason, e.incident.id),
        );
      case 'resolved':
        return this.reply(
          e.incident,
          `resolved-${e.incident.id}-r${e.incident.reopenCount}`,
          renderResolved(e.summary),
        );
    }
  }

  private async root(
    incident: Incident,
    next?: string,
    page?: PageTargets,
    needsPerson?: boolean,
  ): Promise<void> {
    const channel = this.channelOf(incident.cluster);
    if (!channel) return;
    const acked = !!(incident.extras.ack as { user?: string } | null | undefined)?.user;
    const ackId =
      acked || isTerminalState(incident.state)
        ? undefined
        : await this.opts.issueButton({ kind: 'ack', incidentId: incident.id });
    await this.opts.outbox.upsert(incidentRootKey(incident.id), {
      channel,
      seq: incident.version,
      ...renderIncidentRoot({
        incident,
        runbookTitle: this.opts.runbooks.find((r) => r.id === incident.runbookId)?.title,
        ...(next && { next }),
        ...(page && { page }),
        ...(ackId && { ackId }),
        ...(needsPerson !== undefined && { needsPerson }),
      }),
    });
  }

  private async plan(incident: Incident, view: PlanView, current: boolean): Promise<void> {
    const channel = this.channelOf(incident.cluster);
    if (!channel) return;
    const buttons: Record<string, StepButtons> = {};
    if (current) {
      for (const step of view.plan.steps) {
        if (view.states[step.id]?.state !== 'awaiting') continue;
        const target = { incidentId: incident.id, version: view.plan.version, stepId: step.id };
        buttons[step.id] = {
          approve: await this.opts.issueButton({ kind: 'approve', ...target }),
          reject: await this.opts.issueButton({ kind: 'reject', ...target }),
        };
      }
    }
    await this.opts.outbox.upsert(planKey(incident.id, view.plan.version), {
      channel,
      thread: { key: incidentRootKey(incident.id) },
      after: verdictKey(view.plan.diagnosisId),
      ...renderPlan(view, buttons, { current }),
    });
  }

  private async progress(p: DiagnosisProgress): Promise<void> {
    const where = await this.where(p.cluster, p.id, p.purpose, p.incidentId, p.requestedBy);
    if (!where) return;
    const finished = p.checks.filter((c) => c.state !== 'pending' && c.state !== 'running').length;
    await this.opts.outbox.upsert(checksKey(p.id), {
      channel: where.channel,
      thread: { key: where.threadKey },
      seq: PHASE_RANK[p.phase] * 100_000 + finished,
      ...renderDiagnosisProgress(p),
    });
  }

  private async done(d: Diagnosis, purpose: string, node?: string): Promise<void> {
    const where = await this.where(d.cluster, d.id, purpose, d.incidentId, d.requestedBy);
    if (!where) return;
    if (purpose === 'scheduled')
      await this.reportRoot(d.cluster, d.id, undefined, undefined, 'done', d.healthy, true);
    await this.opts.outbox.upsert(checksKey(d.id), {
      channel: where.channel,
      thread: { key: where.threadKey },
      final: true,
      ...renderDiagnosisChecks(d),
    });
    // A verification's outcome has a message of its own (and a failed one is followed by the next plan).
    if (purpose === 'verification') return;
    const rerunId = await this.rerunButton(d.cluster, d.incidentId, node);
    const evidenceIds: Record<string, string> = {};
    for (const cause of d.causes.filter(hasMoreEvidence))
      evidenceIds[cause.id] = await this.opts.issueButton({
        kind: 'evidence',
        diagnosisId: d.id,
        cause: cause.id,
      });
    await this.opts.outbox.upsert(verdictKey(d.id), {
      channel: where.channel,
      thread: { key: where.threadKey },
      final: true,
      after: checksKey(d.id),
      ...renderVerdict(d, {
        rerunId,
        listPlan: purpose === 'report' || purpose === 'scheduled',
        evidenceIds,
      }),
    });
    if (purpose === 'report') await this.reportRoot(d.cluster, d.id, d.requestedBy, node, 'done', d.healthy);
  }

  private async reportRoot(
    cluster: string,
    diagnosisId: string,
    requestedBy: string | undefined,
    node: string | undefined,
    state: 'running' | 'done' | 'failed',
    healthy?: boolean,
    scheduled?: boolean,
  ): Promise<void> {
    const channel = await this.reportChannel(cluster, requestedBy);
    if (!channel) return;
    await this.opts.outbox.upsert(reportRootKey(diagnosisId), {
      channel,
      ...(state === 'running' ? { seq: 0 } : { final: true }),
      ...renderDiagnoseRequest({
        cluster,
        requestedBy: requestedBy ?? 'someone',
        node,
        state,
        healthy,
        ...(scheduled && { scheduled }),
      }),
    });
  }

  private async reply(
    incident: Incident,
    key: string,
    message: { text: string; blocks: unknown[] },
  ): Promise<void> {
    const channel = this.channelOf(incident.cluster);
    if (!channel) return;
    await this.opts.outbox.upsert(key, {
      channel,
      thread: { key: incidentRootKey(incident.id) },
      ...(message as { text: string; blocks: never[] }),
    });
  }

  /** Where a diagnosis renders: its incident's thread, or its report's own root. CLI diagnoses: nowhere. */
  private async where(
    cluster: string,
    diagnosisId: string,
    purpose: string | undefined,
    incidentId: string | undefined,
    requestedBy: string | undefined,
  ): Promise<Where | undefined> {
    if (incidentId && (purpose === 'incident' || purpose === 'verification')) {
      const channel = this.channelOf(cluster);
      return channel ? { channel, threadKey: incidentRootKey(incidentId) } : undefined;
    }
    if (purpose !== 'report' && purpose !== 'scheduled') return undefined;
    // A scheduled diagnosis has nobody to DM: it goes to the cluster's channel.
    const channel = await this.reportChannel(cluster, purpose === 'scheduled' ? undefined : requestedBy);
    return channel ? { channel, threadKey: reportRootKey(diagnosisId) } : undefined;
  }

  private async reportChannel(cluster: string, requestedBy: string | undefined): Promise<string | undefined> {
    const config = this.opts.clusters.find((c) => c.name === cluster);
    if (!config) return undefined;
    if (config.reports === 'dm' && requestedBy && this.opts.openDm) return this.opts.openDm(requestedBy);
    return config.channel;
  }

  private rerunButton(cluster: string, incidentId?: string, node?: string): Promise<string> {
    return this.opts.issueButton({
      kind: 'rerun',
      cluster,
      ...(incidentId && { incidentId }),
      ...(node && { node }),
    });
  }

  private channelOf(cluster: string): string | undefined {
    return this.opts.clusters.find((c) => c.name === cluster)?.channel;
  }
}
