/** The resource types the simulated API server serves, with the metadata discovery reports. */
export interface ResourceType {
  group: string; // '' for core
  version: string;
  apiVersion: string; // 'v1' | 'apps/v1'
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  subresources: string[]; // e.g. ['log','status']
  selectableFields: string[];
}

const COMMON_FIELDS = ['metadata.name', 'metadata.namespace'];

function rt(
  group: string,
  plural: string,
  singular: string,
  kind: string,
  namespaced: boolean,
  extra: Partial<Pick<ResourceType, 'shortNames' | 'categories' | 'subresources' | 'selectableFields'>> = {},
): ResourceType {
  const version = 'v1';
  return {
    group,
    version,
    apiVersion: group === '' ? version : `${group}/${version}`,
    plural,
    singular,
    kind,
    namespaced,
    shortNames: extra.shortNames ?? [],
    categories: extra.categories ?? [],
    subresources: extra.subresources ?? [],
    selectableFields: [...COMMON_FIELDS, ...(extra.selectableFields ?? [])],
  };
}

const CORE_EVENT_FIELDS = [
  'involvedObject.kind',
  'involvedObject.namespace',
  'involvedObject.name',
  'involvedObject.uid',
  'involvedObject.apiVersion',
  'involvedObject.resourceVersion',
  'involvedObject.fieldPath',
  'reason',
  'reportingComponent',
  'source',
  'type',
];

export const RESOURCE_TYPES: readonly ResourceType[] = [
  rt('', 'namespaces', 'namespace', 'Namespace', false, {
    shortNames: ['ns'],
    subresources: ['status'],
    selectableFields: ['status.phase'],
  }),
  rt('', 'nodes', 'node', 'Node', false, {
    shortNames: ['no'],
    subresources: ['status'],
    selectableFields: ['spec.unschedulable'],
  }),
  rt('', 'pods', 'pod', 'Pod', true, {
    shortNames: ['po'],
    categories: ['all'],
    subresources: ['log', 'status'],
    selectableFields: [
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'spec.hostNetwork',
      'status.phase',
      'status.podIP',
      'status.nominatedNodeName',
    ],
  }),
  rt('', 'events', 'event', 'Event', true, { shortNames: ['ev'], selectableFields: CORE_EVENT_FIELDS }),
  rt('', 'configmaps', 'configmap', 'ConfigMap', true, { shortNames: ['cm'] }),
  rt('', 'secrets', 'secret', 'Secret', true, { selectableFields: ['type'] }),
  rt('', 'serviceaccounts', 'serviceaccount', 'ServiceAccount', true, { shortNames: ['sa'] }),
  rt('', 'services', 'service', 'Service', true, {
    shortNames: ['svc'],
    categories: ['all'],
    subresources: ['status'],
  }),
  rt('apps', 'daemonsets', 'daemonset', 'DaemonSet', true, {
    shortNames: ['ds'],
    categories: ['all'],
    subresources: ['status'],
  }),
  rt('apps', 'replicasets', 'replicaset', 'ReplicaSet', true, {
    shortNames: ['rs'],
    categories: ['all'],
    subresources: ['status'],
  }),
  rt('apps', 'deployments', 'deployment', 'Deployment', true, {
    shortNames: ['deploy'],
    categories: ['all'],
    subresources: ['status'],
  }),
  // Stored and validated (deploy/components/redis), not run: no controller creates their pods.
  rt('apps', 'statefulsets', 'statefulset', 'StatefulSet', true, {
    shortNames: ['sts'],
    categories: ['all'],
    subresources: ['status'],
  }),
  rt('batch', 'jobs', 'job', 'Job', true, {
    categories: ['all'],
    subresources: ['status'],
    selectableFields: ['status.successful'],
  }),
  rt('rbac.authorization.k8s.io', 'clusterroles', 'clusterrole', 'ClusterRole', false),
  rt('rbac.authorization.k8s.io', 'clusterrolebindings', 'clusterrolebinding', 'ClusterRoleBinding', false),
  rt('rbac.authorization.k8s.io', 'roles', 'role', 'Role', true),
  rt('rbac.authorization.k8s.io', 'rolebindings', 'rolebinding', 'RoleBinding', true),
  // events.k8s.io/v1 is a second view of the core events: same storage, renamed fields (see storageResource).
  // No short name: kubectl would warn that `ev` is ambiguous.
  rt('events.k8s.io', 'events', 'event', 'Event', true, {
    selectableFields: [
      ...CORE_EVENT_FIELDS,
      'regarding.kind',
      'regarding.namespace',
      'regarding.name',
      'regarding.uid',
      'regarding.apiVersion',
      'regarding.resourceVersion',
      'regarding.fieldPath',
      'reportingController',
    ],
  }),
  rt('coordination.k8s.io', 'leases', 'lease', 'Lease', true),
  // Stored and validated (deploy/base), not enforced: no eviction API, no policy engine.
  rt('policy', 'poddisruptionbudgets', 'poddisruptionbudget', 'PodDisruptionBudget', true, {
    shortNames: ['pdb'],
    subresources: ['status'],
  }),
  rt('networking.k8s.io', 'networkpolicies', 'networkpolicy', 'NetworkPolicy', true, {
    shortNames: ['netpol'],
  }),
];

/** Resource for a kind (`Pod`), plural (`pods`), singular or short name; core group wins for `Event`. */
export function resourceForKind(kind: string): ResourceType {
  const found = findResource(kind);
  if (!found) throw new Error(`unknown resource kind "${kind}"`);
  return found;
}

export function findResource(kindOrName: string, group?: string): ResourceType | undefined {
  const lower = kindOrName.toLowerCase();
  return RESOURCE_TYPES.find(
    (r) =>
      (group === undefined || r.group === group) &&
      (r.kind === kindOrName ||
        r.plural === lower ||
        r.singular === lower ||
        r.kind.toLowerCase() === lower ||
        r.shortNames.includes(lower)),
  );
}

/** Resource for an apiVersion + kind pair, e.g. ('events.k8s.io/v1', 'Event'). */
export function resourceForGvk(apiVersion: string, kind: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((r) => r.apiVersion === apiVersion && r.kind === kind);
}

/** Resource served at /api/v1 or /apis/{group}/{version} under `plural`. */
export function resourceForPath(group: string, version: string, plural: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

/** The resource whose storage backs `r` (events.k8s.io events are stored as core events). */
export function storageResource(r: ResourceType): ResourceType {
  if (r.group === 'events.k8s.io' && r.plural === 'events') return resourceForKind('Event');
  return r;
}

export function isEventsV1View(r: ResourceType): boolean {
  return r.group === 'events.k8s.io';
}
