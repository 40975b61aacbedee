/**
 * Runs the node probe on each node: create the probe pod, wait until it Succeeded or Failed, read
 * its log, validate it, and always delete the pod. A node's failure is a result, never a throw.
 */
import { randomBytes } from 'node:crypto';
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { buildProbePod, PROBE_CONTAINER, readProbeScript } from './pod.js';
import { parseProbeOutput, ProbeOutputError, type ProbeReport } from './schema.js';
import { readApiError } from '../../kube/api-error.js';

export type ProbeResult =
  | { ok: true; report: ProbeReport; pod: string; cleanupError?: string }
  | { ok: false; error: string; pod?: string; cleanupError?: string };

export interface ProbeProgress {
  node: string;
  state: 'started' | 'done';
  result?: ProbeResult;
  completed: number;
  total: number;
}

export interface ProbeRunOptions {
  namespace: string;
  image: string;
  concurrency: number;
  /** The pod's activeDeadlineSeconds; the runner gives up a little after it. */
  deadlineSeconds: number;
  signal?: AbortSignal;
  onProgress?: (progress: ProbeProgress) => void;
  /** Label value grouping this run's pods (default: random). */
  runId?: string;
  /** Script text (default: flannel-probe.sh). */
  script?: string;
  /** First poll interval; it grows to 1 s. */
  pollIntervalMs?: number;
}

export interface ProbeKube {
  core: CoreV1Api;
}

// Containers in these states will not start by themselves within a probe's lifetime.
const STUCK_WAITING_REASONS = new Set([
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

/** Extra time over activeDeadlineSeconds before the runner stops waiting for the kubelet to fail the pod. */
const CLIENT_GRACE_SECONDS = 30;
const LOG_TAIL_CHARS = 2000;

export async function runProbes(
  kube: ProbeKube,
  nodes: string[],
  opts: ProbeRunOptions,
): Promise<Map<string, ProbeResult>> {
  const unique = [...new Set(nodes)];
  const runId = opts.runId ?? randomBytes(4).toString('hex');
  const script = opts.script ?? readProbeScript();
  const results = new Map<string, ProbeResult>();
  const queue = [...unique];
  let completed = 0;

  const worker = async () => {
    for (let node = queue.shift(); node !== undefined; node = queue.shift()) {
      opts.onProgress?.({ node, state: 'started', completed, total: unique.length });
      const result = await probeNode(kube.core, node, { ...opts, runId, script });
      results.set(node, result);
      completed++;
      opts.onProgress?.({ node, state: 'done', result, completed, total: unique.length });
    }
  };
  const workers = Math.max(1, Math.min(Math.floor(opts.concurrency) || 1, unique.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return new Map(unique.map((node) => [node, results.get(node)!]));
}

type NodeProbeOptions = ProbeRunOptions & { runId: string; script: string };

async function probeNode(core: CoreV1Api, node: string, opts: NodeProbeOptions): Promise<ProbeResult> {
  if (opts.signal?.aborted) return { ok: false, error: 'cancelled before the probe pod was created' };
  const body = buildProbePod({
    node,
    namespace: opts.namespace,
    image: opts.image,
    runId: opts.runId,
    deadlineSeconds: opts.deadlineSeconds,
    script: opts.script,
  });
  let name: string;
  try {
    const created = await core.createNamespacedPod({ namespace: opts.namespace, body });
    name = created.metadata?.name ?? '';
    if (!name) return { ok: false, error: 'probe pod rejected: the API server returned no pod name' };
  } catch (err) {
    return { ok: false, error: `probe pod rejected: ${describeApiError(err)}` };
  }
  let result: ProbeResult;
  try {
    result = await awaitProbe(core, node, name, opts);
  } catch (err) {
    result = { ok: false, error: `probe failed: ${describeApiError(err)}`, pod: name };
  }
  // Delete even after a failure, timeout or cancel: a probe pod must never outlive its run.
  const cleanupError = await deletePod(core, name, opts.namespace);
  return cleanupError ? { ...result, cleanupError } : result;
}

async function awaitProbe(
  core: CoreV1Api,
  node: string,
  name: string,
  opts: NodeProbeOptions,
): Promise<ProbeResult> {
  const giveUpAt = Date.now() + (opts.deadlineSeconds + CLIENT_GRACE_SECONDS) * 1000;
  let interval = opts.pollIntervalMs ?? 200;
  let pod: V1Pod | undefined;
  let readFailures = 0;
  for (;;) {
    if (opts.signal?.aborted)
      return { ok: false, error: 'cancelled while waiting for the probe pod', pod: name };
    try {
      pod = await core.readNamespacedPod({ name, namespace: opts.namespace });
      readFailures = 0;
    } catch (err) {
      if (readApiError(err).code === 404) {
        return {
          ok: false,
          error: 'probe pod disappeared before it finished (deleted by someone else?)',
          pod: name,
        };
      }
      // A flaky API server should not fail the node at once.
      if (++readFailures >= 3) throw err;
    }
    const phase = pod?.status?.phase;
    if (phase === 'Succeeded') return readReport(core, node, name, opts.namespace);
    if (phase === 'Failed') return describeFailedPod(core, pod!, name, opts);
    const stuck = stuckReason(pod);
    if (stuck) return { ok: false, error: `probe pod cannot start: ${stuck}`, pod: name };
    if (Date.now() >= giveUpAt) {
      return {
        ok: false,
        error: `timed out after ${opts.deadlineSeconds + CLIENT_GRACE_SECONDS}s waiting for the probe pod (${describePending(pod)})`,
        pod: name,
      };
    }
    await sleep(interval, opts.signal);
    interval = Math.min(interval * 2, 1000);
  }
}

async function readReport(
  core: CoreV1Api,
  node: string,
  name: string,
  namespace: string,
): Promise<ProbeResult> {
  const log = await core.readNamespacedPodLog({ name, namespace, container: PROBE_CONTAINER });
  try {
    const report = parseProbeOutput(String(log));
    if (report.node !== node) {
      return {
        ok: false,
        error: `invalid probe output: it reports node "${report.node}", expected "${node}"`,
        pod: name,
      };
    }
    return { ok: true, report, pod: name };
  } catch (err) {
    if (err instanceof ProbeOutputError)
      return { ok: false, error: `invalid probe output: ${err.message}`, pod: name };
    throw err;
  }
}

async function describeFailedPod(
  core: CoreV1Api,
  pod: V1Pod,
  name: string,
  opts: NodeProbeOptions,
): Promise<ProbeResult> {
  const namespace = opts.namespace;
  const parts: string[] = [];
  if (pod.status?.reason)
    parts.push(`${pod.status.reason}${pod.status.message ? `: ${pod.status.message}` : ''}`);
  const terminated = pod.status?.containerStatuses?.find((c) => c.name === PROBE_CONTAINER)?.state
    ?.terminated;
  if (terminated) {
    parts.push(`exit code ${terminated.exitCode}${terminated.reason ? ` (${terminated.reason})` : ''}`);
  }
  let tail = '';
  try {
    const log = String(await core.readNamespacedPodLog({ name, namespace, container: PROBE_CONTAINER }));
    tail = log.trim().slice(-LOG_TAIL_CHARS);
  } catch {
    // The log is often gone when the container never started; the status says enough then.
  }
  const what = parts.length ? parts.join(', ') : 'no reason given';
  const headline =
    pod.status?.reason === 'DeadlineExceeded'
      ? `timed out: the probe pod ran longer than activeDeadlineSeconds=${opts.deadlineSeconds}`
      : 'probe pod Failed';
  return { ok: false, error: `${headline} (${what})${tail ? `; log tail: ${tail}` : ''}`, pod: name };
}

function stuckReason(pod: V1Pod | undefined): string | undefined {
  for (const status of pod?.status?.containerStatuses ?? []) {
    const waiting = status.state?.waiting;
    if (waiting?.reason && STUCK_WAITING_REASONS.has(waiting.reason)) {
      return `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`;
    }
  }
  return undefined;
}

function describePending(pod: V1Pod | undefined): string {
  if (!pod?.status?.phase) return 'no status yet';
  const waiting = pod.status.containerStatuses?.find((c) => c.state?.waiting)?.state?.waiting;
  return waiting?.reason ? `${pod.status.phase}: ${waiting.reason}` : `phase ${pod.status.phase}`;
}

async function deletePod(core: CoreV1Api, name: string, namespace: string): Promise<string | undefined> {
  try {
    await core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 });
    return undefined;
  } catch (err) {
    if (readApiError(err).code === 404) return undefined;
    return `could not delete probe pod ${namespace}/${name}: ${describeApiError(err)}`;
  }
}

/** "403 Forbidden: pods "x" is forbidden: violates PodSecurity ..." from a client-node ApiException. */
export function describeApiError(err: unknown): string {
  const api = readApiError(err);
  if (api.code === undefined) return err instanceof Error ? err.message : String(err);
  if (api.rawBody) return `HTTP ${api.code}: ${api.rawBody.slice(0, 500)}`;
  return `HTTP ${api.code}${api.reason ? ` ${api.reason}` : ''}${api.message ? `: ${api.message}` : ''}`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
