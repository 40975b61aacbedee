/**
 * Pure placement rules shared by the scheduler and the DaemonSet controller: node selectors,
 * required node affinity, and taints vs tolerations (only NoSchedule/NoExecute block placement).
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

interface NodeSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
}

export interface PlacementSpec {
  nodeSelector?: Record<string, string>;
  affinity?: {
    nodeAffinity?: {
      requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: NodeSelectorTerm[] };
    };
  };
  tolerations?: Toleration[];
}

export interface NodeFacts {
  name: string;
  labels: Record<string, string>;
  taints: Taint[];
  unschedulable: boolean;
}

export function tolerates(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  const operator = toleration.operator ?? 'Equal';
  if (!toleration.key) return operator === 'Exists';
  if (toleration.key !== taint.key) return false;
  return operator === 'Exists' || (toleration.value ?? '') === (taint.value ?? '');
}

/** The taints that keep a pod with these tolerations off the node (empty = allowed). */
export function untoleratedTaints(tolerations: Toleration[], taints: Taint[]): Taint[] {
  return taints.filter(
    (taint) =>
      (taint.effect === 'NoSchedule' || taint.effect === 'NoExecute') &&
      !tolerations.some((t) => tolerates(t, taint)),
  );
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

/** nodeSelector and required node affinity (terms are ORed, expressions within a term ANDed). */
export function selectorsMatch(spec: PlacementSpec, node: NodeFacts): boolean {
  for (const [k, v] of Object.entries(spec.nodeSelector ?? {})) if (node.labels[k] !== v) return false;
  const terms =
    spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (!terms || terms.length === 0) return true;
  return terms.some(
    (term) =>
      (term.matchExpressions ?? []).every((req) => requirementMatches(req, node.labels[req.key])) &&
      (term.matchFields ?? []).every((req) =>
        requirementMatches(req, req.key === 'metadata.name' ? node.name : undefined),
      ),
  );
}

/** Tolerations the DaemonSet controller adds to every daemon pod (pkg/controller/daemon/util). */
export function daemonSetTolerations(hostNetwork: boolean): Toleration[] {
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

/** Merges tolerations without duplicating equal entries. */
export function withTolerations(existing: Toleration[], extra: Toleration[]): Toleration[] {
  const out = [...existing];
  for (const t of extra) {
    if (
      !out.some(
        (e) => e.key === t.key && e.operator === t.operator && e.effect === t.effect && e.value === t.value,
      )
    )
      out.push(t);
  }
  return out;
}

/** Whether a daemon pod belongs on the node (unschedulable is ignored: daemon pods tolerate cordons). */
export function daemonPodFits(spec: PlacementSpec, hostNetwork: boolean, node: NodeFacts): boolean {
  const tolerations = withTolerations(spec.tolerations ?? [], daemonSetTolerations(hostNetwork));
  return selectorsMatch(spec, node) && untoleratedTaints(tolerations, node.taints).length === 0;
}

/**
 * Whether a daemon pod already on the node may stay (the controller's shouldContinueRunning): its selector
 * and affinity still match and no NoExecute taint is untolerated. A NoSchedule taint added later keeps new
 * pods off but evicts nothing.
 */
export function daemonPodMayStay(spec: PlacementSpec, hostNetwork: boolean, node: NodeFacts): boolean {
  const tolerations = withTolerations(spec.tolerations ?? [], daemonSetTolerations(hostNetwork));
  return (
    selectorsMatch(spec, node) &&
    untoleratedTaints(tolerations, node.taints).every((t) => t.effect !== 'NoExecute')
  );
}

/** Whether the scheduler may bind a regular pod to the node. */
export function podFits(spec: PlacementSpec, node: NodeFacts): boolean {
  if (node.unschedulable && !(spec.tolerations ?? []).some((t) => tolerates(t, unschedulableTaint)))
    return false;
  return selectorsMatch(spec, node) && untoleratedTaints(spec.tolerations ?? [], node.taints).length === 0;
}

const unschedulableTaint: Taint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };
