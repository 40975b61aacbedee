/**
 * The incident lifecycle's vocabulary: plans people approve, the state of each step, why a diagnosis runs,
 * and the events the coordinator emits to its sinks (the Slack thread, the CLI printer, the event stream).
 * Sinks render; they never decide.
 */
import type { Diagnosis, DiagnosisProgress, PlanStep } from '../diagnosis/types.js';
import type { Incident } from '../incidents/types.js';
import type { Preview } from '../remediations/types.js';

/** Why a diagnosis runs, and therefore what its result settles. */
export type DiagnosisPurpose = 'incident' | 'verification' | 'report' | 'scheduled';

/** The diagnosis an incident is waiting for (stored on the incident as extra `diagnosisRun`). */
export interface DiagnosisRun {
  id: string;
  purpose: DiagnosisPurpose;
  /** Who started it: a Slack user id, or 'bot' / 'detector'. */
  by: string;
  at: string;
}

export interface PlannedStep extends PlanStep {
  /** Step id, unique in the plan (the runbook step id). */
  id: string;
  /** 1-based position: steps run in this order. */
  index: number;
  /** Distinct approvals needed before it runs (0: report only, nothing to approve). */
  required: number;
  /** A conditional step runs only where its symptom is still there when its turn comes. */
  condition?: string;
  /** What will change, for people (combined over nodes). */
  preview: Pick<Preview, 'headline' | 'lines' | 'commands' | 'via'>;
  /** What each node's execution acts on (node actions), bound to this plan version. */
  nodePreviews?: Record<string, Preview>;
  /** What the cluster execution acts on (cluster actions). */
  clusterPreview?: Preview;
}

export interface IncidentPlan {
  incidentId: string;
  cluster: string;
  version: number;
  diagnosisId: string;
  createdAt: string;
  /** Approvals after this are refused: the plan is stale. */
  expiresAt: string;
  /** Who asked for the diagnosis behind the plan (self-approval of high-risk steps is governed by policy). */
  requestedBy?: string;
  /** Who may approve (clusters.yaml approvals.approvers when the plan was made). */
  approvers: { users: string[]; groups: string[] };
  /** The verdict's headline (top cause) and causes, for the plan message. */
  headline: string;
  causes: Array<{ id: string; title: string; confidence: number }>;
  steps: PlannedStep[];
  /** Runbook steps that matched but are not offered, and why (no node left, blocked, cannot help). */
  notOffered: Array<{ step: string; title: string; reason: string }>;
}

export type StepStatus =
  'awaiting' | 'approved' | 'running' | 'done' | 'failed' | 'rejected' | 'skipped' | 'report';

export interface NodeOutcome {
  state: 'running' | 'done' | 'noop' | 'failed' | 'skipped' | 'interrupted';
  lines: string[];
}

export interface StepState {
  state: StepStatus;
  approvals: Array<{ user: string; at: number }>;
  rejectedBy?: { user: string; at: number };
  startedAt?: number;
  finishedAt?: number;
  /** Per node (node actions) or '*' (cluster actions). */
  nodes: Record<string, NodeOutcome>;
  /** Verification of the step's effect and other notes. */
  lines: string[];
}

export interface PlanView {
  plan: IncidentPlan;
  states: Record<string, StepState>;
}

/** Whom to notify, already resolved to Slack ids (built from configuration only, never from cluster text). */
export interface PageTargets {
  users: string[];
  /** User group ids (S...). */
  groups: string[];
  here: boolean;
}

export interface ResolutionSummary {
  detectToDiagnosedMs?: number;
  diagnosedToFixedMs?: number;
  openToResolvedMs: number;
  approvers: string[];
  stepsRun: number;
  reason: string;
}

export type LifecycleEvent =
  | {
      type: 'incident';
      incident: Incident;
      /** opened/reopened: page people (the root mentions `page`). */
      change: 'opened' | 'reopened' | 'updated' | 'state' | 'acknowledged';
      page?: PageTargets;
      /** What is next, for the root message ("Needs 2 approvals: Install Flannel v0.28.9"). */
      next?: string;
      /** Nothing can be approved and nothing approved is left to run: a person must act by hand. */
      needsPerson?: boolean;
    }
  | {
      type: 'diagnosis-started';
      cluster: string;
      diagnosisId: string;
      purpose: DiagnosisPurpose;
      incidentId?: string;
      requestedBy?: string;
      node?: string;
    }
  | { type: 'diagnosis-progress'; progress: DiagnosisProgress }
  | { type: 'diagnosis-done'; diagnosis: Diagnosis; purpose: DiagnosisPurpose; node?: string }
  | {
      type: 'diagnosis-failed';
      cluster: string;
      diagnosisId: string;
      purpose: DiagnosisPurpose;
      incidentId?: string;
      requestedBy?: string;
      reason: string;
    }
  | { type: 'plan'; incident: Incident; view: PlanView; superseded?: PlanView }
  | {
      type: 'step';
      incident: Incident;
      view: PlanView;
      stepId: string;
      what: 'approval' | 'rejected' | 'started' | 'finished' | 'skipped';
    }
  | {
      type: 'verification';
      incident: Incident;
      diagnosisId: string;
      outcome: 'passed' | 'failed';
      lines: string[];
      quietSeconds?: number;
    }
  | { type: 'page'; incident: Incident; level: number; targets: PageTargets; reason: string }
  | { type: 'resolved'; incident: Incident; summary: ResolutionSummary };

export interface LifecycleSink {
  readonly name: string;
  handle(event: LifecycleEvent): Promise<void>;
}
