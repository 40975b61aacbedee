/**
 * Garbage collection of the pods flannel-ops starts on nodes (probe pods, action pods): the caller names
 * which `app.kubernetes.io/name` values are ours (src/checks/probe/pod.ts, src/remediations/node-pod.ts).
 *
 * The runner deletes its pod in a finally block, which does not run when the bot dies mid-diagnosis; and a
 * pod bound to a node that does not exist (or never runs it) is never failed by a kubelet, so its
 * activeDeadlineSeconds never fires. At start-up and then periodically, every pod labelled
 * app.kubernetes.io/managed-by=flannel-ops (with one of our names) older than its activeDeadlineSeconds plus
 * a grace period is deleted. A live run's pod is never that old: its runner gives up soon after the deadline.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { readApiError } from './api-error.js';

/** The two calls a pass makes; client-node's CoreV1Api has them (and kube/clients.ts' client, without its typed models). */
export interface PodGcApi {
  listNamespacedPod(req: { namespace: string; labelSelector: string }): Promise<{ items: V1Pod[] }>;
  deleteNamespacedPod(req: { name: string; namespace: string; gracePeriodSeconds: number }): Promise<unknown>;
}

/** The label selector of our pods with these `app.kubernetes.io/name` values. */
export function managedPodSelector(appNames: readonly string[]): string {
  return `app.kubernetes.io/managed-by=flannel-ops,app.kubernetes.io/name in (${appNames.join(',')})`;
}

/** Beyond the pod's own deadline (the runner waits 30 s past it before deleting the pod itself). */
export const DEFAULT_GC_GRACE_SECONDS = 120;
/** For a pod without activeDeadlineSeconds (not one we built, or an older version's). */
const FALLBACK_DEADLINE_SECONDS = 600;
export const DEFAULT_GC_INTERVAL_MS = 5 * 60_000;

export interface GcOptions {
  namespace: string;
  /** `app.kubernetes.io/name` values of the pods to collect. */
  appNames: readonly string[];
  graceSeconds?: number;
  now?(): number;
}

export interface GcResult {
  deleted: string[];
  errors: string[];
}

/** When a managed pod is overdue (ms since epoch), or undefined if it has no creation time. */
export function overdueAt(pod: V1Pod, graceSeconds: number): number | undefined {
  const created = pod.metadata?.creationTimestamp;
  const createdMs = created ? new Date(created).getTime() : NaN;
  if (!Number.isFinite(createdMs)) return undefined;
  const deadline = pod.spec?.activeDeadlineSeconds ?? FALLBACK_DEADLINE_SECONDS;
  return createdMs + (deadline + graceSeconds) * 1000;
}

/** One pass: deletes every overdue managed pod in `namespace`. Never throws; problems are in `errors`. */
export async function collectManagedPods(core: PodGcApi, opts: GcOptions): Promise<GcResult> {
  const grace = opts.graceSeconds ?? DEFAULT_GC_GRACE_SECONDS;
  const now = (opts.now ?? Date.now)();
  const result: GcResult = { deleted: [], errors: [] };
  let pods: V1Pod[];
  try {
    pods = (
      await core.listNamespacedPod({
        namespace: opts.namespace,
        labelSelector: managedPodSelector(opts.appNames),
      })
    ).items;
  } catch (err) {
    result.errors.push(`listing pods in ${opts.namespace}: ${describe(err)}`);
    return result;
  }
  for (const pod of pods) {
    const name = pod.metadata?.name;
    const due = overdueAt(pod, grace);
    if (!name || due === undefined || due > now || pod.metadata?.deletionTimestamp) continue;
    try {
      await core.deleteNamespacedPod({ name, namespace: opts.namespace, gracePeriodSeconds: 0 });
      result.deleted.push(name);
    } catch (err) {
      if (readApiError(err).code === 404) continue; // gone meanwhile (its runner, or another replica)
      result.errors.push(`deleting pod ${opts.namespace}/${name}: ${describe(err)}`);
    }
  }
  return result;
}

export interface PodGcTarget {
  cluster: string;
  core(): PodGcApi;
}

export interface PodGarbageCollector {
  /** Resolves after the current pass, if one runs. */
  stop(): Promise<void>;
  /** Runs one pass over every cluster now (the start-up pass is started by startPodGarbageCollector). */
  runOnce(): Promise<void>;
}

/**
 * Runs a pass over every cluster at once and then every `intervalMs`. Replicas may all run it: deletes are
 * idempotent. `onResult` hears what each pass did per cluster.
 */
export function startPodGarbageCollector(opts: {
  targets: readonly PodGcTarget[];
  namespace: string;
  appNames: readonly string[];
  graceSeconds?: number;
  intervalMs?: number;
  onResult?(cluster: string, result: GcResult): void;
}): PodGarbageCollector {
  let stopped = false;
  let current: Promise<void> = Promise.resolve();
  const pass = async () => {
    for (const target of opts.targets) {
      if (stopped) return;
      let result: GcResult;
      try {
        result = await collectManagedPods(target.core(), {
          namespace: opts.namespace,
          appNames: opts.appNames,
          ...(opts.graceSeconds !== undefined && { graceSeconds: opts.graceSeconds }),
        });
      } catch (err) {
        result = { deleted: [], errors: [describe(err)] }; // e.g. an unusable kubeconfig
      }
      opts.onResult?.(target.cluster, result);
    }
  };
  const runOnce = () => (current = current.then(pass, pass));
  void runOnce();
  const timer = setInterval(() => void runOnce(), opts.intervalMs ?? DEFAULT_GC_INTERVAL_MS);
  timer.unref();
  return {
    runOnce,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await current.catch(() => undefined);
    },
  };
}

function describe(err: unknown): string {
  const api = readApiError(err);
  if (api.code !== undefined) return `API answered ${api.code}${api.message ? `: ${api.message}` : ''}`;
  return (err as Error)?.message ?? String(err);
}
