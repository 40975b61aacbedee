/**
 * The container runtime's view of a node's pod sandboxes, as `crictl pods` and `crictl inspectp` show
 * it (containerd's CRI plugin shape, domain/flannel.md §2). Pure: the kubelet supplies the sandboxes.
 */
import { createHash } from 'node:crypto';

export interface CriSandbox {
  id: string;
  name: string;
  namespace: string;
  uid: string;
  attempt: number;
  /** SANDBOX_READY while the kubelet runs the pod; SANDBOX_NOTREADY once stopped or orphaned. */
  ready: boolean;
  /** ISO 8601. */
  createdAt: string;
  /** The pod IP the runtime recorded; '' for host-network sandboxes. A NOTREADY sandbox keeps it until DEL. */
  ip: string;
  /** Host path of the network namespace (`/var/run/netns/cni-...`); absent for host-network sandboxes. */
  netnsPath?: string;
  hostNetwork: boolean;
  hostPID: boolean;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** Go's RFC3339Nano as containerd prints timestamps: 9 fractional digits. */
export function rfc3339Nano(iso: string): string {
  const ms = Date.parse(iso);
  const d = new Date(Number.isNaN(ms) ? 0 : ms).toISOString();
  return d.replace(/\.(\d{3})Z$/, '.$1000000Z');
}

function criLabels(sb: CriSandbox): Record<string, string> {
  return {
    ...sb.labels,
    'io.kubernetes.pod.name': sb.name,
    'io.kubernetes.pod.namespace': sb.namespace,
    'io.kubernetes.pod.uid': sb.uid,
  };
}

function fakePid(id: string): number {
  return 1000 + (parseInt(createHash('sha256').update(`pid/${id}`).digest('hex').slice(0, 4), 16) % 60000);
}

/**
 * `crictl inspectp -o json ID` for one sandbox. `pathPrefix` goes in front of host paths (the netns
 * path), for callers that see the node's `/` somewhere else.
 */
export function inspectSandbox(sb: CriSandbox, pathPrefix = ''): Record<string, unknown> {
  const metadata = { attempt: sb.attempt, name: sb.name, namespace: sb.namespace, uid: sb.uid };
  const labels = criLabels(sb);
  const logDirectory = `/var/log/pods/${sb.namespace}_${sb.name}_${sb.uid}`;
  const namespaces: Array<Record<string, string>> = [
    ...(sb.hostPID ? [] : [{ type: 'pid' }]),
    { type: 'ipc' },
    { type: 'uts' },
    { type: 'mount' },
    ...(sb.hostNetwork ? [] : [{ type: 'network', path: `${pathPrefix}${sb.netnsPath ?? ''}` }]),
  ];
  return {
    status: {
      id: sb.id,
      metadata,
      state: sb.ready ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY',
      createdAt: rfc3339Nano(sb.createdAt),
      network: { additionalIps: [], ip: sb.ip },
      linux: {
        namespaces: {
          options: {
            ipc: 'POD',
            network: sb.hostNetwork ? 'NODE' : 'POD',
            pid: sb.hostPID ? 'NODE' : 'CONTAINER',
            targetId: '',
            usernsOptions: null,
          },
        },
      },
      labels,
      annotations: sb.annotations,
      runtimeHandler: '',
    },
    info: {
      pid: sb.ready ? fakePid(sb.id) : 0,
      processStatus: sb.ready ? 'running' : 'deleted',
      netNamespaceClosed: false,
      image: 'registry.k8s.io/pause:3.10',
      snapshotKey: sb.id,
      snapshotter: 'overlayfs',
      runtimeHandler: '',
      runtimeType: 'io.containerd.runc.v2',
      runtimeOptions: { systemd_cgroup: true },
      config: {
        metadata: { name: sb.name, uid: sb.uid, namespace: sb.namespace, attempt: sb.attempt },
        hostname: sb.hostNetwork ? '' : sb.name,
        log_directory: logDirectory,
        labels,
        annotations: sb.annotations,
        linux: {
          security_context: {
            namespace_options: {
              ...(sb.hostNetwork ? { network: 2 } : {}),
              ...(sb.hostPID ? { pid: 2 } : { pid: 1 }),
            },
          },
        },
      },
      runtimeSpec: {
        ociVersion: '1.1.0',
        process: { args: ['/pause'], cwd: '/' },
        root: { path: 'rootfs', readonly: true },
        hostname: sb.hostNetwork ? '' : sb.name,
        annotations: {
          'io.kubernetes.cri.container-type': 'sandbox',
          'io.kubernetes.cri.sandbox-id': sb.id,
          'io.kubernetes.cri.sandbox-log-directory': logDirectory,
          'io.kubernetes.cri.sandbox-name': sb.name,
          'io.kubernetes.cri.sandbox-namespace': sb.namespace,
          'io.kubernetes.cri.sandbox-uid': sb.uid,
        },
        linux: { namespaces },
      },
    },
  };
}

/** crictl's sort for `pods`: newest first. */
export function byCreatedDesc(a: CriSandbox, b: CriSandbox): number {
  return Date.parse(b.createdAt) - Date.parse(a.createdAt) || a.id.localeCompare(b.id);
}

/** docker/go-units HumanDuration, as crictl's CREATED column uses it. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(minutes / 60);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}
