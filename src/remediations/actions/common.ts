/** Small pieces the action modules share: parameter reading, node facts, pod ownership, script output. */
// Parts of client-node, not its index: the index loads every typed API and model (kube/clients.ts loads them
// when a remediation runs).
import { setHeaderOptions } from '@kubernetes/client-node/dist/middleware.js';
import { PatchStrategy } from '@kubernetes/client-node/dist/patch.js';
import type { KubernetesObject, V1Node, V1Pod } from '@kubernetes/client-node';
import { readApiError } from '../../kube/api-error.js';
import type { KubeClients } from '../../kube/clients.js';
import type { ActionContext } from '../types.js';

export const mergePatch = () => setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Who owns the fields flannel-ops applies (server-side apply), e.g. Flannel's manifest and restored backups. */
export const FIELD_MANAGER = 'flannel-ops';

/** An object as manifests and backups carry it: what names it to the API. */
interface NamedObject {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: unknown;
}

/** The object as the cluster has it now, or undefined when it does not exist. */
export async function readObject(
  kube: KubeClients,
  obj: NamedObject,
): Promise<Record<string, unknown> | undefined> {
  const meta = (obj.metadata ?? {}) as { name?: string; namespace?: string };
  try {
    return (await kube.objects.read({
      apiVersion: String(obj.apiVersion),
      kind: String(obj.kind),
      metadata: { name: meta.name ?? '', ...(meta.namespace && { namespace: meta.namespace }) },
    })) as unknown as Record<string, unknown>;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Server-side apply of `obj` as FIELD_MANAGER, taking over conflicting fields; `dryRun` only answers the result. */
export async function serverSideApply(
  kube: KubeClients,
  obj: NamedObject,
  dryRun: boolean,
): Promise<Record<string, unknown>> {
  return (await kube.objects.patch(
    obj as KubernetesObject,
    undefined,
    dryRun ? 'All' : undefined,
    FIELD_MANAGER,
    true,
    PatchStrategy.ServerSideApply,
  )) as unknown as Record<string, unknown>;
}

export function requireNode(ctx: ActionContext): string {
  if (!ctx.node) throw new Error('this action runs on a node, but the step names none');
  return ctx.node;
}

export function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

export function isNotFound(err: unknown): boolean {
  return readApiError(err).code === 404;
}

export async function readNode(kube: KubeClients, name: string): Promise<V1Node | undefined> {
  try {
    return await kube.core.readNode({ name });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Pods bound to `node`, all namespaces. */
export async function podsOnNode(kube: KubeClients, node: string): Promise<V1Pod[]> {
  const list = await kube.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` });
  return list.items;
}

/** The pod's sandbox is not up: Pending with a container waiting in ContainerCreating (or none started). */
export function isStuckCreating(pod: V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  if (pod.status?.phase !== 'Pending' || !pod.spec?.nodeName) return false;
  if (pod.spec.hostNetwork) return false;
  const statuses = [...(pod.status.initContainerStatuses ?? []), ...(pod.status.containerStatuses ?? [])];
  if (statuses.length === 0) return true;
  return statuses.some(
    (s) => s.state?.waiting?.reason === 'ContainerCreating' || s.state?.waiting?.reason === 'PodInitializing',
  );
}

/** The controller that recreates a pod when it is deleted, if any (a bare pod has none). */
export function controllerOf(pod: V1Pod): { kind: string; name: string } | undefined {
  const owner = pod.metadata?.ownerReferences?.find((o) => o.controller);
  return owner ? { kind: owner.kind, name: owner.name } : undefined;
}

export const podRef = (pod: V1Pod) => `${pod.metadata?.namespace ?? 'default'}/${pod.metadata?.name ?? '?'}`;

/** The node's Ready condition says the container runtime's network is not ready (no CNI config loaded). */
export function networkNotReadyReason(node: V1Node | undefined): string | undefined {
  const ready = node?.status?.conditions?.find((c) => c.type === 'Ready');
  if (!ready || ready.status === 'True') return undefined;
  const text = `${ready.reason ?? ''} ${ready.message ?? ''}`;
  return /NetworkPluginNotReady|network plugin is not ready|cni (config uninitialized|plugin not initialized)/i.test(
    text,
  )
    ? (ready.message ?? ready.reason ?? 'network not ready')
    : undefined;
}

/** One word per line of a host script's output: `released 10.244.1.5`, `kept 10.244.1.7 pod-ip`, ... */
export function outputWords(output: string): Array<{ verb: string; rest: string[] }> {
  return output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [verb, ...rest] = l.split(/\s+/);
      return { verb, rest };
    });
}

/** A DNS-1123 name (pods, nodes, namespaces): safe to place in a shell command or an API path. */
export const K8S_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** A network namespace file name as CNI runtimes create them. */
export const NETNS_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** A host-local network directory name (the CNI network name, e.g. cbr0). */
export const CNI_NETWORK_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
