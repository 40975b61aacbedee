/**
 * Shared diagnosis types (contract "3/7 Diagnosis engine"): the verdict, the remediation plan and the
 * network report the engine, the CLI (`diagnose --json`) and the Slack layer exchange.
 */
import type { CheckId } from '../checks/catalog.js';
import type { CauseId } from '../checks/causes.js';
import type { CheckResult, CheckStatus } from '../checks/types.js';
import type { ActionId } from '../remediations/catalog.js';

export type { CheckId, CauseId, ActionId, CheckResult, CheckStatus };

export interface RankedCause {
  id: CauseId;
  title: string;
  confidence: number;
  summary: string;
  nodes: string[];
  evidence: string[];
  data?: Record<string, unknown>;
  /** checks that found it */
  checks: CheckId[];
  /**
   * The nodes where the evidence itself confirms the cause (a finding at or above the threshold for that node,
   * or cluster-wide evidence that does). Node steps run only there; absent = every node of the cause.
   */
  confirmedNodes?: string[];
}

/**
 * Causes the evidence cannot rank apart (equal strength, same nodes or cluster-wide): no high-risk step is
 * offered for them, and `tellApart` says what would decide between them.
 */
export interface VerdictTie {
  causes: CauseId[];
  /** One line per cause: the observation that confirms it (a command to run and what it shows). */
  tellApart: string[];
  /** Runbook steps left out of the plan because they are high risk and the causes are tied. */
  heldBack: string[];
}

export interface PlanStep {
  /** runbook step id */
  step: string;
  action: ActionId;
  risk: 'low' | 'medium' | 'high';
  title: string;
  /** The nodes the step acts on (node actions: one step over all of them, progress per node). */
  nodes?: string[];
  /** Set when the step concerns exactly one node. */
  node?: string;
  reportOnly: boolean;
  approvalsRequired?: number;
  /** Runbook parameters and the verdict's cluster-wide data. */
  params?: Record<string, unknown>;
  /** Per node: the verdict's data for that node (e.g. its leaked IPs). */
  nodeParams?: Record<string, Record<string, unknown>>;
  causes: CauseId[];
}

export interface NetworkReport {
  backend?: string;
  mtu?: number;
  vni?: number;
  port?: number;
  warnings: string[];
}

/** What `flannel-ops diagnose --json` prints (SPEC: cluster, healthy, causes, checks, plan). */
export interface Diagnosis {
  id: string;
  cluster: string;
  incidentId?: string;
  runbookId: string;
  requestedBy?: string;
  /** Why it ran (set by whoever started it: 'incident', 'verification', 'report', 'cli'). */
  purpose?: string;
  /** affected nodes probed */
  nodes: string[];
  startedAt: string;
  finishedAt: string;
  healthy: boolean;
  /** ranked first to last */
  causes: RankedCause[];
  /** Set when the first causes tie (see VerdictTie). */
  tie?: VerdictTie;
  checks: Array<CheckResult & { node?: string }>;
  plan: PlanStep[];
  network: NetworkReport;
  flannel?: {
    namespace?: string;
    daemonSet?: string;
    version?: string;
    embedded?: 'k3s' | 'rke2' | 'unknown';
  };
}

export type CheckProgressState = 'pending' | 'running' | CheckStatus;

export interface DiagnosisProgress {
  id: string;
  cluster: string;
  incidentId?: string;
  purpose?: string;
  requestedBy?: string;
  phase: 'queued' | 'probing' | 'checking' | 'verdict' | 'done' | 'failed';
  checks: Array<{ id: CheckId; state: CheckProgressState; summary?: string }>;
  probes: { total: number; done: number; failed: number };
}
