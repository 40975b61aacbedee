/**
 * flannel-pods: each Flannel pod's phase, readiness, last termination, init containers, and for failing
 * pods the last lines of the flanneld log (errors F, G, H, I of flannel.md §1.3).
 *
 * A failure is judged by readiness and recent terminations, never by the restart counter: a pod Running and
 * Ready for days whose restarts are old (node reboots, a past crash) is healthy. A pod that is Ready but
 * terminated recently is flapping (a warning); one that is not Ready is failing, and its last termination
 * reason and log say why.
 */
import type { CheckDefinition, Finding } from '../types.js';
import { clip, evaluation, listSome, numberParam, plural, type Evaluation } from './common.js';
import { gatherFlannelDaemonSets, gatherFlannelPods, isNotFound } from './flannel-objects.js';
import { classifyFlanneldLog, type FlanneldError } from './flanneld-log.js';
import { podKey, sortedUnique, type ContainerSummary, type PodSummary } from './summaries.js';

export const DEFAULT_LOG_TAIL_LINES = 20;
export const DEFAULT_MAX_LOG_PODS = 20;
/** A termination within this window counts as recent (a Ready pod that exited this recently is flapping). */
export const DEFAULT_RECENT_MINUTES = 30;

export interface PodLog {
  container: string;
  previous: boolean;
  lines: string[];
}

export interface FlannelPodsFacts {
  pods: PodSummary[];
  /** Tail of the flanneld log per pod (`ns/name`), read only for failing pods. */
  logs: Record<string, PodLog>;
  /** When the facts were gathered (RFC 3339): what "recent" is measured from. */
  now?: string;
}

/** The flanneld container: kube-flannel by name, else the one running the flannel image, else the first. */
export function flanneldContainer(pod: Pick<PodSummary, 'containers'>): ContainerSummary | undefined {
  return (
    pod.containers.find((c) => c.name === 'kube-flannel') ??
    pod.containers.find((c) => /flannel(?::|$)/.test(c.image ?? '') && !/cni-plugin/.test(c.image ?? '')) ??
    pod.containers[0]
  );
}

/** Milliseconds since the flanneld container last terminated, undefined when it never did (or no time). */
export function sinceLastTermination(c: ContainerSummary | undefined, now: number): number | undefined {
  const at = Date.parse(c?.lastTerminated?.finishedAt ?? '');
  return Number.isFinite(at) && Number.isFinite(now) ? Math.max(0, now - at) : undefined;
}

/** Running, Ready, flanneld running and not being deleted. */
export function isServing(pod: PodSummary): boolean {
  const c = flanneldContainer(pod);
  return (
    pod.ready &&
    (pod.phase === undefined || pod.phase === 'Running') &&
    !pod.deletionTimestamp &&
    (c === undefined || c.state === 'running')
  );
}

/** A Flannel pod younger than this that never failed is still starting (image pull, init containers, sandbox). */
export const STARTING_GRACE_MS = 2 * 60_000;
/** Waiting reasons of a container on its way up; any other (CrashLoopBackOff, ErrImagePull...) is a failure. */
const STARTING_REASONS = new Set(['ContainerCreating', 'PodInitializing']);

/**
 * Not ready yet, but nothing failed: created within STARTING_GRACE_MS of `now`, no container restarted or
 * terminated with an error, none waiting for a reason other than being created. Minutes after `kubectl apply`
 * or a node joining, that is a rollout in progress, not a crash loop (so no cause, and no restart offered).
 */
export function isStillStarting(pod: PodSummary, now: number): boolean {
  if (pod.ready || pod.deletionTimestamp) return false;
  const created = Date.parse(pod.createdAt ?? '');
  if (!Number.isFinite(created) || !Number.isFinite(now) || now - created > STARTING_GRACE_MS) return false;
  return [...pod.initContainers, ...pod.containers].every(
    (c) =>
      c.restartCount === 0 &&
      !c.lastTerminated &&
      !(c.state === 'terminated' && c.exitCode !== 0) &&
      !(c.state === 'waiting' && c.reason !== undefined && !STARTING_REASONS.has(c.reason)),
  );
}

/** A termination within the window (a restart without a time counts as recent only when the pod is not serving). */
export function terminatedRecently(pod: PodSummary, now: number, windowMs: number): boolean {
  const c = flanneldContainer(pod);
  if (!c?.lastTerminated) return false;
  const since = sinceLastTermination(c, now);
  return since === undefined ? !isServing(pod) : since <= windowMs;
}

/** Does this pod need its log read (not serving, or it terminated recently)? */
export function needsLog(
  pod: PodSummary,
  now = Date.now(),
  windowMs = DEFAULT_RECENT_MINUTES * 60_000,
): boolean {
  const c = flanneldContainer(pod);
  if (!c) return false;
  return !isServing(pod) || terminatedRecently(pod, now, windowMs);
}

function describeInitProblem(c: ContainerSummary): string | undefined {
  if (c.state === 'terminated' && (c.exitCode ?? 0) !== 0) {
    return `init container ${c.name} failed: ${c.reason ?? 'Error'} (exit code ${c.exitCode})`;
  }
  if (c.state === 'waiting' && c.reason && c.reason !== 'PodInitializing') {
    const last = c.lastTerminated;
    return `init container ${c.name} waiting: ${c.reason}${last ? `, last exit code ${last.exitCode ?? '?'} (${last.reason ?? 'Error'})` : ''}${c.restartCount ? `, ${plural(c.restartCount, 'restart')}` : ''}`;
  }
  return undefined;
}

function describeMainProblem(pod: PodSummary, c: ContainerSummary | undefined): string | undefined {
  if (isServing(pod)) return undefined;
  const parts: string[] = [];
  if (pod.phase && pod.phase !== 'Running') parts.push(`phase ${pod.phase}`);
  if (c) {
    if (c.state === 'waiting' && c.reason) parts.push(`${c.name} waiting: ${c.reason}`);
    if (c.state === 'terminated')
      parts.push(`${c.name} terminated: ${c.reason ?? 'Error'} (exit code ${c.exitCode ?? '?'})`);
    if (c.restartCount > 0) parts.push(plural(c.restartCount, 'restart'));
    if (c.lastTerminated) {
      parts.push(
        `last termination ${c.lastTerminated.reason ?? 'Error'} exit code ${c.lastTerminated.exitCode ?? '?'}`,
      );
    }
  }
  if (!pod.ready) parts.push('not ready');
  if (pod.deletionTimestamp) parts.push('being deleted');
  return parts.length ? parts.join(', ') : undefined;
}

function ago(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 120) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  return hours < 48 ? `${hours} h ago` : `${Math.round(hours / 24)} days ago`;
}

/** A serving pod's restart history, in words (old restarts are history, a recent one a flap). */
function describeRestarts(c: ContainerSummary, now: number): string {
  const last = c.lastTerminated;
  const since = sinceLastTermination(c, now);
  const when = since !== undefined ? ` ${ago(since)}` : '';
  const lastText = last
    ? `, last termination ${last.reason ?? 'Error'} (exit code ${last.exitCode ?? '?'})${when}`
    : '';
  const up = c.startedAt ? `, running since ${c.startedAt}` : '';
  return `${plural(c.restartCount, 'restart')}${lastText}${up}`;
}

const IMAGE_PULL_REASONS = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
]);

/**
 * What kind of failure a failing Flannel pod shows, so a plan only offers what can help: a pod restart helps
 * a crash-looping or stuck flanneld, not an image that cannot be pulled.
 */
export type FlannelPodFailure =
  | 'image-pull'
  | 'crashloop'
  | 'not-ready'
  /** flanneld exits because of the node itself (br_netfilter not loaded, no usable interface). */
  | 'node-config'
  /** No Flannel pod can be scheduled on the node (an untolerated taint, a selector that excludes it). */
  | 'not-scheduled';

/** flanneld errors a pod restart does not fix: the node has to change first. */
const NODE_LOCAL_ERRORS: ReadonlySet<FlanneldError['kind']> = new Set(['br-netfilter', 'no-interface']);

export function podFailureKind(pod: PodSummary): FlannelPodFailure {
  const containers = [...pod.initContainers, ...pod.containers];
  if (containers.some((c) => c.state === 'waiting' && c.reason && IMAGE_PULL_REASONS.has(c.reason))) {
    return 'image-pull';
  }
  const main = flanneldContainer(pod);
  if (main && (main.reason === 'CrashLoopBackOff' || main.state === 'terminated')) return 'crashloop';
  return 'not-ready';
}

export function evaluateFlannelPods(
  facts: FlannelPodsFacts,
  params: Record<string, unknown> = {},
): Evaluation {
  if (facts.pods.length === 0) {
    return evaluation(
      'skipped',
      'No Flannel pods (kubectl get pods -A -l app=flannel returned nothing; see flannel-daemonset)',
    );
  }
  const now = Date.parse(facts.now ?? '');
  const windowMs = numberParam(params, 'recentMinutes', DEFAULT_RECENT_MINUTES) * 60_000;
  const evidence: string[] = [];
  const history: string[] = [];
  const failingNodes: string[] = [];
  const failingPods: string[] = [];
  const flapping: Array<{ pod: PodSummary; line: string }> = [];
  const logErrors: Array<{ pod: PodSummary; error: FlanneldError }> = [];
  const lastLogLines: Record<string, string[]> = {};
  const podFailure: Record<string, FlannelPodFailure> = {};
  const podProblem: Record<string, { pod: string; problem: string; images: string[] }> = {};
  const flanneldErrors: Record<string, FlanneldError['kind']> = {};
  const perNode: Record<string, { pod: string; ready: boolean; restarts: number; problem?: string }> = {};
  const starting: string[] = [];

  for (const pod of facts.pods) {
    const main = flanneldContainer(pod);
    const problems = [
      ...pod.initContainers.map(describeInitProblem).filter((p): p is string => !!p),
      describeMainProblem(pod, main),
    ].filter((p): p is string => !!p);
    const key = podKey(pod);
    const getPod = `kubectl -n ${pod.namespace} get pod ${pod.name} -o wide`;
    if (pod.node) {
      perNode[pod.node] = {
        pod: key,
        ready: pod.ready,
        restarts: main?.restartCount ?? 0,
        ...(problems.length ? { problem: problems.join('; ') } : {}),
      };
    }
    const log = facts.logs[key];
    const logError = log && log.lines.length > 0 ? classifyFlanneldLog(log.lines) : undefined;
    const logLine = () => {
      if (!log || log.lines.length === 0) return undefined;
      lastLogLines[key] = log.lines.slice(-5);
      const cmd = `kubectl -n ${pod.namespace} logs ${pod.name} -c ${log.container}${log.previous ? ' --previous' : ''} --tail=${log.lines.length}`;
      return `${cmd}: ${clip(logError?.line ?? log.lines[log.lines.length - 1], 400)}`;
    };
    if (problems.length === 0) {
      if (!main || main.restartCount === 0) continue;
      // Serving now: the restarts are history unless the last one was recent.
      if (terminatedRecently(pod, now, windowMs)) {
        const line = `${getPod}: node ${pod.node ?? '(unscheduled)'}, Ready but ${describeRestarts(main, now)}: flanneld exited within the last ${Math.round(windowMs / 60_000)} min`;
        flapping.push({ pod, line });
        evidence.push(line);
        const l = logLine();
        if (l) evidence.push(l);
      } else {
        history.push(
          `${getPod}: node ${pod.node ?? '(unscheduled)'}, Running and Ready, ${describeRestarts(main, now)} — old restarts (node reboots, a past crash), not a failure`,
        );
      }
      continue;
    }
    if (isStillStarting(pod, now)) {
      const age = Math.max(0, Math.round((now - Date.parse(pod.createdAt!)) / 1000));
      starting.push(
        `${getPod}: node ${pod.node ?? '(unscheduled)'}, ${problems.join('; ')}, created ${age} s ago: still starting`,
      );
      continue;
    }
    failingPods.push(key);
    if (pod.node) {
      failingNodes.push(pod.node);
      podFailure[pod.node] =
        logError && NODE_LOCAL_ERRORS.has(logError.kind) ? 'node-config' : podFailureKind(pod);
      podProblem[pod.node] = {
        pod: key,
        problem: [...problems, ...(logError ? [clip(logError.line, 300)] : [])].join('; '),
        images: [...pod.initContainers, ...pod.containers].map((c) => c.image ?? '').filter(Boolean),
      };
      if (logError) flanneldErrors[pod.node] = logError.kind;
    }
    evidence.push(`${getPod}: node ${pod.node ?? '(unscheduled)'}, ${problems.join('; ')}`);
    const l = logLine();
    if (l) evidence.push(l);
    if (logError) logErrors.push({ pod, error: logError });
  }

  const nodesOf = (kind: FlanneldError['kind']) =>
    sortedUnique(
      logErrors
        .filter((e) => e.error.kind === kind)
        .map((e) => e.error.node ?? e.pod.node ?? '')
        .filter((n) => n !== ''),
    );
  const evidenceOf = (kind: FlanneldError['kind']) =>
    logErrors
      .filter((e) => e.error.kind === kind)
      .slice(0, 5)
      .map((e) => `kubectl -n ${e.pod.namespace} logs ${e.pod.name} --previous: ${clip(e.error.line, 400)}`);

  const findings: Finding[] = [];
  const nodes = sortedUnique(failingNodes);
  if (failingPods.length > 0) {
    findings.push({
      cause: 'flannel-pod-failing',
      confidence: 0.75,
      summary: `Flannel is failing on ${plural(nodes.length, 'node')}: ${listSome(nodes, 4)}`,
      nodes,
      evidence: evidence.slice(0, 6),
      data: {
        podFailure,
        podProblem,
        ...(Object.keys(flanneldErrors).length ? { flanneldErrors } : {}),
      },
    });
  }
  for (const kind of ['br-netfilter', 'no-interface'] as const) {
    const on = nodesOf(kind);
    if (on.length === 0) continue;
    findings.push({
      cause: 'flannel-pod-failing',
      confidence: 0.85,
      summary:
        kind === 'br-netfilter'
          ? `flanneld exits on ${listSome(on, 4)}: the br_netfilter kernel module is not loaded (modprobe br_netfilter, and load it at boot); a restart does not help`
          : `flanneld exits on ${listSome(on, 4)}: it finds no usable network interface (a --iface that does not exist on the node, or one without an address); fix the node or the --iface/--iface-regex flags`,
      nodes: on,
      evidence: evidenceOf(kind),
      data: { podFailure: Object.fromEntries(on.map((n) => [n, 'node-config'])) },
    });
  }
  const flappingNodes = sortedUnique(flapping.map((f) => f.pod.node ?? '').filter((n) => n));
  if (flapping.length > 0) {
    findings.push({
      cause: 'flannel-pod-failing',
      confidence: 0.4,
      summary: `Flannel is Ready but restarted within the last ${Math.round(windowMs / 60_000)} min on ${listSome(flappingNodes, 4)}`,
      nodes: flappingNodes,
      evidence: flapping.map((f) => f.line).slice(0, 4),
    });
  }
  if (logErrors.some((e) => e.error.kind === 'podcidr-missing')) {
    findings.push({
      cause: 'podcidr-missing',
      confidence: 0.85,
      summary: 'flanneld exits with "pod cidr not assigned": the nodes have no spec.podCIDR',
      nodes: nodesOf('podcidr-missing'),
      evidence: evidenceOf('podcidr-missing'),
    });
  }
  const outside = logErrors.filter((e) => e.error.kind === 'podcidr-outside-network');
  if (outside.length > 0) {
    const network = outside[0].error.network;
    findings.push({
      cause: 'podcidr-outside-network',
      confidence: 0.9,
      summary: `flanneld refuses the node podCIDRs: net-conf.json Network ${network} does not contain them`,
      nodes: nodesOf('podcidr-outside-network'),
      evidence: evidenceOf('podcidr-outside-network'),
      data: {
        network,
        podCIDRs: Object.fromEntries(
          outside
            .filter((e) => e.error.node && e.error.podCIDR)
            .map((e) => [e.error.node!, e.error.podCIDR!] as const)
            .sort(([a], [b]) => a.localeCompare(b)),
        ),
      },
    });
  }
  if (logErrors.some((e) => e.error.kind === 'config-corrupt')) {
    findings.push({
      cause: 'flannel-config-corrupt',
      confidence: 0.85,
      summary: 'flanneld cannot read or parse net-conf.json from its ConfigMap',
      nodes: nodesOf('config-corrupt'),
      evidence: evidenceOf('config-corrupt'),
    });
  }
  if (logErrors.some((e) => e.error.kind === 'rbac')) {
    findings.push({
      cause: 'flannel-partially-deployed',
      confidence: 0.6,
      summary: 'flanneld is forbidden to read its pod or nodes: its RBAC objects are missing or incomplete',
      nodes: nodesOf('rbac'),
      evidence: evidenceOf('rbac'),
    });
  }

  const facts2 = { pods: perNode, failingPods, lastLogLines };
  evidence.push(...starting);
  if (failingPods.length === 0) {
    if (starting.length > 0) {
      return evaluation(
        'warn',
        `${plural(starting.length, 'Flannel pod')} still starting (created within the last ${STARTING_GRACE_MS / 60_000} min, nothing failed yet): diagnose again in a minute`,
        [...evidence, ...history],
        findings,
        facts2,
      );
    }
    if (flapping.length > 0) {
      return evaluation(
        'warn',
        `Flannel pods ready, but ${plural(flapping.length, 'pod')} restarted recently (${listSome(flappingNodes, 3)})`,
        [...evidence, ...history],
        findings,
        facts2,
      );
    }
    return evaluation(
      'ok',
      `${plural(facts.pods.length, 'Flannel pod')} running and ready${history.length ? ` (${plural(history.length, 'pod')} with old restarts only)` : ''}`,
      history,
      [],
      facts2,
    );
  }
  return evaluation(
    'fail',
    `Flannel pods failing on ${plural(nodes.length, 'node')} (${listSome(nodes, 3)})`,
    [...evidence, ...history],
    findings,
    facts2,
  );
}

export const check: CheckDefinition<FlannelPodsFacts> = {
  id: 'flannel-pods',
  scope: 'api',
  title: 'Flannel pods',
  async gather(ctx) {
    const daemonSets = await gatherFlannelDaemonSets(ctx.kube);
    const pods = await gatherFlannelPods(ctx.kube, daemonSets);
    const tailLines = numberParam(ctx.params, 'tailLines', DEFAULT_LOG_TAIL_LINES);
    const maxLogPods = numberParam(ctx.params, 'maxLogPods', DEFAULT_MAX_LOG_PODS);
    const windowMs = numberParam(ctx.params, 'recentMinutes', DEFAULT_RECENT_MINUTES) * 60_000;
    const now = new Date();
    const logs: Record<string, PodLog> = {};
    await Promise.all(
      pods
        .filter((pod) => needsLog(pod, now.getTime(), windowMs))
        .slice(0, maxLogPods)
        .map(async (pod) => {
          const container = flanneldContainer(pod)!.name;
          const log = await readTail(ctx.kube.core, pod, container, tailLines);
          if (log) logs[podKey(pod)] = log;
        }),
    );
    return { pods, logs, now: now.toISOString() };
  },
  evaluate: (facts, params) => evaluateFlannelPods(facts, params),
};

/** The previous container's log (why it exited), else the current one; 400/404 mean "no such log". */
async function readTail(
  core: import('@kubernetes/client-node').CoreV1Api,
  pod: PodSummary,
  container: string,
  tailLines: number,
): Promise<PodLog | undefined> {
  for (const previous of [true, false]) {
    try {
      const text = await core.readNamespacedPodLog({
        name: pod.name,
        namespace: pod.namespace,
        container,
        previous,
        tailLines,
      });
      const lines = String(text ?? '')
        .split('\n')
        .map((l) => l.trimEnd())
        .filter((l) => l !== '');
      if (lines.length > 0) return { container, previous, lines };
    } catch (err) {
      if (!(isNotFound(err) || (err as { code?: unknown }).code === 400)) throw err;
    }
  }
  return undefined;
}
