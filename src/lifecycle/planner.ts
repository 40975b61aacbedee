/**
 * Turns a diagnosis into the plan people approve: each runbook step of the verdict previewed by its action
 * (per node for node actions; nodes with a blocker left out, and said so), with the approvals it needs. It
 * changes nothing in the cluster; the coordinator stores the plan and offers it.
 */
import type { ClusterConfig } from '../config/clusters.js';
import type { Diagnosis, PlanStep } from '../diagnosis/types.js';
import type { KubeClients } from '../kube/clients.js';
import { getAction } from '../remediations/registry.js';
import type { ActionContext, BackupSink, Preview } from '../remediations/types.js';
import { requiredApprovals } from './policy.js';
import type { IncidentPlan, PlannedStep } from './types.js';

export interface PlanInput {
  incidentId: string;
  cluster: ClusterConfig;
  diagnosis: Diagnosis;
  version: number;
  /** Who asked for the diagnosis (not for detection's own): the two-person rule applies to them. */
  requestedBy?: string;
  kube: KubeClients;
  backups: BackupSink;
  nowMs: number;
}

export async function buildPlan(input: PlanInput): Promise<IncidentPlan> {
  const { cluster, diagnosis: d } = input;
  const steps: PlannedStep[] = [];
  const notOffered: IncidentPlan['notOffered'] = [];
  for (const step of d.plan) {
    const prepared = await prepareStep(input, step, steps.length + 1).catch((err: Error) => ({
      notOffered: `could not prepare it: ${err?.message ?? String(err)}`,
    }));
    if ('notOffered' in prepared)
      notOffered.push({ step: step.step, title: step.title, reason: prepared.notOffered });
    else steps.push(prepared);
  }
  return {
    incidentId: input.incidentId,
    cluster: cluster.name,
    version: input.version,
    diagnosisId: d.id,
    createdAt: new Date(input.nowMs).toISOString(),
    expiresAt: new Date(input.nowMs + cluster.approvals.planTtlMinutes * 60_000).toISOString(),
    ...(input.requestedBy && { requestedBy: input.requestedBy }),
    approvers: {
      users: [...cluster.approvals.approvers.users],
      groups: [...cluster.approvals.approvers.groups],
    },
    headline: d.causes[0]?.title ?? 'Problems found',
    causes: d.causes.slice(0, 5).map((c) => ({ id: c.id, title: c.title, confidence: c.confidence })),
    steps,
    notOffered,
  };
}

async function prepareStep(
  input: PlanInput,
  step: PlanStep,
  index: number,
): Promise<PlannedStep | { notOffered: string }> {
  const { cluster } = input;
  const action = getAction(step.action);
  const ctxFor = (node?: string): ActionContext => ({
    cluster: cluster.name,
    kube: input.kube,
    ...(node && { node }),
    params: { ...(step.params ?? {}), ...(node ? (step.nodeParams?.[node] ?? {}) : {}) },
    limits: { maxPodDeletes: cluster.remediation.maxPodDeletes },
    // A preview looks; it never runs anything on a node.
    nodeScripts: {
      run: async () => ({ ok: false, output: '', error: 'previews run nothing' }),
      attach: async () => undefined,
    },
    backups: input.backups,
    runId: 'preview',
  });
  const base = {
    ...step,
    id: step.step,
    index,
    required: requiredApprovals(step, cluster.approvals),
    ...(action.condition && { condition: action.condition.describe }),
  };
  if (action.scope === 'cluster') {
    const preview = await action.preview(ctxFor());
    if (preview.blockers?.length) return { notOffered: preview.blockers.join('; ') };
    return { ...base, preview: shown(preview), clusterPreview: preview };
  }
  const nodePreviews: Record<string, Preview> = {};
  const blocked: string[] = [];
  for (const node of step.nodes ?? []) {
    const preview = await action.preview(ctxFor(node));
    if (preview.blockers?.length) blocked.push(...preview.blockers);
    else nodePreviews[node] = preview;
  }
  const nodes = Object.keys(nodePreviews);
  if (nodes.length === 0) return { notOffered: blocked.join('; ') || 'no node to act on' };
  const first = nodePreviews[nodes[0]];
  const { node: _node, ...rest } = base;
  return {
    ...rest,
    nodes,
    ...(nodes.length === 1 && { node: nodes[0] }),
    preview: {
      headline: nodes.length === 1 ? first.headline : `${step.title} — on ${nodes.join(', ')}`,
      lines: [...nodes.flatMap((n) => nodePreviews[n].lines), ...blocked.map((b) => `left out: ${b}`)],
      commands: [...new Set(nodes.flatMap((n) => nodePreviews[n].commands ?? []))],
      ...(first.via && { via: first.via }),
    },
    nodePreviews,
  };
}

/** What people see of a preview (the data execute acts on stays in clusterPreview / nodePreviews). */
function shown(preview: Preview): PlannedStep['preview'] {
  return {
    headline: preview.headline,
    lines: preview.lines,
    ...(preview.commands && { commands: preview.commands }),
    ...(preview.via && { via: preview.via }),
  };
}
