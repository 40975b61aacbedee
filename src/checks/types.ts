import type { CheckId } from './catalog.js';
import type { CauseId } from './causes.js';
import type { ProbeResult } from './probe/runner.js';

/** ok: healthy; warn: worth a look, not a cause; fail: a problem (with findings); error: could not run; skipped: not applicable. */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'error' | 'skipped';

/**
 * A root-cause candidate a check found. The verdict merges findings of all checks by `cause`.
 * `evidence` lines are things a person can verify with kubectl or on the node (say which command).
 * Strings may hold text from the cluster: the Slack layer escapes them, checks must not pre-escape.
 */
export interface Finding {
  cause: CauseId;
  /** 0..1: how sure this check is that `cause` explains the failure. */
  confidence: number;
  summary: string;
  nodes: string[];
  evidence: string[];
  /** Machine-readable facts remediations need (e.g. leaked IPs per node: { leakedIps: { node: [ip] } }). */
  data?: Record<string, unknown>;
}

export interface CheckResult {
  id: CheckId;
  status: CheckStatus;
  summary: string;
  evidence: string[];
  findings: Finding[];
  /** Facts later checks, the verdict or remediations reuse (e.g. flannel namespace, backend, MTU). */
  facts?: Record<string, unknown>;
  durationMs?: number;
}

export type { KubeClients } from '../kube/clients.js';
import type { KubeClients } from '../kube/clients.js';

export interface CheckContext {
  cluster: string;
  kube: KubeClients;
  /** Restrict node-level checks (and per-node API findings) to these nodes; undefined = every affected node. */
  nodes?: string[];
  /** Probe results per node (node checks only): gathered once per diagnosis by the probe job. */
  probes?: ReadonlyMap<string, ProbeResult>;
  /** Parameters from the runbook's check entry. */
  params: Record<string, unknown>;
  signal?: AbortSignal;
}

/**
 * One diagnosis check (k8sgpt's analyzer shape): I/O in `gather`, every decision in the pure `evaluate`,
 * so evaluate is unit-tested from plain facts. `run` = evaluate(await gather(ctx)); the engine turns a
 * thrown error into status 'error' with the reason, never losing the rest of the diagnosis.
 */
export interface CheckDefinition<Facts = unknown> {
  id: CheckId;
  scope: 'api' | 'node';
  title: string;
  gather(ctx: CheckContext): Promise<Facts>;
  evaluate(facts: Facts, params: Record<string, unknown>): Omit<CheckResult, 'id' | 'durationMs'>;
}
