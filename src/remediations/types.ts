/**
 * The one interface every remediation action implements (one module per action in ./actions/):
 *
 *   preview  → what exactly will change (objects, pod names, IPs, the shell commands and where they run),
 *              shown to people before anyone approves; also says when the step cannot run (blockers)
 *   execute  → does it; idempotent (running it twice changes nothing more), re-checks what it acts on
 *   verify   → whether the effect is in place (polled by the executor until it is, or a deadline)
 *
 * Node-scoped actions are called once per node (`ctx.node`); cluster-scoped ones once. Decisions that need no
 * I/O (which causes an action helps, wording) are pure functions next to them, unit-tested on their own.
 */
import type { KubeClients } from '../kube/clients.js';
import type { ActionId } from './catalog.js';

export interface Preview {
  /** One line a person reads first, e.g. "Install Flannel v0.28.9 (suits Kubernetes v1.33.4)". */
  headline: string;
  /** What will change, exactly: objects, pods, IPs, diffs. */
  lines: string[];
  /** Shell commands a privileged pod runs on the node (node actions), or kubectl equivalents. */
  commands?: string[];
  /** How the commands run: API calls (shown as kubectl), or a host script in a privileged pod on the node. */
  via?: 'api' | 'node-pod';
  /** Why the step cannot run as planned (it is then not offered for approval). */
  blockers?: string[];
  /** What execute acts on, bound to the approved plan version (e.g. the exact pod names or IPs). */
  data?: Record<string, unknown>;
}

export interface ExecResult {
  /** done: it changed what it had to; noop: nothing was left to change; failed: it could not. */
  outcome: 'done' | 'noop' | 'failed';
  lines: string[];
}

export interface VerifyResult {
  ok: boolean;
  lines: string[];
}

/** Runs a host script on a node in a short-lived privileged pod (remediations/node-pod.ts). */
export interface NodeScriptRunner {
  run(req: { node: string; action: ActionId; runId: string; hostScript: string }): Promise<NodeScriptResult>;
  /**
   * The run an earlier process started for this node and action and did not see finish (it died): waits for
   * that pod and reads its output. Undefined when no such pod is left (never created, or already gone).
   */
  attach(req: { node: string; action: ActionId; runId: string }): Promise<NodeScriptResult | undefined>;
}

export interface NodeScriptResult {
  ok: boolean;
  /** The script's stdout (result lines). */
  output: string;
  error?: string;
  pod?: string;
}

/** Where copies of Flannel's objects are kept before a change (remediations/backups.ts). */
export interface BackupSink {
  save(cluster: string, reason: string, objects: readonly object[]): Promise<string>;
}

export interface ActionContext {
  cluster: string;
  kube: KubeClients;
  /** The node of a node-scoped action. */
  node?: string;
  /** The step's parameters: runbook params, the verdict's data for this node, and the preview's data. */
  params: Record<string, unknown>;
  /** The cluster's limits from clusters.yaml (remediation.*). */
  limits: { maxPodDeletes: number };
  nodeScripts: NodeScriptRunner;
  backups: BackupSink;
  /** A label-safe id of this execution (pods it creates carry it). */
  runId: string;
  signal?: AbortSignal;
}

export interface ConditionResult {
  holds: boolean;
  /** Why, for the thread ("worker-1 still reports: cni plugin not initialized"). */
  why: string;
}

export interface RemediationAction {
  id: ActionId;
  scope: 'cluster' | 'node';
  /**
   * A conditional step runs on a node only where its symptom is still there once the earlier steps ran
   * (re-evaluated right before executing). `describe` is shown in the plan.
   */
  condition?: {
    describe: string;
    /** Node-scoped actions: does the symptom still hold on ctx.node? (Cluster actions re-check inside execute.) */
    check?(ctx: ActionContext): Promise<ConditionResult>;
  };
  preview(ctx: ActionContext): Promise<Preview>;
  execute(ctx: ActionContext, preview: Preview): Promise<ExecResult>;
  /**
   * After a crash mid-step: the outcome of the execution an earlier process started, without running it
   * again (node actions read the pod that is still there). Undefined when nothing can be learnt; verify()
   * then says what is in place.
   */
  resume?(ctx: ActionContext, preview: Preview): Promise<ExecResult | undefined>;
  /** `result` is what execute() returned in this run (absent when resuming after a crash). */
  verify(ctx: ActionContext, preview: Preview, result?: ExecResult): Promise<VerifyResult>;
  /** How long verify() is polled before the step counts as failed (default 60 s). */
  verifyTimeoutMs?: number;
}
