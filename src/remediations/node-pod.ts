/**
 * Node actions run as a short-lived privileged pod pinned to the node (hostNetwork, hostPID, tolerating
 * every taint) whose only command enters the host's namespaces with nsenter and runs a host script there,
 * so the script sees the node's own files, devices, systemd and container runtime. The pod is deleted
 * after the run whatever happens (kube/pod-run.ts). Contract with the simulator: /work/notes/action-pods.md
 * (and src/sim/kube/README.md, "Action pods").
 */
import type { V1Pod } from '@kubernetes/client-node';
import { awaitPodToCompletion, runPodToCompletion, type PodRunResult } from '../kube/pod-run.js';
import type { KubeClients } from '../kube/clients.js';
import type { ActionId } from './catalog.js';
import type { NodeScriptResult, NodeScriptRunner } from './types.js';

export const ACTION_APP_LABEL = 'flannel-ops-action';
export const ACTION_CONTAINER = 'action';
export const ACTION_POD_PREFIX = 'flannel-ops-action-';
export const ACTION_DEADLINE_SECONDS = 120;

/** Quotes a string for POSIX sh: inside single quotes, ' becomes '\''. */
export function shQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The container command: enter every namespace of the host's PID 1 and run the host script there. */
export function nsenterCommand(hostScript: string): string {
  return `exec nsenter -t 1 -m -u -i -n -p -- sh -c ${shQuote(hostScript)}`;
}

export interface ActionPodOptions {
  node: string;
  namespace: string;
  image: string;
  action: ActionId;
  runId: string;
  hostScript: string;
  deadlineSeconds?: number;
}

export function buildActionPod(opts: ActionPodOptions): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: ACTION_POD_PREFIX,
      namespace: opts.namespace,
      labels: {
        'app.kubernetes.io/name': ACTION_APP_LABEL,
        'app.kubernetes.io/managed-by': 'flannel-ops',
        'flannel-ops/run': labelSafe(opts.runId),
      },
      annotations: { 'flannel-ops/node': opts.node, 'flannel-ops/action': opts.action },
    },
    spec: {
      nodeName: opts.node,
      hostNetwork: true,
      hostPID: true,
      restartPolicy: 'Never',
      activeDeadlineSeconds: opts.deadlineSeconds ?? ACTION_DEADLINE_SECONDS,
      terminationGracePeriodSeconds: 0,
      tolerations: [{ operator: 'Exists' }],
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      containers: [
        {
          name: ACTION_CONTAINER,
          image: opts.image,
          imagePullPolicy: 'IfNotPresent',
          command: ['/bin/sh', '-c', nsenterCommand(opts.hostScript)],
          // nsenter into PID 1's mount namespace needs a privileged container (CAP_SYS_ADMIN, host PID).
          securityContext: { privileged: true },
          resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '500m', memory: '64Mi' } },
          terminationMessagePolicy: 'FallbackToLogsOnError',
        },
      ],
    },
  };
}

/** A label value: at most 63 characters of [A-Za-z0-9_.-], starting and ending alphanumeric. */
export function labelSafe(value: string): string {
  const cleaned = value.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 63);
  return cleaned.replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '') || 'run';
}

/** Runs host scripts through action pods in `namespace` (the probe namespace: privileged pods allowed). */
function asResult(run: PodRunResult): NodeScriptResult {
  if (run.phase === 'Succeeded') return { ok: true, output: run.log, pod: run.pod };
  return { ok: false, output: run.log ?? '', error: run.error, ...(run.pod && { pod: run.pod }) };
}

export function nodeScriptRunner(
  clients: (cluster: string) => KubeClients,
  settings: { namespace: string; image: string; deadlineSeconds?: number },
  cluster: string,
  signal?: AbortSignal,
): NodeScriptRunner {
  const deadlineSeconds = settings.deadlineSeconds ?? ACTION_DEADLINE_SECONDS;
  const waitOptions = {
    namespace: settings.namespace,
    container: ACTION_CONTAINER,
    deadlineSeconds,
    signal,
    noun: 'action pod',
  };
  return {
    async attach(req): Promise<NodeScriptResult | undefined> {
      const core = clients(cluster).core;
      const pods = await core.listNamespacedPod({
        namespace: settings.namespace,
        labelSelector: `app.kubernetes.io/name=${ACTION_APP_LABEL},flannel-ops/run=${labelSafe(req.runId)}`,
      });
      const mine = pods.items
        .filter(
          (p) =>
            p.metadata?.annotations?.['flannel-ops/node'] === req.node &&
            p.metadata?.annotations?.['flannel-ops/action'] === req.action &&
            !p.metadata?.deletionTimestamp,
        )
        .sort((a, b) =>
          String(b.metadata?.creationTimestamp).localeCompare(String(a.metadata?.creationTimestamp)),
        );
      const name = mine[0]?.metadata?.name;
      if (!name) return undefined;
      return asResult(await awaitPodToCompletion(core, name, waitOptions));
    },
    async run(req): Promise<NodeScriptResult> {
      const body = buildActionPod({
        node: req.node,
        namespace: settings.namespace,
        image: settings.image,
        action: req.action,
        runId: req.runId,
        hostScript: req.hostScript,
        deadlineSeconds,
      });
      return asResult(await runPodToCompletion(clients(cluster).core, body, waitOptions));
    },
  };
}
