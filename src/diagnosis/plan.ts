/**
 * The remediation plan: the runbook's steps whose `when.causes` name a cause of the verdict, in runbook order.
 * A node-scoped action is ONE step over every node it applies to (people approve "Restart kubelet on cp-1,
 * worker-1, worker-2" once, and follow progress per node), and only on the nodes where it can help the cause
 * (remediations/applicability.ts). Pure. Causes below the threshold (or explained by a stronger one) get no
 * steps: fixing a consequence hides the cause.
 */
import type { CauseId } from '../checks/causes.js';
import { actionHelps } from '../remediations/applicability.js';
import { ACTION_IDS } from '../remediations/catalog.js';
import type { RemediationStep, Runbook } from '../runbooks/schema.js';
import type { PlanStep, RankedCause } from './types.js';
import { CAUSE_THRESHOLD } from './verdict.js';

export interface PlanOptions {
  /** The diagnosis' affected nodes: node steps for a cluster-wide cause (no nodes of its own) run on these. */
  nodes?: readonly string[];
  /** Causes below this confidence get no steps (default CAUSE_THRESHOLD). */
  minConfidence?: number;
}

export function planRemediation(
  runbook: Pick<Runbook, 'remediation'>,
  causes: readonly RankedCause[],
  opts: PlanOptions = {},
): PlanStep[] {
  const min = opts.minConfidence ?? CAUSE_THRESHOLD;
  const actionable = causes.filter((c) => c.confidence >= min);
  const plan: PlanStep[] = [];
  for (const step of runbook.remediation) {
    const matched = actionable.filter((c) => step.when.causes.includes(c.id));
    if (matched.length === 0) continue;
    const info = ACTION_IDS[step.action];
    const byNode = new Map<string, RankedCause[]>();
    for (const cause of matched) {
      for (const node of causeNodes(cause, opts)) {
        if (!actionHelps(step.action, cause, node, actionable)) continue;
        byNode.set(node, [...(byNode.get(node) ?? []), cause]);
      }
    }
    const nodes = [...byNode.keys()].sort();
    if (info.scope === 'node') {
      if (nodes.length === 0) continue;
      const helped = matched.filter((c) => nodes.some((n) => byNode.get(n)?.includes(c)));
      plan.push(buildStep(step, helped, nodes, byNode));
      continue;
    }
    const helped = matched.filter((c) => actionHelps(step.action, c));
    if (helped.length === 0) continue;
    plan.push(buildStep(step, helped, nodes, byNode));
  }
  return plan;
}

/**
 * The nodes where the cause is confirmed (a step is offered only there); a cluster-wide cause (no nodes)
 * concerns every affected node.
 */
function causeNodes(cause: RankedCause, opts: PlanOptions): string[] {
  if (cause.nodes.length === 0) return [...(opts.nodes ?? [])];
  return [...new Set(cause.confirmedNodes ?? cause.nodes)];
}

/**
 * A tie never leads to a high-risk step: steps of high risk that act for a tied cause are taken out of the
 * plan (the verdict says what would tell the causes apart; a re-run after that gets the full plan).
 */
export function holdBackForTie(
  plan: readonly PlanStep[],
  tied: readonly CauseId[],
): { plan: PlanStep[]; heldBack: PlanStep[] } {
  const held = (s: PlanStep) => s.risk === 'high' && s.causes.some((c) => tied.includes(c));
  return { plan: plan.filter((s) => !held(s)), heldBack: plan.filter(held) };
}

function buildStep(
  step: RemediationStep,
  causes: RankedCause[],
  nodes: string[],
  byNode: Map<string, RankedCause[]>,
): PlanStep {
  const info = ACTION_IDS[step.action];
  const fromCauses = clusterParams(causes);
  // A node step gets each node's own data in nodeParams; the per-node records need not be repeated.
  if (info.scope === 'node')
    for (const [k, v] of Object.entries(fromCauses)) if (isRecord(v)) delete fromCauses[k];
  const params: Record<string, unknown> = { ...(step.params ?? {}), ...fromCauses };
  if (nodes.length) params.nodes = nodes;
  const nodeParams: Record<string, Record<string, unknown>> = {};
  if (info.scope === 'node') {
    for (const node of nodes) {
      const own = perNodeParams(byNode.get(node) ?? [], node);
      if (Object.keys(own).length) nodeParams[node] = own;
    }
  }
  return {
    step: step.id,
    action: step.action,
    risk: step.risk,
    title: step.title,
    ...(info.scope === 'node' || nodes.length ? { nodes } : {}),
    ...(nodes.length === 1 ? { node: nodes[0] } : {}),
    reportOnly: info.reportOnly,
    ...(step.approvals !== undefined ? { approvalsRequired: step.approvals } : {}),
    ...(Object.keys(params).length ? { params } : {}),
    ...(Object.keys(nodeParams).length ? { nodeParams } : {}),
    causes: causes.map((c) => c.id),
  };
}

/** The causes' data as it is (per-node records included), for cluster-scoped actions and reports. */
function clusterParams(causes: RankedCause[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const cause of causes) {
    for (const [key, value] of Object.entries(cause.data ?? {})) {
      if (key === 'explainedBy' || key in out) continue;
      out[key] = value;
    }
  }
  return out;
}

/** For a node: each per-node datum of its causes ({ leakedIps: { node: [...] } } -> { leakedIps: [...] }). */
function perNodeParams(causes: RankedCause[], node: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const cause of causes) {
    for (const [key, value] of Object.entries(cause.data ?? {})) {
      if (key === 'explainedBy' || key in out) continue;
      if (isRecord(value) && node in value) out[key] = value[node];
    }
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The causes a plan's steps address (for "what would tell them apart" and summaries). */
export function plannedCauses(plan: readonly PlanStep[]): CauseId[] {
  return [...new Set(plan.flatMap((s) => s.causes))];
}
