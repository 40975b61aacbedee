/**
 * Runs the node probe on each node: create the probe pod, wait until it Succeeded or Failed, read
 * its log, validate it, and always delete the pod. A node's failure is a result, never a throw.
 */
import { randomBytes } from 'node:crypto';
import type { CoreV1Api } from '@kubernetes/client-node';
import { buildProbePod, PROBE_CONTAINER, readProbeScript } from './pod.js';
import { parseProbeOutput, ProbeOutputError, type ProbeReport } from './schema.js';
import { describeApiError, runPodToCompletion } from '../../kube/pod-run.js';

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
  /** Mount the runtime's socket directory so the probe can list sandboxes (opt-in; see pod.ts). */
  criSocketDir?: string;
}

export interface ProbeKube {
  core: CoreV1Api;
}

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
  const body = buildProbePod({
    node,
    namespace: opts.namespace,
    image: opts.image,
    runId: opts.runId,
    deadlineSeconds: opts.deadlineSeconds,
    script: opts.script,
    ...(opts.criSocketDir && { criSocketDir: opts.criSocketDir }),
  });
  const run = await runPodToCompletion(core, body, {
    namespace: opts.namespace,
    container: PROBE_CONTAINER,
    deadlineSeconds: opts.deadlineSeconds,
    signal: opts.signal,
    pollIntervalMs: opts.pollIntervalMs,
    noun: 'probe pod',
  });
  const cleanup = run.cleanupError ? { cleanupError: run.cleanupError } : {};
  if (run.phase === 'Failed') {
    return { ok: false, error: run.error, ...(run.pod && { pod: run.pod }), ...cleanup };
  }
  return { ...readReport(node, run.pod, run.log), ...cleanup };
}

function readReport(node: string, pod: string, log: string): ProbeResult {
  try {
    const report = parseProbeOutput(log);
    if (report.node !== node) {
      return {
        ok: false,
        error: `invalid probe output: it reports node "${report.node}", expected "${node}"`,
        pod,
      };
    }
    return { ok: true, report, pod };
  } catch (err) {
    if (err instanceof ProbeOutputError)
      return { ok: false, error: `invalid probe output: ${err.message}`, pod };
    throw err;
  }
}

export { describeApiError };
