import type { KubeObject, OwnerReference } from '../store.js';
import type { NodeFacts, Taint } from './placement.js';

/** Typed views of the object fields the controllers and kubelets read (objects are plain JSON). */

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath?: string } } }>;
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean; subPath?: string }>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { privileged?: boolean; [key: string]: unknown };
}

export interface Volume {
  name: string;
  hostPath?: { path: string; type?: string };
  configMap?: { name: string; items?: Array<{ key: string; path: string }> };
  secret?: { secretName: string };
  emptyDir?: object;
}

export interface PodSpec {
  nodeName?: string;
  hostNetwork?: boolean;
  hostPID?: boolean;
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  restartPolicy?: string;
  activeDeadlineSeconds?: number;
  terminationGracePeriodSeconds?: number;
  schedulerName?: string;
  nodeSelector?: Record<string, string>;
  affinity?: Record<string, unknown>;
  tolerations?: Array<Record<string, string>>;
  [key: string]: unknown;
}

export interface LabelSelectorSpec {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: PodSpec;
}

export function podSpec(pod: KubeObject): PodSpec {
  return (pod.spec ?? { containers: [] }) as PodSpec;
}

export function podStatus(pod: KubeObject): Record<string, unknown> {
  return (pod.status ?? {}) as Record<string, unknown>;
}

export function podPhase(pod: KubeObject): string {
  return String(podStatus(pod).phase ?? 'Pending');
}

export function isPodReady(pod: KubeObject): boolean {
  const conditions = (podStatus(pod).conditions ?? []) as Array<{ type: string; status: string }>;
  return conditions.some((c) => c.type === 'Ready' && c.status === 'True');
}

export function isTerminating(obj: KubeObject): boolean {
  return Boolean(obj.metadata.deletionTimestamp);
}

export function controllerOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((o) => o.controller);
}

export function ownerRefTo(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function nodeFacts(node: KubeObject): NodeFacts {
  const spec = (node.spec ?? {}) as { taints?: Taint[]; unschedulable?: boolean };
  return {
    name: node.metadata.name,
    labels: node.metadata.labels ?? {},
    taints: spec.taints ?? [],
    unschedulable: Boolean(spec.unschedulable),
  };
}

export function nodeInternalIP(node: KubeObject): string {
  const addresses =
    (node.status as { addresses?: Array<{ type: string; address: string }> })?.addresses ?? [];
  return addresses.find((a) => a.type === 'InternalIP')?.address ?? '';
}

export function nodePodCIDR(node: KubeObject): string | undefined {
  return (node.spec as { podCIDR?: string } | undefined)?.podCIDR || undefined;
}

/** A LabelSelector as the `labelSelector` query string the store understands. */
export function selectorString(selector: LabelSelectorSpec | undefined): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(selector?.matchLabels ?? {})) parts.push(`${k}=${v}`);
  for (const e of selector?.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

/** A selector that selects nothing must not be turned into "" (which selects everything). */
export function selectsSomething(selector: LabelSelectorSpec | undefined): boolean {
  return selectorString(selector) !== '';
}

/** The default fields the API server and admission fill into a pod created from a template. */
export function podFromTemplate(
  template: PodTemplate,
  meta: {
    name: string;
    generateName: string;
    namespace: string;
    labels: Record<string, string>;
    owner: KubeObject;
  },
): KubeObject {
  const spec: PodSpec = structuredClone(template.spec);
  spec.restartPolicy = spec.restartPolicy ?? 'Always';
  spec.terminationGracePeriodSeconds = spec.terminationGracePeriodSeconds ?? 30;
  spec.dnsPolicy = spec.dnsPolicy ?? 'ClusterFirst';
  spec.schedulerName = spec.schedulerName ?? 'default-scheduler';
  spec.serviceAccountName =
    spec.serviceAccountName ?? (spec.serviceAccount as string | undefined) ?? 'default';
  spec.enableServiceLinks = spec.enableServiceLinks ?? true;
  spec.preemptionPolicy = spec.preemptionPolicy ?? 'PreemptLowerPriority';
  spec.priority = spec.priority ?? (spec.priorityClassName === 'system-node-critical' ? 2000001000 : 0);
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
    const cc = c as Container & Record<string, unknown>;
    cc.terminationMessagePath = cc.terminationMessagePath ?? '/dev/termination-log';
    cc.terminationMessagePolicy = cc.terminationMessagePolicy ?? 'File';
    cc.imagePullPolicy =
      cc.imagePullPolicy ?? (String(c.image ?? '').endsWith(':latest') ? 'Always' : 'IfNotPresent');
    cc.resources = cc.resources ?? {};
  }
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: meta.name,
      generateName: meta.generateName,
      namespace: meta.namespace,
      labels: meta.labels,
      ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
      ownerReferences: [ownerRefTo(meta.owner)],
    },
    spec,
    status: { phase: 'Pending', qosClass: qosClass(spec) },
  };
}

export function qosClass(spec: PodSpec): string {
  const containers = spec.containers ?? [];
  const anyResources = containers.some(
    (c) =>
      Object.keys(c.resources?.requests ?? {}).length + Object.keys(c.resources?.limits ?? {}).length > 0,
  );
  if (!anyResources) return 'BestEffort';
  const guaranteed = containers.every(
    (c) =>
      ['cpu', 'memory'].every((r) => c.resources?.limits?.[r] !== undefined) &&
      ['cpu', 'memory'].every(
        (r) => (c.resources?.requests?.[r] ?? c.resources?.limits?.[r]) === c.resources?.limits?.[r],
      ),
  );
  return guaranteed ? 'Guaranteed' : 'Burstable';
}
