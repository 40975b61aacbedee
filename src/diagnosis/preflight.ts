/**
 * Preflight: the seed's post-install check ("the init script skipped Flannel's manifest") for init scripts and
 * CI. It is a diagnosis through the same queue and checks as `flannel-ops diagnose`, probing the affected nodes
 * plus a spread sample of working ones (so the CNI config and plugins are seen on more than one node), read as a
 * checklist of readiness requirements. Choosing the nodes and judging readiness are pure; running it is
 * runPreflight().
 */
import type { CheckId } from '../checks/catalog.js';
import type { CheckStatus } from '../checks/types.js';
import type { KubeClients } from '../kube/clients.js';
import { UserError } from '../util/errors.js';
import { terminalLine } from '../util/sanitize.js';
import {
  DEFAULT_MAX_PROBED_NODES,
  gatherAffectedNodeFacts,
  pickAffectedNodes,
  type AffectedNodeFacts,
} from './affected-nodes.js';
import type { DiagnosisDocument } from './assemble.js';
import { describeCheckFailure } from './run-check.js';
import type { DiagnosisService } from './service.js';

export const DEFAULT_PREFLIGHT_SAMPLE = 3;

/** What "Flannel is ready" means, each requirement read from the checks that establish it. */
export const PREFLIGHT_REQUIREMENTS: ReadonlyArray<{ id: string; title: string; checks: CheckId[] }> = [
  {
    id: 'flannel-deployed',
    title: 'Flannel deployed: DaemonSet, kube-flannel-cfg and RBAC, a version that suits the cluster',
    checks: ['flannel-daemonset', 'flannel-configmap', 'flannel-rbac', 'version-compat'],
  },
  {
    id: 'flannel-ready',
    title: 'Flannel running and ready on every node that needs it',
    checks: ['flannel-daemonset', 'flannel-pods', 'node-conditions', 'node-annotations'],
  },
  {
    id: 'pod-network',
    title: 'Every node has a podCIDR inside the Flannel Network; pod IPs come from it; no other CNI',
    checks: ['node-podcidrs', 'pod-ips', 'other-cnis'],
  },
  {
    id: 'node-cni',
    title: 'CNI config, plugins, cni0/flannel.1 and subnet.env in place on the probed nodes',
    checks: ['node-cni-config', 'node-cni-plugins', 'node-devices', 'node-subnet-env'],
  },
  {
    id: 'pods-start',
    title: 'Pods get their network: none stuck, no leaked IPs or network namespaces',
    checks: ['stuck-pods', 'node-ipam', 'node-netns'],
  },
];

export type RequirementStatus = 'ok' | 'warn' | 'fail' | 'unknown' | 'skipped';
export type PreflightVerdict = 'ready' | 'not-ready' | 'unknown';

export interface PreflightReport {
  cluster: string;
  verdict: PreflightVerdict;
  /** 0 ready, 1 not ready, 2 could not tell. */
  exitCode: 0 | 1 | 2;
  diagnosisId: string;
  nodesProbed: string[];
  requirements: Array<{
    id: string;
    title: string;
    status: RequirementStatus;
    checks: Array<{ id: CheckId; status: CheckStatus; summary: string }>;
  }>;
  /** Root causes the diagnosis named, ranked. */
  causes: Array<{ id: string; summary: string; nodes: string[] }>;
}

/**
 * Pure. The affected nodes first (as a diagnosis would pick them), then up to `sample` working nodes of a
 * Flannel DaemonSet install spread over the sorted node list. Embedded Flannel (k3s/RKE2) keeps its CNI files
 * where the probe does not read: no sample there.
 */
export function pickPreflightNodes(
  facts: AffectedNodeFacts,
  opts: { sample?: number; max?: number } = {},
): { nodes: string[]; notProbed: string[] } {
  const max = opts.max ?? DEFAULT_MAX_PROBED_NODES;
  const sample = Math.max(0, opts.sample ?? DEFAULT_PREFLIGHT_SAMPLE);
  const affected = pickAffectedNodes(facts, { max, sample: false });
  const chosen = new Set(affected.nodes);
  if (facts.flannelDeployed && sample > 0) {
    const working = facts.nodes
      .filter((n) => n.ready !== false && n.flannelReady === true && !chosen.has(n.name))
      .map((n) => n.name)
      .sort();
    const room = Math.min(sample, working.length, Math.max(0, max - chosen.size));
    for (let i = 0; i < room; i++) chosen.add(working[Math.floor((i * working.length) / room)]);
  }
  return { nodes: [...chosen], notProbed: affected.notProbed };
}

const SEVERITY: Record<RequirementStatus, number> = { skipped: 0, ok: 1, warn: 2, unknown: 3, fail: 4 };

function requirementStatus(statuses: readonly CheckStatus[]): RequirementStatus {
  let worst: RequirementStatus = 'skipped';
  for (const s of statuses) {
    const r: RequirementStatus = s === 'error' ? 'unknown' : s;
    if (SEVERITY[r] > SEVERITY[worst]) worst = r;
  }
  return worst;
}

/**
 * Pure. Ready when the diagnosis is healthy (nothing found, nothing left unchecked); not ready when it names a
 * cause or a check failed; could not tell otherwise (a check or probe that could not run).
 */
export function judgePreflight(d: DiagnosisDocument): PreflightReport {
  const requirements = PREFLIGHT_REQUIREMENTS.map((req) => {
    const checks = d.checks
      .filter((c) => req.checks.includes(c.id))
      .map((c) => ({ id: c.id, status: c.status, summary: c.summary }));
    return {
      id: req.id,
      title: req.title,
      status: requirementStatus(checks.map((c) => c.status)),
      checks,
    };
  });
  const failed = d.causes.length > 0 || d.checks.some((c) => c.status === 'fail');
  const verdict: PreflightVerdict = d.healthy ? 'ready' : failed ? 'not-ready' : 'unknown';
  return {
    cluster: d.cluster,
    verdict,
    exitCode: verdict === 'ready' ? 0 : verdict === 'not-ready' ? 1 : 2,
    diagnosisId: d.id,
    nodesProbed: d.nodes,
    requirements,
    causes: d.causes.map((c) => ({ id: c.id, summary: c.summary, nodes: c.nodes })),
  };
}

/** A verdict that could not be reached (cluster unreachable, diagnosis timed out). */
export function unknownPreflight(cluster: string, reason: string): PreflightReport & { reason: string } {
  return {
    cluster,
    verdict: 'unknown',
    exitCode: 2,
    diagnosisId: '',
    nodesProbed: [],
    requirements: [],
    causes: [],
    reason,
  };
}

/** Runs one preflight diagnosis of `cluster` and judges it. */
export async function runPreflight(opts: {
  service: DiagnosisService;
  kube: KubeClients;
  cluster: string;
  sample?: number;
  requestedBy?: string;
  timeoutMs?: number;
  onStarted?(id: string): void;
}): Promise<PreflightReport> {
  let facts: AffectedNodeFacts;
  try {
    facts = await gatherAffectedNodeFacts(opts.kube);
  } catch (err) {
    throw new UserError(
      `could not tell: cluster "${opts.cluster}" is unreachable (${describeCheckFailure(err).reason})`,
      2,
    );
  }
  const { nodes } = pickPreflightNodes(facts, { ...(opts.sample !== undefined && { sample: opts.sample }) });
  const { id } = await opts.service.start({
    cluster: opts.cluster,
    ...(nodes.length ? { nodes } : {}),
    purpose: 'preflight',
    ...(opts.requestedBy && { requestedBy: opts.requestedBy }),
  });
  opts.onStarted?.(id);
  return judgePreflight(await opts.service.result(id, opts.timeoutMs ?? 120_000));
}

/** The report for a terminal; every line is sanitised (summaries and node names come from the cluster). */
export function formatPreflight(r: PreflightReport & { reason?: string }): string {
  const head = {
    ready: `READY: Flannel is deployed and ready on cluster ${r.cluster}`,
    'not-ready': `NOT READY: cluster ${r.cluster} is not ready for pods`,
    unknown: `UNKNOWN: could not tell whether cluster ${r.cluster} is ready`,
  }[r.verdict];
  const lines = [head];
  if (r.reason) lines.push(`  ${r.reason}`);
  for (const req of r.requirements) {
    lines.push(`  ${req.status.toUpperCase().padEnd(7)} ${req.title}`);
    for (const c of req.checks) {
      if (c.status === 'ok' || c.status === 'skipped') continue;
      lines.push(`            ${c.status} ${c.id}: ${c.summary}`);
    }
  }
  if (r.causes.length) {
    lines.push('  Root causes:');
    r.causes.forEach((c, i) =>
      lines.push(
        `    ${i + 1}. ${c.id}: ${c.summary}${c.nodes.length ? ` (nodes: ${c.nodes.join(', ')})` : ''}`,
      ),
    );
    lines.push(`  Details and the fix: flannel-ops diagnose ${r.cluster}`);
  }
  if (r.nodesProbed.length) lines.push(`  Nodes probed: ${r.nodesProbed.join(', ')}`);
  return `${lines.map(terminalLine).join('\n')}\n`;
}
