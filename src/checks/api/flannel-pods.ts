/**
 * flannel-pods: each Flannel pod's phase, readiness, restarts, last termination, init containers,
 * and for crash-looping pods the last lines of the flanneld log (errors F, G, I of flannel.md §1.3).
 */
import type { CheckDefinition, Finding } from '../types.js';
import { clip, evaluation, listSome, numberParam, plural, type Evaluation } from './common.js';
import { gatherFlannelDaemonSets, gatherFlannelPods, isNotFound } from './flannel-objects.js';
import { classifyFlanneldLog, type FlanneldError } from './flanneld-log.js';
import { podKey, sortedUnique, type ContainerSummary, type PodSummary } from './summaries.js';

export const DEFAULT_LOG_TAIL_LINES = 20;
export const DEFAULT_MAX_LOG_PODS = 20;

export interface PodLog {
  container: string;
  previous: boolean;
  lines: string[];
}

export interface FlannelPodsFacts {
  pods: PodSummary[];
  /** Tail of the flanneld log per pod (`ns/name`), read only for failing pods. */
  logs: Record<string, PodLog>;
}

/** The flanneld container: kube-flannel by name, else the one running the flannel image, else the first. */
export function flanneldContainer(pod: Pick<PodSummary, 'containers'>): ContainerSummary | undefined {
  return (
    pod.containers.find((c) => c.name === 'kube-flannel') ??
    pod.containers.find((c) => /flannel(?::|$)/.test(c.image ?? '') && !/cni-plugin/.test(c.image ?? '')) ??
    pod.containers[0]
  );
}

/** Does this pod need its log read (crash-looping, restarted, or terminated)? */
export function needsLog(pod: PodSummary): boolean {
  const c = flanneldContainer(pod);
  if (!c) return false;
  return (
    c.restartCount > 0 ||
    c.reason === 'CrashLoopBackOff' ||
    c.state === 'terminated' ||
    c.lastTerminated !== undefined
  );
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
  return pod.ready && parts.length === 0 ? undefined : parts.length ? parts.join(', ') : undefined;
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
export type FlannelPodFailure = 'image-pull' | 'crashloop' | 'not-ready';

export function podFailureKind(pod: PodSummary): FlannelPodFailure {
  const containers = [...pod.initContainers, ...pod.containers];
  if (containers.some((c) => c.state === 'waiting' && c.reason && IMAGE_PULL_REASONS.has(c.reason))) {
    return 'image-pull';
  }
  const main = flanneldContainer(pod);
  if (main && (main.reason === 'CrashLoopBackOff' || main.state === 'terminated')) return 'crashloop';
  return 'not-ready';
}

export function evaluateFlannelPods(facts: FlannelPodsFacts): Evaluation {
  if (facts.pods.length === 0) {
    return evaluation(
      'skipped',
      'No Flannel pods (kubectl get pods -A -l app=flannel returned nothing; see flannel-daemonset)',
    );
  }
  const evidence: string[] = [];
  const failingNodes: string[] = [];
  const failingPods: string[] = [];
  const logErrors: Array<{ pod: PodSummary; error: FlanneldError }> = [];
  const lastLogLines: Record<string, string[]> = {};
  const podFailure: Record<string, FlannelPodFailure> = {};
  const perNode: Record<string, { pod: string; ready: boolean; restarts: number; problem?: string }> = {};

  for (const pod of facts.pods) {
    const main = flanneldContainer(pod);
    const problems = [
      ...pod.initContainers.map(describeInitProblem).filter((p): p is string => !!p),
      describeMainProblem(pod, main),
    ].filter((p): p is string => !!p);
    const key = podKey(pod);
    if (pod.node) {
      perNode[pod.node] = {
        pod: key,
        ready: pod.ready,
        restarts: main?.restartCount ?? 0,
        ...(problems.length ? { problem: problems.join('; ') } : {}),
      };
    }
    if (problems.length === 0) continue;
    failingPods.push(key);
    if (pod.node) {
      failingNodes.push(pod.node);
      podFailure[pod.node] = podFailureKind(pod);
    }
    evidence.push(
      `kubectl -n ${pod.namespace} get pod ${pod.name} -o wide: node ${pod.node ?? '(unscheduled)'}, ${problems.join('; ')}`,
    );
    const log = facts.logs[key];
    if (log && log.lines.length > 0) {
      lastLogLines[key] = log.lines.slice(-5);
      const error = classifyFlanneldLog(log.lines);
      const cmd = `kubectl -n ${pod.namespace} logs ${pod.name} -c ${log.container}${log.previous ? ' --previous' : ''} --tail=${log.lines.length}`;
      evidence.push(`${cmd}: ${clip(error?.line ?? log.lines[log.lines.length - 1], 400)}`);
      if (error) logErrors.push({ pod, error });
    }
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
      data: { podFailure },
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
  if (failingPods.length === 0) {
    return evaluation('ok', `${plural(facts.pods.length, 'Flannel pod')} running and ready`, [], [], facts2);
  }
  return evaluation(
    'fail',
    `Flannel pods failing on ${plural(nodes.length, 'node')} (${listSome(nodes, 3)})`,
    evidence,
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
    const logs: Record<string, PodLog> = {};
    await Promise.all(
      pods
        .filter(needsLog)
        .slice(0, maxLogPods)
        .map(async (pod) => {
          const container = flanneldContainer(pod)!.name;
          const log = await readTail(ctx.kube.core, pod, container, tailLines);
          if (log) logs[podKey(pod)] = log;
        }),
    );
    return { pods, logs };
  },
  evaluate: (facts) => evaluateFlannelPods(facts),
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
