/**
 * Runs one approved step: per node (or once for a cluster action), claim the execution record, check the
 * step's condition, execute, then poll verify until the effect is there. A node whose record says an earlier
 * run started but never finished (the bot died mid-step) is NOT run again: its effect is verified and
 * reported as interrupted. So a step is never run twice, whatever crashes.
 */
import type { ClusterConfig } from '../config/clusters.js';
import type { KubeClients } from '../kube/clients.js';
import { sleep } from '../kube/pod-run.js';
import { labelSafe } from '../remediations/node-pod.js';
import { getAction } from '../remediations/registry.js';
import type { ActionContext, BackupSink, NodeScriptRunner, Preview } from '../remediations/types.js';
import type { PlanStore } from './plan-store.js';
import type { IncidentPlan, NodeOutcome, PlannedStep } from './types.js';

export const CLUSTER_TARGET = '*';

export interface StepRunDeps {
  plans: PlanStore;
  kube: KubeClients;
  cluster: ClusterConfig;
  nodeScripts: NodeScriptRunner;
  backups: BackupSink;
  now(): number;
  /** Called after each node's outcome is recorded (rendering progress). */
  onProgress?(): Promise<void>;
  signal?: AbortSignal;
  /** Poll interval of verify() (default 2 s). */
  verifyIntervalMs?: number;
}

export interface StepRunResult {
  state: 'done' | 'failed' | 'skipped';
  outcomes: Record<string, NodeOutcome>;
}

export async function runStep(
  plan: IncidentPlan,
  step: PlannedStep,
  deps: StepRunDeps,
): Promise<StepRunResult> {
  const action = getAction(step.action);
  const targets = action.scope === 'node' ? (step.nodes ?? []) : [CLUSTER_TARGET];
  const outcomes: Record<string, NodeOutcome> = {};
  for (const target of targets) {
    const node = target === CLUSTER_TARGET ? undefined : target;
    const preview: Preview = (node ? step.nodePreviews?.[node] : step.clusterPreview) ?? {
      headline: '',
      lines: [],
    };
    const ctx: ActionContext = {
      cluster: deps.cluster.name,
      kube: deps.kube,
      ...(node && { node }),
      params: {
        ...(step.params ?? {}),
        ...(node ? (step.nodeParams?.[node] ?? {}) : {}),
        ...(preview.data ?? {}),
      },
      limits: { maxPodDeletes: deps.cluster.remediation.maxPodDeletes },
      nodeScripts: deps.nodeScripts,
      backups: deps.backups,
      runId: labelSafe(`${plan.incidentId}-v${plan.version}-${step.id}`),
      ...(deps.signal && { signal: deps.signal }),
    };
    const outcome = await runTarget(plan, step, target, ctx, preview, deps);
    outcomes[target] = outcome;
    await deps.onProgress?.();
  }
  const states = Object.values(outcomes).map((o) => o.state);
  const state = states.some((s) => s === 'failed')
    ? 'failed'
    : states.length > 0 && states.every((s) => s === 'skipped')
      ? 'skipped'
      : 'done';
  return { state, outcomes };
}

async function runTarget(
  plan: IncidentPlan,
  step: PlannedStep,
  target: string,
  ctx: ActionContext,
  preview: Preview,
  deps: StepRunDeps,
): Promise<NodeOutcome> {
  const action = getAction(step.action);
  const claim = await deps.plans.claimExecution(plan.incidentId, plan.version, step.id, target, deps.now());
  if (!claim.claimed) {
    if (claim.existing.status === 'finished') return claim.existing.outcome;
    // An earlier run started this and died: never run it again. Learn its outcome where that is possible
    // (a node action's pod is still there), wait for its effect as a run would, and say what is in place.
    const resumed = await action.resume?.(ctx, preview).catch(() => undefined);
    const check =
      resumed?.outcome === 'failed'
        ? { ok: false, lines: [] }
        : await pollVerify(
            () => action.verify(ctx, preview, resumed),
            action.verifyTimeoutMs ?? 60_000,
            deps,
          );
    const outcome: NodeOutcome = {
      state: check.ok ? 'interrupted' : 'failed',
      lines: [
        'interrupted: the bot stopped while this ran; it was not run again',
        ...(resumed ? resumed.lines : []),
        check.ok
          ? 'its effect is in place'
          : 'its effect is not (all) in place: the verification will show what is left',
        ...check.lines,
      ].map((l) => (ctx.node ? `${ctx.node}: ${l}` : l)),
    };
    await deps.plans.finishExecution(plan.incidentId, plan.version, step.id, target, outcome);
    return outcome;
  }
  const where = ctx.node ? `${ctx.node}: ` : '';
  if (action.condition?.check && ctx.node) {
    const condition = await action.condition
      .check(ctx)
      .catch((err: Error) => ({ holds: true, why: err.message }));
    if (!condition.holds) {
      const outcome: NodeOutcome = { state: 'skipped', lines: [`not needed: ${condition.why}`] };
      await deps.plans.finishExecution(plan.incidentId, plan.version, step.id, target, outcome);
      return outcome;
    }
  }
  await deps.plans.recordNode(plan.incidentId, plan.version, step.id, target, {
    state: 'running',
    lines: [],
  });
  await deps.onProgress?.();
  let outcome: NodeOutcome;
  try {
    const result = await action.execute(ctx, preview);
    if (result.outcome === 'failed') {
      outcome = { state: 'failed', lines: result.lines.map((l) => where + l) };
    } else {
      const check = await pollVerify(
        () => action.verify(ctx, preview, result),
        action.verifyTimeoutMs ?? 60_000,
        deps,
      );
      outcome = check.ok
        ? { state: result.outcome, lines: [...result.lines, ...check.lines].map((l) => where + l) }
        : {
            state: 'failed',
            lines: [...result.lines, 'its effect did not show in time:', ...check.lines].map(
              (l) => where + l,
            ),
          };
    }
  } catch (err) {
    outcome = { state: 'failed', lines: [`${where}${(err as Error)?.message ?? String(err)}`] };
  }
  await deps.plans.finishExecution(plan.incidentId, plan.version, step.id, target, outcome);
  return outcome;
}

async function pollVerify(
  verify: () => Promise<{ ok: boolean; lines: string[] }>,
  timeoutMs: number,
  deps: StepRunDeps,
): Promise<{ ok: boolean; lines: string[] }> {
  const deadline = deps.now() + timeoutMs;
  let last = { ok: false, lines: ['not verified'] };
  for (;;) {
    try {
      last = await verify();
    } catch (err) {
      last = { ok: false, lines: [(err as Error)?.message ?? String(err)] };
    }
    if (last.ok || deps.now() >= deadline || deps.signal?.aborted) return last;
    await sleep(deps.verifyIntervalMs ?? 2000, deps.signal);
  }
}
