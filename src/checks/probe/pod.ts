/**
 * The short-lived pod that runs flannel-probe.sh on one node: pinned to the node, hostNetwork (so
 * it starts while the CNI is broken and sees the node's devices), tolerating every taint, with the
 * node's CNI directories mounted read-only.
 */
import { readFileSync } from 'node:fs';
import type { V1Pod, V1Volume, V1VolumeMount, V1EnvVar } from '@kubernetes/client-node';

export const PROBE_APP_LABEL = 'flannel-ops-probe';
export const MANAGED_BY = 'flannel-ops';
export const RUN_LABEL = 'flannel-ops/run';
export const PROBE_CONTAINER = 'probe';
export const PROBE_POD_PREFIX = 'flannel-ops-probe-';

/**
 * The host directories the probe reads. Each env var is set to exactly the mountPath: the
 * simulator maps mountPaths (and env values equal to them) into its simulated node trees.
 */
export const PROBE_MOUNTS = [
  { env: 'CNI_CONF_DIR', volume: 'cni-conf', hostPath: '/etc/cni/net.d' },
  { env: 'CNI_BIN_DIR', volume: 'cni-bin', hostPath: '/opt/cni/bin' },
  { env: 'FLANNEL_RUN_DIR', volume: 'flannel-run', hostPath: '/run/flannel' },
  { env: 'CNI_IPAM_DIR', volume: 'cni-ipam', hostPath: '/var/lib/cni/networks' },
  { env: 'NETNS_DIR', volume: 'netns', hostPath: '/var/run/netns' },
] as const;

export const PROBE_HOST_ROOT = '/host';

/**
 * Optionally (FLANNEL_OPS_PROBE_CRI_SOCKET_DIR, e.g. /run/containerd) the container runtime's socket directory,
 * mounted read-only so `crictl pods` (when the probe image has crictl) can list the sandboxes, Ready and
 * NotReady: a NotReady sandbox still holds its IP (domain/flannel.md §2), and without this view the diagnosis
 * may count its IP as leaked (the release step re-checks with crictl anyway). Off by default: whoever can reach
 * the runtime's socket can start containers, so it is root on the node; the probe itself only lists.
 */
export function criEndpoint(socketDir: string): string {
  return `unix://${PROBE_HOST_ROOT}${socketDir}/containerd.sock`;
}

export interface ProbePodOptions {
  node: string;
  namespace: string;
  image: string;
  runId: string;
  deadlineSeconds: number;
  script: string;
  /** The runtime's socket directory on the node, to let the probe list sandboxes (opt-in, see above). */
  criSocketDir?: string;
}

export function buildProbePod(opts: ProbePodOptions): V1Pod {
  const mountPath = (hostPath: string) => `${PROBE_HOST_ROOT}${hostPath}`;
  const env: V1EnvVar[] = [
    { name: 'NODE_NAME', value: opts.node },
    { name: 'HOST_ROOT', value: PROBE_HOST_ROOT },
    ...PROBE_MOUNTS.map((m) => ({ name: m.env, value: mountPath(m.hostPath) })),
    ...(opts.criSocketDir
      ? [{ name: 'CONTAINER_RUNTIME_ENDPOINT', value: criEndpoint(opts.criSocketDir) }]
      : []),
  ];
  // No hostPath `type`: a check type (Directory) would keep the pod from starting on exactly the
  // nodes we need to look at, e.g. one without /run/flannel.
  const volumes: V1Volume[] = [
    ...PROBE_MOUNTS.map((m) => ({ name: m.volume, hostPath: { path: m.hostPath } })),
    ...(opts.criSocketDir ? [{ name: 'cri', hostPath: { path: opts.criSocketDir } }] : []),
  ];
  const volumeMounts: V1VolumeMount[] = [
    ...PROBE_MOUNTS.map((m) => ({
      name: m.volume,
      mountPath: mountPath(m.hostPath),
      readOnly: true,
    })),
    ...(opts.criSocketDir ? [{ name: 'cri', mountPath: mountPath(opts.criSocketDir), readOnly: true }] : []),
  ];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: PROBE_POD_PREFIX,
      namespace: opts.namespace,
      labels: {
        'app.kubernetes.io/name': PROBE_APP_LABEL,
        'app.kubernetes.io/managed-by': MANAGED_BY,
        [RUN_LABEL]: opts.runId,
      },
      annotations: { 'flannel-ops/node': opts.node },
    },
    spec: {
      nodeName: opts.node,
      hostNetwork: true,
      dnsPolicy: 'ClusterFirstWithHostNet',
      restartPolicy: 'Never',
      activeDeadlineSeconds: opts.deadlineSeconds,
      terminationGracePeriodSeconds: 0,
      tolerations: [{ operator: 'Exists' }],
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      securityContext: { runAsUser: 0, runAsNonRoot: false, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: PROBE_CONTAINER,
          image: opts.image,
          imagePullPolicy: 'IfNotPresent',
          command: ['/bin/sh', '-c', opts.script],
          env,
          volumeMounts,
          resources: {
            requests: { cpu: '10m', memory: '16Mi' },
            limits: { cpu: '200m', memory: '64Mi' },
          },
          // Root is needed only to read the 0600 reservation files, which root owns; no capability is.
          securityContext: {
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            privileged: false,
            capabilities: { drop: ['ALL'] },
          },
          terminationMessagePolicy: 'FallbackToLogsOnError',
        },
      ],
      volumes,
    },
  };
}

let cachedScript: string | undefined;

/** The probe script's text (shipped next to this module, or in src/ when running from dist/). */
export function readProbeScript(): string {
  if (cachedScript !== undefined) return cachedScript;
  const candidates = [
    new URL('./flannel-probe.sh', import.meta.url),
    new URL('../../../../src/checks/probe/flannel-probe.sh', import.meta.url),
  ];
  for (const url of candidates) {
    try {
      cachedScript = readFileSync(url, 'utf8');
      return cachedScript;
    } catch {
      // try the next location
    }
  }
  throw new Error(
    `probe script flannel-probe.sh not found (looked at ${candidates.map((u) => u.pathname).join(', ')})`,
  );
}
