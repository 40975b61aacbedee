/**
 * Where a DaemonSet's pods may run (pure): node selector, required node affinity, and taints against the
 * pod template's tolerations plus the ones the DaemonSet controller adds to every daemon pod
 * (kubernetes pkg/controller/daemon/util AddOrUpdateDaemonPodTolerations). Only NoSchedule and NoExecute
 * taints keep a pod off a node. Used to find nodes that need Flannel but that its DaemonSet never schedules
 * a pod on, and to say which taint or label is in the way.
 */

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}

export interface NodeSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
}

export interface PlacementSpec {
  tolerations: Toleration[];
  nodeSelector: Record<string, string>;
  /** requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms (ORed); empty = no constraint. */
  nodeAffinity?: NodeSelectorTerm[];
  hostNetwork?: boolean;
}

export interface PlacementNode {
  name: string;
  labels: Record<string, string>;
  taints: Taint[];
}

export interface PlacementVerdict {
  fits: boolean;
  /** NoSchedule/NoExecute taints no toleration matches. */
  untolerated: Taint[];
  /** nodeSelector entries the node's labels do not satisfy, as `key=value (node has: x)`. */
  selector: string[];
  /** The required node affinity matches no term. */
  affinity: boolean;
}

/** What the DaemonSet controller adds to every daemon pod. */
export function daemonSetDefaultTolerations(hostNetwork: boolean): Toleration[] {
  const t: Toleration[] = [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
  ];
  if (hostNetwork)
    t.push({ key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' });
  return t;
}

export function tolerates(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  const operator = toleration.operator ?? 'Equal';
  if (!toleration.key) return operator === 'Exists';
  if (toleration.key !== taint.key) return false;
  return operator === 'Exists' || (toleration.value ?? '') === (taint.value ?? '');
}

function requirementMatches(req: NodeSelectorRequirement, value: string | undefined): boolean {
  const values = req.values ?? [];
  switch (req.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
      return value !== undefined && Number(value) > Number(values[0]);
    case 'Lt':
      return value !== undefined && Number(value) < Number(values[0]);
    default:
      return false;
  }
}

function termMatches(term: NodeSelectorTerm, node: PlacementNode): boolean {
  return (
    (term.matchExpressions ?? []).every((req) => requirementMatches(req, node.labels[req.key])) &&
    (term.matchFields ?? []).every((req) =>
      requirementMatches(req, req.key === 'metadata.name' ? node.name : undefined),
    )
  );
}

export function placeDaemonPod(spec: PlacementSpec, node: PlacementNode): PlacementVerdict {
  const tolerations = [...spec.tolerations, ...daemonSetDefaultTolerations(spec.hostNetwork === true)];
  const untolerated = node.taints.filter(
    (taint) =>
      (taint.effect === 'NoSchedule' || taint.effect === 'NoExecute') &&
      !tolerations.some((t) => tolerates(t, taint)),
  );
  const selector = Object.entries(spec.nodeSelector)
    .filter(([k, v]) => node.labels[k] !== v)
    .map(
      ([k, v]) =>
        `${k}=${v} (node has ${node.labels[k] === undefined ? 'no such label' : `${k}=${node.labels[k]}`})`,
    );
  const terms = spec.nodeAffinity ?? [];
  const affinity = terms.length > 0 && !terms.some((t) => termMatches(t, node));
  return {
    fits: untolerated.length === 0 && selector.length === 0 && !affinity,
    untolerated,
    selector,
    affinity,
  };
}

/** `key=value:Effect` as kubectl prints a taint. */
export function formatTaint(t: Taint): string {
  return `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`;
}

/** The toleration that lets a daemon pod onto a node with this taint (any value of the key). */
export function tolerationFor(t: Taint): Toleration {
  return { key: t.key, operator: 'Exists', effect: t.effect };
}
