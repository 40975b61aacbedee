/** meta.k8s.io/v1 Table rendering, with the columns and cell wording of the real server's printers. */
import type { KubeObject } from '../store.js';
import type { ResourceType } from '../resources.js';

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

type Cell = string | number;

interface Printer {
  columns: Array<[name: string, type: string, priority?: number]>;
  cells(obj: KubeObject, now: number): Cell[];
}

/** kubectl's duration.HumanDuration (apimachinery/pkg/util/duration). */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const years = Math.floor(hours / 24 / 365);
  if (years < 8) {
    const d = Math.floor(hours / 24) % 365;
    return d === 0 ? `${years}y` : `${years}y${d}d`;
  }
  return `${years}y`;
}

function since(ts: unknown, now: number): string {
  if (typeof ts !== 'string' || ts === '') return '<unknown>';
  return humanDuration(now - Date.parse(ts));
}

function age(obj: KubeObject, now: number): string {
  return since(obj.metadata.creationTimestamp, now);
}

interface ContainerStatus {
  name?: string;
  ready?: boolean;
  restartCount?: number;
  state?: {
    waiting?: { reason?: string };
    running?: { startedAt?: string };
    terminated?: { reason?: string; exitCode?: number; signal?: number; finishedAt?: string };
  };
  lastState?: { terminated?: { finishedAt?: string } };
}

interface PodStatus {
  phase?: string;
  reason?: string;
  podIP?: string;
  nominatedNodeName?: string;
  conditions?: Array<{ type: string; status: string }>;
  initContainerStatuses?: ContainerStatus[];
  containerStatuses?: ContainerStatus[];
}

/** The STATUS column as kubectl's printPod computes it. */
export function podStatusText(pod: KubeObject): string {
  const status = (pod.status ?? {}) as PodStatus;
  const spec = (pod.spec ?? {}) as { initContainers?: unknown[] };
  let reason = status.reason || status.phase || 'Unknown';
  let initializing = false;
  const inits = status.initContainerStatuses ?? [];
  for (let i = 0; i < inits.length; i++) {
    const c = inits[i];
    const t = c.state?.terminated;
    if (t && t.exitCode === 0) continue;
    if (t) {
      reason = t.reason
        ? `Init:${t.reason}`
        : t.signal
          ? `Init:Signal:${t.signal}`
          : `Init:ExitCode:${t.exitCode}`;
    } else if (c.state?.waiting?.reason && c.state.waiting.reason !== 'PodInitializing') {
      reason = `Init:${c.state.waiting.reason}`;
    } else {
      reason = `Init:${i}/${spec.initContainers?.length ?? inits.length}`;
    }
    initializing = true;
    break;
  }
  if (!initializing) {
    let hasRunning = false;
    const cs = status.containerStatuses ?? [];
    for (let i = cs.length - 1; i >= 0; i--) {
      const c = cs[i];
      if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
      else if (c.state?.terminated?.reason) reason = c.state.terminated.reason;
      else if (c.state?.terminated) {
        const t = c.state.terminated;
        reason = t.signal ? `Signal:${t.signal}` : `ExitCode:${t.exitCode}`;
      } else if (c.state?.running && c.ready) hasRunning = true;
    }
    if (reason === 'Completed' && hasRunning) {
      const ready = status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      reason = ready ? 'Running' : 'NotReady';
    }
  }
  if (pod.metadata.deletionTimestamp && status.reason === 'NodeLost') reason = 'Unknown';
  else if (pod.metadata.deletionTimestamp) reason = 'Terminating';
  return reason;
}

function podRestarts(pod: KubeObject, now: number): string {
  const status = (pod.status ?? {}) as PodStatus;
  let restarts = 0;
  let last: number | undefined;
  for (const c of [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])]) {
    restarts += c.restartCount ?? 0;
    const finished = c.lastState?.terminated?.finishedAt;
    if (finished) last = Math.max(last ?? 0, Date.parse(finished));
  }
  return last !== undefined && restarts > 0
    ? `${restarts} (${humanDuration(now - last)} ago)`
    : String(restarts);
}

function podReady(pod: KubeObject): string {
  const spec = (pod.spec ?? {}) as { containers?: unknown[] };
  const cs = ((pod.status ?? {}) as PodStatus).containerStatuses ?? [];
  const ready = cs.filter((c) => c.ready && c.state?.running).length;
  return `${ready}/${spec.containers?.length ?? cs.length}`;
}

function nodeStatus(node: KubeObject): string {
  const conds = ((node.status as { conditions?: Array<{ type: string; status: string }> } | undefined)
    ?.conditions ?? []) as Array<{ type: string; status: string }>;
  const ready = conds.find((c) => c.type === 'Ready');
  const parts = [!ready ? 'Unknown' : ready.status === 'True' ? 'Ready' : 'NotReady'];
  if ((node.spec as { unschedulable?: boolean } | undefined)?.unschedulable) parts.push('SchedulingDisabled');
  return parts.join(',');
}

function nodeRoles(node: KubeObject): string {
  const roles = Object.keys(node.metadata.labels ?? {})
    .filter((l) => l.startsWith('node-role.kubernetes.io/'))
    .map((l) => l.slice('node-role.kubernetes.io/'.length))
    .filter((r) => r !== '');
  return roles.length > 0 ? roles.sort().join(',') : '<none>';
}

function nodeSelector(sel: unknown): string {
  if (!sel || typeof sel !== 'object' || Object.keys(sel).length === 0) return '<none>';
  return Object.entries(sel as Record<string, string>)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}

function containersOf(template: unknown): Array<{ name?: string; image?: string }> {
  return ((template as { spec?: { containers?: Array<{ name?: string; image?: string }> } } | undefined)?.spec
    ?.containers ?? []) as Array<{ name?: string; image?: string }>;
}

function selectorText(selector: unknown): string {
  const ml = (selector as { matchLabels?: Record<string, string> } | undefined)?.matchLabels;
  return ml ? nodeSelector(ml) : '<none>';
}

const PRINTERS: Record<string, Printer> = {
  Pod: {
    columns: [
      ['Name', 'string'],
      ['Ready', 'string'],
      ['Status', 'string'],
      ['Restarts', 'string'],
      ['Age', 'string'],
      ['IP', 'string'],
      ['Node', 'string'],
      ['Nominated Node', 'string', 1],
      ['Readiness Gates', 'string', 1],
    ],
    cells: (pod, now) => {
      const status = (pod.status ?? {}) as PodStatus;
      return [
        pod.metadata.name,
        podReady(pod),
        podStatusText(pod),
        podRestarts(pod, now),
        age(pod, now),
        status.podIP || '<none>',
        ((pod.spec ?? {}) as { nodeName?: string }).nodeName || '<none>',
        status.nominatedNodeName || '<none>',
        '<none>',
      ];
    },
  },
  Node: {
    columns: [
      ['Name', 'string'],
      ['Status', 'string'],
      ['Roles', 'string'],
      ['Age', 'string'],
      ['Version', 'string'],
      ['Internal-IP', 'string', 1],
      ['OS-Image', 'string', 1],
      ['Kernel-Version', 'string', 1],
      ['Container-Runtime', 'string', 1],
    ],
    cells: (node, now) => {
      const st = (node.status ?? {}) as {
        addresses?: Array<{ type: string; address: string }>;
        nodeInfo?: Record<string, string>;
      };
      const info = st.nodeInfo ?? {};
      return [
        node.metadata.name,
        nodeStatus(node),
        nodeRoles(node),
        age(node, now),
        info.kubeletVersion ?? '',
        st.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '<none>',
        info.osImage ?? '<unknown>',
        info.kernelVersion ?? '<unknown>',
        info.containerRuntimeVersion ?? '<unknown>',
      ];
    },
  },
  Event: {
    columns: [
      ['Last Seen', 'string'],
      ['Type', 'string'],
      ['Reason', 'string'],
      ['Object', 'string'],
      ['Subobject', 'string', 1],
      ['Source', 'string', 1],
      ['Message', 'string'],
      ['First Seen', 'string', 1],
      ['Count', 'string', 1],
      ['Name', 'string', 1],
    ],
    cells: (ev, now) => {
      const io = (ev.involvedObject ?? {}) as { kind?: string; name?: string; fieldPath?: string };
      const src = (ev.source ?? {}) as { component?: string; host?: string };
      const count = num(ev.count) || num((ev.series as { count?: number } | undefined)?.count) || 1;
      const last = (ev.lastTimestamp as string) || (ev.eventTime as string) || ev.metadata.creationTimestamp;
      const first =
        (ev.firstTimestamp as string) || (ev.eventTime as string) || ev.metadata.creationTimestamp;
      const lastSeen =
        count > 1 ? `${since(last, now)} (x${count} over ${since(first, now)})` : since(last, now);
      return [
        lastSeen,
        String(ev.type ?? ''),
        String(ev.reason ?? ''),
        `${String(io.kind ?? '').toLowerCase()}/${io.name ?? ''}`,
        io.fieldPath ?? '',
        [src.component || String(ev.reportingComponent ?? ''), src.host].filter(Boolean).join(', '),
        String(ev.message ?? ''),
        since(first, now),
        count,
        ev.metadata.name,
      ];
    },
  },
  DaemonSet: {
    columns: [
      ['Name', 'string'],
      ['Desired', 'integer'],
      ['Current', 'integer'],
      ['Ready', 'integer'],
      ['Up-to-date', 'integer'],
      ['Available', 'integer'],
      ['Node Selector', 'string'],
      ['Age', 'string'],
      ['Containers', 'string', 1],
      ['Images', 'string', 1],
      ['Selector', 'string', 1],
    ],
    cells: (ds, now) => {
      const st = (ds.status ?? {}) as Record<string, unknown>;
      const spec = (ds.spec ?? {}) as {
        template?: { spec?: { nodeSelector?: unknown } };
        selector?: unknown;
      };
      const cs = containersOf(spec.template);
      return [
        ds.metadata.name,
        num(st.desiredNumberScheduled),
        num(st.currentNumberScheduled),
        num(st.numberReady),
        num(st.updatedNumberScheduled),
        num(st.numberAvailable),
        nodeSelector(spec.template?.spec?.nodeSelector),
        age(ds, now),
        cs.map((c) => c.name).join(','),
        cs.map((c) => c.image).join(','),
        selectorText(spec.selector),
      ];
    },
  },
  Deployment: {
    columns: [
      ['Name', 'string'],
      ['Ready', 'string'],
      ['Up-to-date', 'string'],
      ['Available', 'string'],
      ['Age', 'string'],
      ['Containers', 'string', 1],
      ['Images', 'string', 1],
      ['Selector', 'string', 1],
    ],
    cells: (d, now) => {
      const st = (d.status ?? {}) as Record<string, unknown>;
      const spec = (d.spec ?? {}) as { replicas?: number; template?: unknown; selector?: unknown };
      const cs = containersOf(spec.template);
      return [
        d.metadata.name,
        `${num(st.readyReplicas)}/${spec.replicas ?? 1}`,
        num(st.updatedReplicas),
        num(st.availableReplicas),
        age(d, now),
        cs.map((c) => c.name).join(','),
        cs.map((c) => c.image).join(','),
        selectorText(spec.selector),
      ];
    },
  },
  ReplicaSet: {
    columns: [
      ['Name', 'string'],
      ['Desired', 'integer'],
      ['Current', 'integer'],
      ['Ready', 'integer'],
      ['Age', 'string'],
      ['Containers', 'string', 1],
      ['Images', 'string', 1],
      ['Selector', 'string', 1],
    ],
    cells: (rs, now) => {
      const st = (rs.status ?? {}) as Record<string, unknown>;
      const spec = (rs.spec ?? {}) as { replicas?: number; template?: unknown; selector?: unknown };
      const cs = containersOf(spec.template);
      return [
        rs.metadata.name,
        spec.replicas ?? 1,
        num(st.replicas),
        num(st.readyReplicas),
        age(rs, now),
        cs.map((c) => c.name).join(','),
        cs.map((c) => c.image).join(','),
        selectorText(spec.selector),
      ];
    },
  },
  Namespace: {
    columns: [
      ['Name', 'string'],
      ['Status', 'string'],
      ['Age', 'string'],
    ],
    cells: (ns, now) => [
      ns.metadata.name,
      String((ns.status as { phase?: string } | undefined)?.phase ?? 'Active'),
      age(ns, now),
    ],
  },
  ConfigMap: {
    columns: [
      ['Name', 'string'],
      ['Data', 'integer'],
      ['Age', 'string'],
    ],
    cells: (cm, now) => [
      cm.metadata.name,
      Object.keys((cm.data as object) ?? {}).length + Object.keys((cm.binaryData as object) ?? {}).length,
      age(cm, now),
    ],
  },
  Secret: {
    columns: [
      ['Name', 'string'],
      ['Type', 'string'],
      ['Data', 'integer'],
      ['Age', 'string'],
    ],
    cells: (s, now) => [
      s.metadata.name,
      String(s.type ?? 'Opaque'),
      Object.keys((s.data as object) ?? {}).length,
      age(s, now),
    ],
  },
  Lease: {
    columns: [
      ['Name', 'string'],
      ['Holder', 'string'],
      ['Age', 'string'],
    ],
    cells: (l, now) => [
      l.metadata.name,
      String((l.spec as { holderIdentity?: string } | undefined)?.holderIdentity ?? ''),
      age(l, now),
    ],
  },
};

const GENERIC: Printer = {
  columns: [
    ['Name', 'string'],
    ['Age', 'string'],
  ],
  cells: (o, now) => [o.metadata.name, age(o, now)],
};

function printerFor(kind: string): Printer {
  return PRINTERS[kind] ?? GENERIC;
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

function rowObject(obj: KubeObject, include: IncludeObject): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return obj;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

function columnDefinitions(p: Printer): Column[] {
  return p.columns.map(([name, type, priority]) => ({
    name,
    type,
    format: name === 'Name' ? 'name' : '',
    description: '',
    priority: priority ?? 0,
  }));
}

/** A Table for a list (or for one watch event when `objects` has one item). */
export function renderTable(
  resource: ResourceType,
  objects: KubeObject[],
  meta: { resourceVersion: string; continue?: string },
  include: IncludeObject = 'Metadata',
  now = Date.now(),
): Record<string, unknown> {
  // The events.k8s.io view prints from core field names.
  const p = printerFor(resource.kind);
  const metadata: Record<string, string> = { resourceVersion: meta.resourceVersion };
  if (meta.continue) metadata.continue = meta.continue;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: columnDefinitions(p),
    rows: objects.map((o) => {
      const row: Record<string, unknown> = { cells: p.cells(o, now) };
      const ro = rowObject(o, include);
      if (ro) row.object = ro;
      return row;
    }),
  };
}

/** True when the Accept header asks for a meta.k8s.io/v1 Table. */
export function wantsTable(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((part) => {
    const params = part.split(';').map((s) => s.trim());
    return params.includes('as=Table') && params.includes('g=meta.k8s.io') && params.includes('v=v1');
  });
}
