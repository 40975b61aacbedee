/**
 * stuck-pods: pods waiting in ContainerCreating or stuck Terminating, per node, with their latest
 * sandbox error classified (src/detect/classify.ts). Its facts name the affected nodes the engine
 * probes. Exhaustion is blamed here only when running pods really fill the node's range; otherwise
 * exhaustion errors are a symptom for node-ipam to explain (leaks).
 */
import type { CheckDefinition, Finding } from '../types.js';
import type { KubeClients } from '../../kube/clients.js';
import { classifySandboxMessage, type ErrorClass } from '../../detect/classify.js';
import { parseIpv4Cidr, usablePodIps } from '../../util/ipv4.js';
import { clip, evaluation, gatherNodes, listSome, numberParam, plural, type Evaluation } from './common.js';
import { podKey, summarizePod, type PodSummary } from './summaries.js';

export const DEFAULT_TERMINATING_GRACE_SECONDS = 60;

export interface SandboxEvent {
  reason: string;
  message: string;
  count: number;
  lastSeen?: string;
}

export interface StuckPodCandidate {
  namespace: string;
  name: string;
  node?: string;
  state: 'ContainerCreating' | 'Terminating';
  /** deletionTimestamp for Terminating pods. */
  since?: string;
  owner?: { kind: string; name: string };
  event?: SandboxEvent;
}

export interface StuckPodsFacts {
  /** When the facts were gathered (RFC 3339): Terminating age is measured against it. */
  now: string;
  candidates: StuckPodCandidate[];
  nodes: Array<{ name: string; podCIDR?: string; runningPods: number; allocatablePods?: number }>;
}

export function isContainerCreating(pod: PodSummary): boolean {
  return (
    !pod.deletionTimestamp &&
    pod.phase === 'Pending' &&
    !!pod.node &&
    [...pod.containers, ...pod.initContainers].some((c) => c.reason === 'ContainerCreating')
  );
}

export function evaluateStuckPods(facts: StuckPodsFacts, params: Record<string, unknown> = {}): Evaluation {
  const grace = numberParam(params, 'terminatingGraceSeconds', DEFAULT_TERMINATING_GRACE_SECONDS);
  const now = Date.parse(facts.now);
  const stuck = facts.candidates
    .filter((p) => p.state === 'ContainerCreating' || (p.since && now - Date.parse(p.since) > grace * 1000))
    .sort(
      (a, b) =>
        (a.node ?? '').localeCompare(b.node ?? '') ||
        a.namespace.localeCompare(b.namespace) ||
        a.name.localeCompare(b.name),
    );

  const podsPerNode: Record<string, string[]> = {};
  const errorClasses: Record<string, Partial<Record<ErrorClass | 'no-event', number>>> = {};
  const controllerOwned: Record<string, string[]> = {};
  const bare: Record<string, string[]> = {};
  const terminating: Record<string, string[]> = {};
  const sample = new Map<string, StuckPodCandidate>();
  for (const p of stuck) {
    const node = p.node ?? '(unscheduled)';
    const key = podKey(p);
    (podsPerNode[node] ??= []).push(key);
    ((p.owner ? controllerOwned : bare)[node] ??= []).push(key);
    if (p.state === 'Terminating') (terminating[node] ??= []).push(key);
    const cls: ErrorClass | 'no-event' = p.event
      ? classifySandboxMessage(p.event.message).errorClass
      : 'no-event';
    const classes = (errorClasses[node] ??= {});
    classes[cls] = (classes[cls] ?? 0) + 1;
    const current = sample.get(`${node} ${cls}`);
    if (p.event && (!current || (current.event && p.event.count > current.event.count)))
      sample.set(`${node} ${cls}`, p);
  }
  const affectedNodes = Object.keys(podsPerNode)
    .filter((n) => n !== '(unscheduled)')
    .sort();

  // Real exhaustion: running (non-hostNetwork) pods fill the host-local range of the node's podCIDR.
  const podCounts: Record<string, { running: number; usable?: number; allocatable?: number }> = {};
  const exhausted: string[] = [];
  const evidence: string[] = [];
  for (const n of facts.nodes) {
    const cidr = n.podCIDR ? parseIpv4Cidr(n.podCIDR) : undefined;
    const usable = cidr ? usablePodIps(cidr.prefix) : undefined;
    podCounts[n.name] = {
      running: n.runningPods,
      ...(usable !== undefined ? { usable } : {}),
      ...(n.allocatablePods !== undefined ? { allocatable: n.allocatablePods } : {}),
    };
    if (usable !== undefined && n.runningPods >= usable && (podsPerNode[n.name]?.length ?? 0) > 0)
      exhausted.push(n.name);
  }

  for (const node of Object.keys(podsPerNode).sort()) {
    const pods = podsPerNode[node];
    const states = terminating[node]?.length
      ? `${pods.length - terminating[node].length} ContainerCreating, ${terminating[node].length} stuck Terminating`
      : `${pods.length} in ContainerCreating`;
    evidence.push(
      `kubectl get pods -A -o wide --field-selector spec.nodeName=${node}: ${states} (${listSome(pods, 4)}); ${plural(controllerOwned[node]?.length ?? 0, 'controller-owned pod')}, ${plural(bare[node]?.length ?? 0, 'bare pod')}`,
    );
    for (const cls of Object.keys(errorClasses[node]).sort()) {
      const p = sample.get(`${node} ${cls}`);
      if (!p?.event) continue;
      evidence.push(
        `kubectl get events -n ${p.namespace} --field-selector involvedObject.name=${p.name}: ${p.event.reason} (${cls}, x${p.event.count}): ${clip(p.event.message, 360)}`,
      );
    }
    const count = podCounts[node];
    if (count && errorClasses[node]['ip-exhausted']) {
      evidence.push(
        `${node}: ${count.running} running non-hostNetwork pods for ${count.usable ?? '?'} usable pod IPs in its podCIDR${count.running < (count.usable ?? 0) ? ' — not real exhaustion (node-ipam compares the reservations with pod IPs)' : ''}`,
      );
    }
  }

  const findings: Finding[] = [];
  if (exhausted.length > 0) {
    const lines = exhausted.map(
      (n) =>
        `kubectl get pods -A -o wide --field-selector spec.nodeName=${n},status.phase=Running: ${podCounts[n].running} non-hostNetwork pods fill the ${podCounts[n].usable} usable IPs of ${facts.nodes.find((x) => x.name === n)?.podCIDR}`,
    );
    findings.push({
      cause: 'ipam-exhausted',
      confidence: 0.85,
      summary: `Running pods fill the pod IP range on ${listSome(exhausted, 3)}`,
      nodes: exhausted,
      evidence: lines,
      data: { podCounts: Object.fromEntries(exhausted.map((n) => [n, podCounts[n]])) },
    });
    evidence.push(...lines);
  }

  const resultFacts = {
    affectedNodes,
    podsPerNode,
    errorClasses,
    controllerOwned,
    bare,
    terminating,
    podCounts,
    stuckCount: stuck.length,
  };
  if (stuck.length === 0)
    return evaluation('ok', 'No pods stuck in ContainerCreating or Terminating', [], [], resultFacts);
  return evaluation(
    exhausted.length > 0 ? 'fail' : 'warn',
    `${plural(stuck.length, 'pod')} stuck on ${plural(affectedNodes.length, 'node')} (${listSome(affectedNodes, 4)})`,
    evidence,
    findings,
    resultFacts,
  );
}

interface EventItem {
  reason?: string;
  message?: string;
  count?: number;
  involvedObject?: { kind?: string; namespace?: string; name?: string };
  lastTimestamp?: Date | string;
  eventTime?: Date | string;
  metadata?: { creationTimestamp?: Date | string };
}

function eventTime(e: EventItem): string | undefined {
  const t = e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp;
  if (t instanceof Date) return t.toISOString();
  return typeof t === 'string' ? t : undefined;
}

/**
 * The latest sandbox event of each pod (`namespace/name`): a sandbox failure says more than "network not
 * ready", so it wins whatever their times; among events of one reason the latest wins (one pass, no sort).
 */
async function latestSandboxEvents(kube: KubeClients): Promise<Map<string, SandboxEvent>> {
  const [sandboxEvents, notReadyEvents] = await Promise.all([
    kube.core.listEventForAllNamespaces({ fieldSelector: 'reason=FailedCreatePodSandBox' }),
    kube.core.listEventForAllNamespaces({ fieldSelector: 'reason=NetworkNotReady' }),
  ]);
  const events = new Map<string, SandboxEvent>();
  for (const list of [notReadyEvents.items as EventItem[], sandboxEvents.items as EventItem[]]) {
    const latest = new Map<string, { at: number; event: SandboxEvent }>();
    for (const e of list) {
      if (e.involvedObject?.kind !== 'Pod' || !e.message) continue;
      const key = `${e.involvedObject.namespace}/${e.involvedObject.name}`;
      const lastSeen = eventTime(e);
      const parsed = lastSeen ? Date.parse(lastSeen) : Number.NaN;
      const at = Number.isNaN(parsed) ? Number.NEGATIVE_INFINITY : parsed;
      const seen = latest.get(key);
      // Equal times: the later in the list wins, as the API lists them in creation order.
      if (seen && at < seen.at) continue;
      latest.set(key, {
        at,
        event: {
          reason: e.reason ?? '',
          message: e.message,
          count: e.count ?? 1,
          ...(lastSeen ? { lastSeen } : {}),
        },
      });
    }
    for (const [key, { event }] of latest) events.set(key, event);
  }
  return events;
}

export const check: CheckDefinition<StuckPodsFacts> = {
  id: 'stuck-pods',
  scope: 'api',
  title: 'Stuck pods',
  async gather(ctx) {
    const now = new Date().toISOString();
    const [podList, nodes] = await Promise.all([
      ctx.kube.core.listPodForAllNamespaces(),
      gatherNodes(ctx.kube),
    ]);
    const pods = podList.items.map(summarizePod);
    const candidates: StuckPodCandidate[] = [];
    const running = new Map<string, number>();
    for (const p of pods) {
      if (p.node && !p.hostNetwork && p.phase === 'Running' && !p.deletionTimestamp)
        running.set(p.node, (running.get(p.node) ?? 0) + 1);
      const state = isContainerCreating(p)
        ? 'ContainerCreating'
        : p.deletionTimestamp && p.node
          ? 'Terminating'
          : undefined;
      if (!state) continue;
      candidates.push({
        namespace: p.namespace,
        name: p.name,
        state,
        ...(p.node ? { node: p.node } : {}),
        ...(p.deletionTimestamp ? { since: p.deletionTimestamp } : {}),
        ...(p.owner ? { owner: p.owner } : {}),
      });
    }
    // Why each stuck pod is stuck: its latest sandbox event. Read only when a pod is stuck: in an event storm
    // the lists are thousands of events (megabytes), of no use when no pod waits.
    if (candidates.length > 0) {
      const events = await latestSandboxEvents(ctx.kube);
      for (const c of candidates) {
        const event = events.get(`${c.namespace}/${c.name}`);
        if (event) c.event = event;
      }
    }
    return {
      now,
      candidates,
      nodes: nodes.map((n) => ({
        name: n.name,
        ...(n.podCIDR ? { podCIDR: n.podCIDR } : {}),
        runningPods: running.get(n.name) ?? 0,
        ...(n.allocatablePods !== undefined ? { allocatablePods: n.allocatablePods } : {}),
      })),
    };
  },
  evaluate: (facts, params) => evaluateStuckPods(facts, params),
};
