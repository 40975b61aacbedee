/**
 * Finding Flannel: DaemonSets labelled app=flannel in any namespace (kube-flannel first, then the
 * legacy kube-system), legacy per-arch DaemonSet names (≤ v0.12), its ConfigMap (the one the
 * DaemonSet mounts as flannel-cfg, else kube-flannel-cfg), leftover objects, and Flannel embedded in
 * k3s/RKE2 agents (node annotations but no Flannel pods). domain/flannel.md §3.
 * Selection is pure; the gather* functions do the I/O.
 */
import type { KubeClients } from '../types.js';
import { placeDaemonPod } from './placement.js';
import {
  summarizeDaemonSet,
  summarizePod,
  type DaemonSetSummary,
  type NodeSummary,
  type PodSummary,
  byNamespaceName,
} from './summaries.js';

export const FLANNEL_LABEL_SELECTOR = 'app=flannel';
export const FLANNEL_NAMESPACES = ['kube-flannel', 'kube-system'] as const;
export const DEFAULT_CONFIGMAP_NAME = 'kube-flannel-cfg';
export const ANNOTATION_PREFIX = 'flannel.alpha.coreos.com/';
/** ≤ v0.12 shipped one DaemonSet per architecture; v0.13+ a single kube-flannel-ds. */
const FLANNEL_DS_NAME = /^kube-flannel-ds(?:-(?:amd64|arm64|arm|ppc64le|s390x))?$/;
/** Image repositories of flanneld over the years (coreos, rancher mirror, flannel, ghcr). */
const FLANNEL_IMAGE_REPO = /(?:^|\/)(?:mirrored-flannelcni-)?flannel$/;

export type EmbeddedFlavour = 'k3s' | 'rke2' | 'unknown';

// ---- pure selection ------------------------------------------------------------------------------

export function isFlannelDaemonSet(ds: Pick<DaemonSetSummary, 'name' | 'labels'>): boolean {
  return ds.labels.app === 'flannel' || FLANNEL_DS_NAME.test(ds.name);
}

function namespaceRank(namespace: string): number {
  const i = (FLANNEL_NAMESPACES as readonly string[]).indexOf(namespace);
  return i < 0 ? FLANNEL_NAMESPACES.length : i;
}

/** The Flannel DaemonSets among all DaemonSets, the preferred one first (kube-flannel, kube-system, others). */
export function selectFlannelDaemonSets(all: readonly DaemonSetSummary[]): DaemonSetSummary[] {
  return all
    .filter(isFlannelDaemonSet)
    .sort((a, b) => namespaceRank(a.namespace) - namespaceRank(b.namespace) || byNamespaceName(a, b));
}

/** The flanneld image of a DaemonSet (not the flannel-cni-plugin image). */
export function flannelImage(ds: Pick<DaemonSetSummary, 'images'>): string | undefined {
  return ds.images.find((image) => FLANNEL_IMAGE_REPO.test(imageRepository(image)));
}

export function imageRepository(image: string): string {
  const noDigest = image.split('@')[0];
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

/** The tag of an image reference (`ghcr.io/flannel-io/flannel:v0.28.9` -> `v0.28.9`). */
export function imageTag(image: string): string | undefined {
  const noDigest = image.split('@')[0];
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(colon + 1) : undefined;
}

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  text: string;
}

/** `v0.28.9`, `v0.11.0-amd64`, `v1.33.4+k3s1` -> numbers; undefined for `latest` and the like. */
export function parseVersion(text: string | undefined): SemVer | undefined {
  const m = text ? /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text.trim()) : null;
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0), text: text!.trim() };
}

export function compareVersions(a: SemVer, b: Pick<SemVer, 'major' | 'minor' | 'patch'>): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** Version of the flanneld image of a DaemonSet, e.g. `v0.28.9` (arch suffixes dropped). */
export function flannelVersion(ds: Pick<DaemonSetSummary, 'images'>): string | undefined {
  const image = flannelImage(ds);
  const tag = image ? imageTag(image) : undefined;
  const v = parseVersion(tag);
  return v ? `v${v.major}.${v.minor}.${v.patch}` : tag;
}

export function flannelAnnotations(node: Pick<NodeSummary, 'annotations'>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(node.annotations).filter(([k]) => k.startsWith(ANNOTATION_PREFIX)),
  );
}

/**
 * Flannel embedded in the k3s/RKE2 agent: nodes carry flanneld's annotations but no Flannel pod
 * exists. Returns the flavour, or undefined when Flannel is not embedded.
 */
export function detectEmbedded(
  nodes: readonly Pick<NodeSummary, 'annotations' | 'kubeletVersion' | 'labels'>[],
  flannelPodCount: number,
): EmbeddedFlavour | undefined {
  if (flannelPodCount > 0) return undefined;
  const annotated = nodes.filter((n) => Object.keys(flannelAnnotations(n)).length > 0);
  if (annotated.length === 0) return undefined;
  const marks = (n: (typeof annotated)[number], flavour: string) =>
    (n.kubeletVersion ?? '').includes(`+${flavour}`) ||
    Object.keys(n.annotations).some((k) => k.startsWith(`${flavour}.io/`)) ||
    Object.keys(n.labels).some((k) => k.startsWith(`${flavour}.io/`));
  if (annotated.some((n) => marks(n, 'rke2'))) return 'rke2';
  if (annotated.some((n) => marks(n, 'k3s'))) return 'k3s';
  return 'unknown';
}

/**
 * Embedded Flannel, unless manifest objects were left behind: with those (ConfigMap kube-flannel-cfg,
 * ServiceAccount flannel, ...) Flannel was installed as a DaemonSet, and node annotations without pods
 * are what its flanneld wrote before the DaemonSet went. Nodes marked as k3s/RKE2 still count as
 * embedded (those distributions never create these objects).
 */
export function embeddedUnlessLeftovers(
  detected: EmbeddedFlavour | undefined,
  leftovers: FlannelLeftovers,
): EmbeddedFlavour | undefined {
  return detected === 'unknown' && leftoverList(leftovers).length > 0 ? undefined : detected;
}

/** The node runs Linux (or says nothing about its OS): Flannel's Linux DaemonSet is for it. */
export function isLinuxNode(node: Pick<NodeSummary, 'labels'>): boolean {
  const os = node.labels['kubernetes.io/os'] ?? node.labels['beta.kubernetes.io/os'];
  return os === undefined || os === 'linux';
}

/**
 * Is the node one the DaemonSet would run a pod on (Linux; nodeSelector, required node affinity; no taint
 * its tolerations and the DaemonSet controller's defaults leave untolerated)?
 */
export function daemonSetFitsNode(
  ds: Pick<DaemonSetSummary, 'tolerations' | 'nodeSelector'> &
    Partial<Pick<DaemonSetSummary, 'nodeAffinity' | 'hostNetwork'>>,
  node: Pick<NodeSummary, 'labels' | 'taints'> & { name?: string },
): boolean {
  if (!isLinuxNode(node)) return false;
  return placeDaemonPod(
    {
      tolerations: ds.tolerations,
      nodeSelector: ds.nodeSelector,
      nodeAffinity: ds.nodeAffinity ?? [],
      hostNetwork: ds.hostNetwork ?? true,
    },
    { name: node.name ?? '', labels: node.labels, taints: node.taints },
  ).fits;
}

// ---- I/O -------------------------------------------------------------------------------------------

export function isNotFound(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 404;
}

/** The object, or undefined on 404; every other error propagates (the engine reports it). */
export async function readOrUndefined<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Every DaemonSet in the cluster, summarised and sorted (other-cnis reads them too). */
export async function gatherDaemonSets(kube: KubeClients): Promise<DaemonSetSummary[]> {
  const list = await kube.apps.listDaemonSetForAllNamespaces();
  return list.items.map(summarizeDaemonSet).sort(byNamespaceName);
}

export async function gatherFlannelDaemonSets(kube: KubeClients): Promise<DaemonSetSummary[]> {
  return selectFlannelDaemonSets(await gatherDaemonSets(kube));
}

/**
 * Pods of the Flannel DaemonSets: those labelled app=flannel plus pods owned by a Flannel DaemonSet
 * that does not carry the label (renamed legacy installs).
 */
export async function gatherFlannelPods(
  kube: KubeClients,
  daemonSets: readonly DaemonSetSummary[],
): Promise<PodSummary[]> {
  const labelled = (
    await kube.core.listPodForAllNamespaces({ labelSelector: FLANNEL_LABEL_SELECTOR })
  ).items.map(summarizePod);
  const unlabelled = daemonSets.filter((ds) => ds.labels.app !== 'flannel');
  const extra: PodSummary[] = [];
  for (const namespace of [...new Set(unlabelled.map((ds) => ds.namespace))]) {
    const names = new Set(unlabelled.filter((ds) => ds.namespace === namespace).map((ds) => ds.name));
    const pods = (await kube.core.listNamespacedPod({ namespace })).items.map(summarizePod);
    extra.push(...pods.filter((p) => p.owner?.kind === 'DaemonSet' && names.has(p.owner.name)));
  }
  const seen = new Set<string>();
  return [...labelled, ...extra]
    .filter((p) => {
      const key = `${p.namespace}/${p.name}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort(byNamespaceName);
}

export interface ConfigMapRef {
  namespace: string;
  name: string;
}

/** Where Flannel's ConfigMap should be: the one the DaemonSet mounts, else kube-flannel-cfg in kube-flannel / kube-system. */
export function configMapCandidates(primary: DaemonSetSummary | undefined): ConfigMapRef[] {
  const refs: ConfigMapRef[] = [];
  if (primary)
    refs.push({ namespace: primary.namespace, name: primary.configMapName ?? DEFAULT_CONFIGMAP_NAME });
  for (const namespace of FLANNEL_NAMESPACES) refs.push({ namespace, name: DEFAULT_CONFIGMAP_NAME });
  const seen = new Set<string>();
  return refs.filter((r) => {
    const key = `${r.namespace}/${r.name}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export interface FlannelConfigMap extends ConfigMapRef {
  data: Record<string, string>;
}

/** The DaemonSet's ConfigMap when a DaemonSet exists (only that one counts), else the first default one found. */
export async function gatherFlannelConfigMap(
  kube: KubeClients,
  primary: DaemonSetSummary | undefined,
): Promise<FlannelConfigMap | undefined> {
  const candidates = primary ? configMapCandidates(primary).slice(0, 1) : configMapCandidates(undefined);
  for (const ref of candidates) {
    const cm = await readOrUndefined(() => kube.core.readNamespacedConfigMap(ref));
    if (cm) return { ...ref, data: { ...(cm.data ?? {}) } };
  }
  return undefined;
}

/** Flannel objects that may outlive a deleted DaemonSet (kubectl get ns,cm,sa,clusterrole,clusterrolebinding). */
export interface FlannelLeftovers {
  namespaces: string[];
  configMaps: string[];
  serviceAccounts: string[];
  clusterRoles: string[];
  clusterRoleBindings: string[];
}

export async function gatherLeftovers(kube: KubeClients): Promise<FlannelLeftovers> {
  const [namespace, labelledCms, roles, bindings, ...perNs] = await Promise.all([
    readOrUndefined(() => kube.core.readNamespace({ name: 'kube-flannel' })),
    kube.core.listConfigMapForAllNamespaces({ labelSelector: FLANNEL_LABEL_SELECTOR }),
    kube.rbac.listClusterRole(),
    kube.rbac.listClusterRoleBinding(),
    ...FLANNEL_NAMESPACES.flatMap((ns) => [
      readOrUndefined(() =>
        kube.core.readNamespacedConfigMap({ namespace: ns, name: DEFAULT_CONFIGMAP_NAME }),
      ),
      readOrUndefined(() => kube.core.readNamespacedServiceAccount({ namespace: ns, name: 'flannel' })),
    ]),
  ]);
  const configMaps = new Set(labelledCms.items.map((c) => `${c.metadata?.namespace}/${c.metadata?.name}`));
  const serviceAccounts = new Set<string>();
  FLANNEL_NAMESPACES.forEach((ns, i) => {
    if (perNs[i * 2]) configMaps.add(`${ns}/${DEFAULT_CONFIGMAP_NAME}`);
    if (perNs[i * 2 + 1]) serviceAccounts.add(`${ns}/flannel`);
  });
  const isFlannelRbac = (m: { name?: string; labels?: Record<string, string> } | undefined) =>
    m?.name === 'flannel' || m?.labels?.['k8s-app'] === 'flannel';
  return {
    namespaces: namespace ? ['kube-flannel'] : [],
    configMaps: [...configMaps].sort(),
    serviceAccounts: [...serviceAccounts].sort(),
    clusterRoles: roles.items
      .filter((r) => isFlannelRbac(r.metadata))
      .map((r) => r.metadata!.name!)
      .sort(),
    clusterRoleBindings: bindings.items
      .filter((b) => isFlannelRbac(b.metadata))
      .map((b) => b.metadata!.name!)
      .sort(),
  };
}

export function leftoverList(l: FlannelLeftovers): string[] {
  return [
    ...l.namespaces.map((n) => `namespace/${n}`),
    ...l.configMaps.map((c) => `configmap ${c}`),
    ...l.serviceAccounts.map((s) => `serviceaccount ${s}`),
    ...l.clusterRoles.map((r) => `clusterrole/${r}`),
    ...l.clusterRoleBindings.map((b) => `clusterrolebinding/${b}`),
  ];
}
