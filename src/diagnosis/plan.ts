/**
 * The remediation plan: the runbook's steps whose `when.causes` name a cause of the verdict, in
 * runbook order, one step per affected node for node-scoped actions. Pure. Causes below the
 * threshold (or explained by a stronger one) get no steps: fixing a consequence hides the cause.
 */
import type { CauseId } from '../checks/causes.js';
import { ACTION_IDS, type ActionId } from '../remediations/catalog.js';
import type { RemediationStep, Runbook } from '../runbooks/schema.js';
import type { PlanStep, RankedCause } from './types.js';
import { CAUSE_THRESHOLD } from './verdict.js';

/** Actions that work on one node (the executor needs `node`); the others act on the cluster. */
export const NODE_SCOPED_ACTIONS: ReadonlySet<ActionId> = new Set<ActionId>([
  'restart-flannel-pod',
  'delete-stuck-pods',
  'release-leaked-ips',
  'remove-leftover-netns',
  'delete-stale-cni0',
  'restart-kubelet',
  'cordon-node',
  'uncordon-node',
]);

export interface PlanOptions {
  /** The diagnosis' affected nodes: node-scoped steps for a cluster-wide cause (no nodes of its own) run on these. */
  nodes?: readonly string[];
  /** Extra nodes per cause (added to the cause's own nodes). */
  nodesByCause?: Partial<Record<CauseId, readonly string[]>>;
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
    if (!NODE_SCOPED_ACTIONS.has(step.action)) {
      plan.push(buildStep(step, matched, undefined));
      continue;
    }
    for (const node of stepNodes(matched, opts)) {
      const onNode = matched.filter(
        (c) => causeNodes(c, opts).length === 0 || causeNodes(c, opts).includes(node),
      );
      plan.push(buildStep(step, onNode, node));
    }
  }
  return plan;
}

function causeNodes(cause: RankedCause, opts: PlanOptions): string[] {
  return [...new Set([...cause.nodes, ...(opts.nodesByCause?.[cause.id] ?? [])])];
}

function stepNodes(matched: RankedCause[], opts: PlanOptions): string[] {
  const nodes = new Set<string>();
  for (const cause of matched) {
    const own = causeNodes(cause, opts);
    for (const n of own.length ? own : (opts.nodes ?? [])) nodes.add(n);
  }
  return [...nodes].sort();
}

function buildStep(step: RemediationStep, causes: RankedCause[], node: string | undefined): PlanStep {
  const params = { ...(step.params ?? {}), ...causeParams(causes, node) };
  return {
    step: step.id,
    action: step.action,
    risk: step.risk,
    title: step.title,
    ...(node ? { node } : {}),
    reportOnly: ACTION_IDS[step.action].reportOnly,
    ...(step.approvals !== undefined ? { approvalsRequired: step.approvals } : {}),
    ...(Object.keys(params).length ? { params } : {}),
    causes: causes.map((c) => c.id),
  };
}

/**
 * What the action needs from the verdict: for a node step, each per-node datum of its causes
 * ({ leakedIps: { node: [...] } } -> { leakedIps: [...] }); for a cluster step, the causes' data
 * as it is plus the nodes concerned.
 */
function causeParams(causes: RankedCause[], node: string | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const cause of causes) {
    for (const [key, value] of Object.entries(cause.data ?? {})) {
      if (key === 'explainedBy' || key in out) continue;
      if (node === undefined) out[key] = value;
      else if (isRecord(value) && node in value) out[key] = value[node];
    }
  }
  if (node === undefined) {
    const nodes = [...new Set(causes.flatMap((c) => c.nodes))].sort();
    if (nodes.length) out.nodes = nodes;
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
