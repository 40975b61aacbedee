/**
 * Runs one short-lived pod to completion: create it, wait until it Succeeded or Failed (or cannot start),
 * read its container's log, and always delete it. The node probe (checks/probe) and the node actions of
 * remediation steps (remediations/node-pod) both use it; a pod never outlives its run, whatever happens.
 */
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { readApiError } from './api-error.js';

export type PodRunResult =
  | { phase: 'Succeeded'; pod: string; log: string; cleanupError?: string }
  | { phase: 'Failed'; pod?: string; error: string; log?: string; exitCode?: number; cleanupError?: string };

export interface PodRunOptions {
  namespace: string;
  /** The container whose log is the result. */
  container: string;
  /** The pod's activeDeadlineSeconds; the runner gives up a little after it. */
  deadlineSeconds: number;
  signal?: AbortSignal;
  /** First poll interval; it grows to 1 s. */
  pollIntervalMs?: number;
  /** What the pod is called in messages, e.g. "probe pod" (default "pod"). */
  noun?: string;
  /** Called once the pod exists (e.g. to record its name before waiting). */
  onCreated?(name: string): void;
}

// Containers in these states will not start by themselves within a short-lived pod's lifetime.
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

export async function runPodToCompletion(
  core: CoreV1Api,
  body: V1Pod,
  opts: PodRunOptions,
): Promise<PodRunResult> {
  const noun = opts.noun ?? 'pod';
  if (opts.signal?.aborted) return { phase: 'Failed', error: `cancelled before the ${noun} was created` };
  let name: string;
  try {
    const created = await core.createNamespacedPod({ namespace: opts.namespace, body });
    name = created.metadata?.name ?? '';
    if (!name) return { phase: 'Failed', error: `${noun} rejected: the API server returned no pod name` };
  } catch (err) {
    return { phase: 'Failed', error: `${noun} rejected: ${describeApiError(err)}` };
  }
  opts.onCreated?.(name);
  return awaitPodToCompletion(core, name, opts);
}

/**
 * Waits for a pod that already exists (e.g. one a process started before it died) to finish, reads its log
 * and deletes it, as runPodToCompletion does for a pod it creates.
 */
export async function awaitPodToCompletion(
  core: CoreV1Api,
  name: string,
  opts: PodRunOptions,
): Promise<PodRunResult> {
  let result: PodRunResult;
  try {
    result = await awaitPod(core, name, opts);
  } catch (err) {
    result = { phase: 'Failed', error: `${opts.noun ?? 'pod'} failed: ${describeApiError(err)}`, pod: name };
  }
  // Delete even after a failure, timeout or cancel: a short-lived pod must never outlive its run.
  const cleanupError = await deletePod(core, name, opts.namespace);
  return cleanupError ? { ...result, cleanupError } : result;
}

async function awaitPod(core: CoreV1Api, name: string, opts: PodRunOptions): Promise<PodRunResult> {
  const noun = opts.noun ?? 'pod';
  const giveUpAt = Date.now() + (opts.deadlineSeconds + CLIENT_GRACE_SECONDS) * 1000;
  let interval = opts.pollIntervalMs ?? 200;
  let pod: V1Pod | undefined;
  let readFailures = 0;
  for (;;) {
    if (opts.signal?.aborted)
      return { phase: 'Failed', error: `cancelled while waiting for the ${noun}`, pod: name };
    try {
      pod = await core.readNamespacedPod({ name, namespace: opts.namespace });
      readFailures = 0;
    } catch (err) {
      if (readApiError(err).code === 404) {
        return {
          phase: 'Failed',
          error: `${noun} disappeared before it finished (deleted by someone else?)`,
          pod: name,
        };
      }
      // A flaky API server should not fail the run at once.
      if (++readFailures >= 3) throw err;
    }
    const phase = pod?.status?.phase;
    if (phase === 'Succeeded') {
      const log = await core.readNamespacedPodLog({
        name,
        namespace: opts.namespace,
        container: opts.container,
      });
      return { phase: 'Succeeded', pod: name, log: String(log) };
    }
    if (phase === 'Failed') return describeFailedPod(core, pod!, name, opts);
    const stuck = stuckReason(pod);
    if (stuck) return { phase: 'Failed', error: `${noun} cannot start: ${stuck}`, pod: name };
    if (Date.now() >= giveUpAt) {
      return {
        phase: 'Failed',
        error: `timed out after ${opts.deadlineSeconds + CLIENT_GRACE_SECONDS}s waiting for the ${noun} (${describePending(pod)})`,
        pod: name,
      };
    }
    await sleep(interval, opts.signal);
    interval = Math.min(interval * 2, 1000);
  }
}

async function describeFailedPod(
  core: CoreV1Api,
  pod: V1Pod,
  name: string,
  opts: PodRunOptions,
): Promise<PodRunResult> {
  const noun = opts.noun ?? 'pod';
  const parts: string[] = [];
  if (pod.status?.reason)
    parts.push(`${pod.status.reason}${pod.status.message ? `: ${pod.status.message}` : ''}`);
  const terminated = pod.status?.containerStatuses?.find((c) => c.name === opts.container)?.state?.terminated;
  if (terminated) {
    parts.push(`exit code ${terminated.exitCode}${terminated.reason ? ` (${terminated.reason})` : ''}`);
  }
  let log: string | undefined;
  try {
    log = String(
      await core.readNamespacedPodLog({ name, namespace: opts.namespace, container: opts.container }),
    );
  } catch {
    // The log is often gone when the container never started; the status says enough then.
  }
  const tail = log?.trim().slice(-LOG_TAIL_CHARS) ?? '';
  const what = parts.length ? parts.join(', ') : 'no reason given';
  const headline =
    pod.status?.reason === 'DeadlineExceeded'
      ? `timed out: the ${noun} ran longer than activeDeadlineSeconds=${opts.deadlineSeconds}`
      : `${noun} Failed`;
  return {
    phase: 'Failed',
    error: `${headline} (${what})${tail ? `; log tail: ${tail}` : ''}`,
    pod: name,
    ...(log !== undefined && { log }),
    ...(terminated?.exitCode !== undefined && { exitCode: terminated.exitCode }),
  };
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
    return `could not delete pod ${namespace}/${name}: ${describeApiError(err)}`;
  }
}

/** "403 Forbidden: pods "x" is forbidden: violates PodSecurity ..." from a client-node ApiException. */
export function describeApiError(err: unknown): string {
  const api = readApiError(err);
  if (api.code === undefined) return err instanceof Error ? err.message : String(err);
  if (api.rawBody) return `HTTP ${api.code}: ${api.rawBody.slice(0, 500)}`;
  return `HTTP ${api.code}${api.reason ? ` ${api.reason}` : ''}${api.message ? `: ${api.message}` : ''}`;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
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
