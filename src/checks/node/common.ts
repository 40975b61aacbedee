/**
 * What every node check shares: gathering the probe report of each node plus the few API facts the
 * checks compare it with (podCIDR, pods bound to the node, whether Flannel runs), and merging the
 * per-node outcomes into one CheckResult whose evidence names the node.
 */
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { ProbeReport } from '../probe/schema.js';
import type { CheckId } from '../catalog.js';
import type { CheckContext, CheckDefinition, CheckResult, CheckStatus, Finding } from '../types.js';
import { isIpv6 } from '../../util/ipv4.js';

export const FLANNEL_LABEL = 'app=flannel';

export interface PodOnNode {
  namespace: string;
  name: string;
  phase?: string;
  /** status.podIPs (or status.podIP): the IPs the API says this pod uses. */
  ips: string[];
  terminating: boolean;
}

export interface FlannelPodOnNode {
  namespace: string;
  name: string;
  phase?: string;
  ready: boolean;
}

export type NodeProbe = { ok: true; report: ProbeReport } | { ok: false; error: string };

export interface NodeFacts {
  node: string;
  probe: NodeProbe;
  /** False when the API has no such Node. */
  nodeFound: boolean;
  /** The node's IPv4 spec.podCIDR(s). */
  podCIDR?: string;
  /** status.allocatable.pods */
  maxPods?: number;
  /** flannel.alpha.coreos.com/backend-type */
  backendType?: string;
  /** Non-hostNetwork pods bound to the node (only when the check asked for them). */
  pods?: PodOnNode[];
  /** The Flannel pod bound to the node, null when there is none (only when asked). */
  flannelPod?: FlannelPodOnNode | null;
}

export interface NodeCheckFacts {
  nodes: NodeFacts[];
  /** A DaemonSet labelled app=flannel exists in some namespace (undefined: not asked). */
  flannelDeployed?: boolean;
  /** Every node's InternalIP and podCIDRs (only when asked): the routes a host-gw node needs. */
  peers?: Array<{ name: string; internalIP?: string; podCIDRs: string[] }>;
}

export interface GatherOptions {
  pods?: boolean;
  flannel?: boolean;
  peers?: boolean;
}

/** The nodes to check: the ones asked for, else every node that was probed. */
export function nodesToCheck(ctx: CheckContext): string[] {
  return [...new Set(ctx.nodes ?? [...(ctx.probes?.keys() ?? [])])];
}

export async function gatherNodeFacts(ctx: CheckContext, opts: GatherOptions = {}): Promise<NodeCheckFacts> {
  const names = nodesToCheck(ctx);
  const { core, apps } = ctx.kube;
  const flannelDeployed = opts.flannel
    ? (await apps.listDaemonSetForAllNamespaces({ labelSelector: FLANNEL_LABEL })).items.length > 0
    : undefined;
  const nodes = await Promise.all(
    names.map(async (node): Promise<NodeFacts> => {
      const probeResult = ctx.probes?.get(node);
      const probe: NodeProbe = !probeResult
        ? { ok: false, error: 'no probe result for this node' }
        : probeResult.ok
          ? { ok: true, report: probeResult.report }
          : { ok: false, error: probeResult.error };
      const apiNode = await readNodeOrUndefined(ctx, node);
      const facts: NodeFacts = { node, probe, nodeFound: apiNode !== undefined, ...describeNode(apiNode) };
      if (opts.pods || opts.flannel) {
        const pods = (await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` })).items;
        if (opts.pods) facts.pods = pods.filter((p) => !p.spec?.hostNetwork).map(describePod);
        if (opts.flannel) facts.flannelPod = findFlannelPod(pods);
      }
      return facts;
    }),
  );
  const peers = opts.peers
    ? (await core.listNode()).items.map((n) => {
        const internalIP = n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
        return {
          name: n.metadata?.name ?? '',
          ...(internalIP ? { internalIP } : {}),
          podCIDRs: n.spec?.podCIDRs ?? (n.spec?.podCIDR ? [n.spec.podCIDR] : []),
        };
      })
    : undefined;
  return {
    nodes,
    ...(flannelDeployed === undefined ? {} : { flannelDeployed }),
    ...(peers ? { peers } : {}),
  };
}

async function readNodeOrUndefined(ctx: CheckContext, name: string): Promise<V1Node | undefined> {
  try {
    return await ctx.kube.core.readNode({ name });
  } catch (err) {
    if ((err as { code?: unknown }).code === 404) return undefined;
    throw err;
  }
}

function describeNode(node: V1Node | undefined): Pick<NodeFacts, 'podCIDR' | 'maxPods' | 'backendType'> {
  if (!node) return {};
  const cidrs = [node.spec?.podCIDR, ...(node.spec?.podCIDRs ?? [])].filter((c): c is string => !!c);
  const podCIDR = cidrs.find((c) => !isIpv6(c));
  const pods = Number(node.status?.allocatable?.pods);
  const backendType = node.metadata?.annotations?.['flannel.alpha.coreos.com/backend-type'];
  return {
    ...(podCIDR ? { podCIDR } : {}),
    ...(Number.isFinite(pods) && pods > 0 ? { maxPods: pods } : {}),
    ...(backendType ? { backendType } : {}),
  };
}

function describePod(pod: V1Pod): PodOnNode {
  const ips = new Set<string>();
  for (const entry of pod.status?.podIPs ?? []) if (entry.ip) ips.add(entry.ip);
  if (pod.status?.podIP) ips.add(pod.status.podIP);
  return {
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    ...(pod.status?.phase ? { phase: pod.status.phase } : {}),
    ips: [...ips],
    terminating: !!pod.metadata?.deletionTimestamp,
  };
}

function findFlannelPod(pods: V1Pod[]): FlannelPodOnNode | null {
  const pod = pods.find((p) => p.metadata?.labels?.app === 'flannel');
  if (!pod) return null;
  return {
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    ...(pod.status?.phase ? { phase: pod.status.phase } : {}),
    ready: pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
  };
}

/** One node's part of a check result; evidence lines are written without the node name. */
export interface NodeOutcome {
  status: CheckStatus;
  summary: string;
  evidence?: string[];
  /** Findings for this node (nodes and evidence are filled in by the merge). */
  findings?: Array<Omit<Finding, 'nodes'>>;
  /** Facts for this node; merged as { key: { node: value } }. */
  facts?: Record<string, unknown>;
}

/** A node whose probe produced a report. */
export type ProbedNode = NodeFacts & { probe: { ok: true; report: ProbeReport } };

export type NodeEvaluator = (
  node: ProbedNode,
  params: Record<string, unknown>,
  all: NodeCheckFacts,
) => NodeOutcome;

/** Runs `evaluateNode` on every node whose probe worked; a failed probe makes that node 'error'. */
export function evaluatePerNode(
  facts: NodeCheckFacts,
  params: Record<string, unknown>,
  evaluateNode: NodeEvaluator,
): Omit<CheckResult, 'id' | 'durationMs'> {
  if (facts.nodes.length === 0) {
    return { status: 'skipped', summary: 'no node was probed', evidence: [], findings: [] };
  }
  const outcomes = facts.nodes.map((nf) => ({
    node: nf.node,
    outcome: nf.probe.ok
      ? evaluateNode(nf as ProbedNode, params, facts)
      : ({ status: 'error', summary: `probe failed: ${nf.probe.error}` } satisfies NodeOutcome),
  }));
  return mergeNodeOutcomes(outcomes);
}

/** A node check: gathers what it `needs` besides the probe reports and runs `evaluateNode` per node. */
export function nodeCheck(def: {
  id: CheckId;
  title: string;
  needs: GatherOptions;
  evaluateNode: NodeEvaluator;
}): CheckDefinition<NodeCheckFacts> {
  return {
    id: def.id,
    scope: 'node',
    title: def.title,
    gather: (ctx) => gatherNodeFacts(ctx, def.needs),
    evaluate: (facts, params) => evaluatePerNode(facts, params, def.evaluateNode),
  };
}

const STATUS_RANK: Record<CheckStatus, number> = { skipped: 0, ok: 1, warn: 2, error: 3, fail: 4 };

export function mergeNodeOutcomes(
  outcomes: Array<{ node: string; outcome: NodeOutcome }>,
): Omit<CheckResult, 'id' | 'durationMs'> {
  let status: CheckStatus = 'skipped';
  for (const { outcome } of outcomes)
    if (STATUS_RANK[outcome.status] > STATUS_RANK[status]) status = outcome.status;
  const notable = outcomes.filter((o) => o.outcome.status !== 'ok' && o.outcome.status !== 'skipped');
  const summary =
    notable.length === 0
      ? outcomes.length === 1
        ? `${outcomes[0].node}: ${outcomes[0].outcome.summary}`
        : `ok on ${outcomes.length} nodes`
      : notable.map((o) => `${o.node}: ${o.outcome.summary}`).join('; ');
  const evidence: string[] = [];
  const findings: Finding[] = [];
  const facts: Record<string, Record<string, unknown>> = {};
  for (const { node, outcome } of outcomes) {
    const lines = outcome.evidence ?? [];
    evidence.push(...(lines.length ? lines : [outcome.summary]).map((l) => `${node}: ${l}`));
    // One finding per node and cause: the verdict needs per-node confidence (ipam-leak vs ipam-exhausted).
    for (const f of outcome.findings ?? []) {
      findings.push({ ...f, nodes: [node], evidence: f.evidence.map((l) => `${node}: ${l}`) });
    }
    for (const [key, value] of Object.entries(outcome.facts ?? {})) (facts[key] ??= {})[node] = value;
  }
  return { status, summary, evidence, findings, ...(Object.keys(facts).length ? { facts } : {}) };
}

/** The conflist a Flannel setup uses: the first loadable config whose chain runs the flannel plugin. */
export function flannelConfig(report: ProbeReport) {
  return report.cniConfigs.find((c) => c.loadable && c.plugins.some((p) => p.type === 'flannel'));
}

/** host-local's directory name: the Flannel conflist `name` (never hardcoded, go-cni#60), cbr0 by default. */
export function ipamNetworkName(report: ProbeReport): string {
  return flannelConfig(report)?.name ?? 'cbr0';
}

export function stringList(value: unknown, fallback: readonly string[]): string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string')
    ? (value as string[])
    : [...fallback];
}
