/**
 * Flannel releases and the kube-flannel.yml each one shipped, read from flannel-io/flannel's git history
 * (domain/flannel.md "Releases and their manifests"), and the Kubernetes versions that serve the APIs those
 * manifests use. Pure lookups over data; every row and every layout change names where it can be checked.
 *
 * Two published forms of the manifest exist from v0.21.0 on (domain/flannel.md):
 *  - `documentation`: `Documentation/kube-flannel.yml` in the tree at the tag (the only form up to v0.20.x,
 *    installed from the raw GitHub URL the README gave);
 *  - `release-asset`: `kube-flannel.yml` attached to the GitHub release (the README's install URL from
 *    v0.21.0), built by `make release-manifest` with `kubectl kustomize Documentation/kustomization/kube-flannel`:
 *    commonLabels `k8s-app: flannel` on every object *and* in the DaemonSet selector and pod template, and the
 *    flannel image retagged to the release.
 */

// ---- versions ------------------------------------------------------------------------------------

export interface Version {
  major: number;
  minor: number;
  patch: number;
}

/**
 * The first `vX.Y[.Z]` in a version string or image reference: `v1.33.4+k3s1`, `v1.27.3-eks-5e0fdde`,
 * `v0.26.7-rancher1`, `0.28.9`, `docker.io/flannel/flannel:v0.28.9`, `quay.io/coreos/flannel:v0.11.0-amd64`,
 * `rancher/hardened-flannel:v0.28.9-build20260819`. A registry port (`registry:5000/...`) is skipped by
 * reading an image's tag, not its name. Undefined for `latest` and the like.
 */
export function parseVersion(text: string | undefined): Version | undefined {
  if (!text) return undefined;
  let candidate = text.trim();
  if (candidate.includes('/') || candidate.includes('@')) {
    const noDigest = candidate.split('@')[0];
    const colon = noDigest.lastIndexOf(':');
    if (colon <= noDigest.lastIndexOf('/')) return undefined;
    candidate = noDigest.slice(colon + 1);
  } else if (/^[^:]*:/.test(candidate) && !/^v?\d/.test(candidate)) {
    candidate = candidate.slice(candidate.indexOf(':') + 1); // `flannel:v0.28.9`
  }
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?(?![\d.])/.exec(candidate);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0) };
}

export function compareVersions(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

export function formatVersion(v: Version): string {
  return `v${v.major}.${v.minor}.${v.patch}`;
}

/** `1.25` style for Kubernetes minors. */
function formatMinor(v: Version): string {
  return `${v.major}.${v.minor}`;
}

function minor(text: string): Version {
  const v = parseVersion(text);
  if (!v) throw new Error(`bad version literal ${text}`);
  return v;
}

// ---- Kubernetes: which APIs a version serves ------------------------------------------------------

export interface ApiKind {
  apiVersion: string;
  kind: string;
}

export interface KubernetesApi extends ApiKind {
  /** First Kubernetes minor serving it. */
  servedFrom: string;
  /** First Kubernetes minor that no longer serves it. */
  removedIn?: string;
  /** What manifests should use instead. */
  replacement?: string;
  source: string;
}

const DEPRECATION_GUIDE =
  'kubernetes/website content/en/docs/reference/using-api/deprecation-guide.md (https://kubernetes.io/docs/reference/using-api/deprecation-guide/)';

/** The APIs kube-flannel.yml has used, and when Kubernetes served them. */
export const KUBERNETES_APIS: readonly KubernetesApi[] = [
  {
    apiVersion: 'v1',
    kind: 'Namespace',
    servedFrom: '1.0',
    source: 'core API group (v1) since Kubernetes 1.0',
  },
  { apiVersion: 'v1', kind: 'ServiceAccount', servedFrom: '1.0', source: 'core API group (v1)' },
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    servedFrom: '1.2',
    source: 'core API group (v1), ConfigMap since 1.2',
  },
  {
    apiVersion: 'extensions/v1beta1',
    kind: 'DaemonSet',
    servedFrom: '1.2',
    removedIn: '1.16',
    replacement: 'apps/v1',
    source: `${DEPRECATION_GUIDE} "v1.16 / DaemonSet"; blog 2019-07-18 "Deprecated APIs Removed In 1.16"`,
  },
  {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    servedFrom: '1.9',
    source: `${DEPRECATION_GUIDE} "apps/v1 API version, available since v1.9"`,
  },
  {
    apiVersion: 'policy/v1beta1',
    kind: 'PodSecurityPolicy',
    servedFrom: '1.10',
    removedIn: '1.25',
    replacement: 'none: Pod Security Admission (namespace label pod-security.kubernetes.io/enforce)',
    source: `${DEPRECATION_GUIDE} "v1.25 / PodSecurityPolicy"; "policy/v1beta1 API, available since v1.10"`,
  },
  ...(['ClusterRole', 'ClusterRoleBinding'] as const).flatMap((kind) => [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1beta1',
      kind,
      servedFrom: '1.6',
      removedIn: '1.22',
      replacement: 'rbac.authorization.k8s.io/v1',
      source: `${DEPRECATION_GUIDE} "v1.22 / RBAC resources"; RBAC beta since Kubernetes 1.6`,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind,
      servedFrom: '1.8',
      source: `${DEPRECATION_GUIDE} "rbac.authorization.k8s.io/v1 API version, available since v1.8"`,
    },
  ]),
];

export function kubernetesApi(api: ApiKind): KubernetesApi | undefined {
  return KUBERNETES_APIS.find((a) => a.apiVersion === api.apiVersion && a.kind === api.kind);
}

/** Whether a Kubernetes version serves the API (unknown APIs count as served). */
export function servesApi(kubernetes: Version, api: ApiKind): boolean {
  const known = kubernetesApi(api);
  if (!known) return true;
  if (compareVersions(kubernetes, minor(known.servedFrom)) < 0) return false;
  return !known.removedIn || compareVersions(kubernetes, minor(known.removedIn)) < 0;
}

/** Node features a manifest relies on besides API versions (raise the minimum, never the maximum). */
const NODE_OS_LABEL = {
  since: '1.14',
  why: 'nodeAffinity on the kubernetes.io/os label, which kubelets set since Kubernetes 1.14 (flannel-io/flannel#1276, KEP sig-node 20190130-node-os-arch-labels)',
};
const CRITICAL_PRIORITY_OUTSIDE_KUBE_SYSTEM = {
  since: '1.17',
  why: 'priorityClassName system-node-critical outside kube-system, admitted since Kubernetes 1.17 (kubernetes/kubernetes#60596)',
};

// ---- manifest layouts ------------------------------------------------------------------------------

export type ManifestForm = 'documentation' | 'release-asset';

/** How a release's kube-flannel.yml is built: everything the renderer needs besides names and images. */
export interface ManifestLayout {
  namespace: 'kube-system' | 'kube-flannel';
  /** A Namespace object (v0.19.0+), labelled pod-security.kubernetes.io/enforce=privileged. */
  namespaceObject: boolean;
  /** `k8s-app: flannel` in every object's labels. */
  k8sAppLabels: boolean;
  /** `k8s-app: flannel` also in the DaemonSet selector and pod template (kustomize commonLabels). */
  k8sAppSelector: boolean;
  /** PodSecurityPolicy psp.flannel.unprivileged (v0.12.0–v0.18.x) and its `use` rule. */
  psp?: { apiVersion: 'policy/v1beta1'; allowedCapabilities: string[] };
  rbacApiVersion: 'rbac.authorization.k8s.io/v1beta1' | 'rbac.authorization.k8s.io/v1';
  /** Verbs on nodes in the ClusterRole. */
  nodeVerbs: string[];
  /** The networking.k8s.io clustercidrs list/watch rule (MultiClusterCIDR, v0.21.0–v0.24.x). */
  clusterCidrsRule: boolean;
  daemonSetApiVersion: 'extensions/v1beta1' | 'apps/v1';
  /** One DaemonSet per architecture (`kube-flannel-ds-amd64`, ...) with `-<arch>` image tags. */
  perArch: boolean;
  /** How pods are placed on Linux nodes. */
  placement: 'nodeSelector-arch' | 'affinity-beta-os-arch' | 'affinity-os';
  tolerations: 'master' | 'all-noschedule';
  priorityClassName: boolean;
  cniConf: 'plugin' | 'conflist' | 'conflist-cniVersion';
  /** `"EnableNFTables": false` in the default net-conf.json (v0.25.0+). */
  netConfEnableNFTables: boolean;
  /** The install-cni-plugin init container copying the flannel CNI binary (v0.15.0+). */
  cniPluginInit: boolean;
  installCni: 'cp' | 'install-conf';
  flanneldArgs: 'in-command' | 'args';
  resources: 'none' | 'requests-and-limits' | 'requests';
  securityContext: 'privileged' | 'capabilities';
  capabilities: string[];
  runMount: '/run' | '/run/flannel';
  xtablesLock: boolean;
  eventQueueDepth: boolean;
  contWhenCacheNotReady: boolean;
  /** `--healthz-port=8081` with /healthz liveness and /readyz readiness probes (v0.28.9). */
  healthProbes: boolean;
}

interface LayoutChange {
  /** First release (in this table) with the change. */
  since: string;
  /** Which published forms it applies to. */
  forms: readonly ManifestForm[];
  change: Partial<ManifestLayout>;
  /** README's "For Kubernetes v1.X+" from this release on. */
  documentedKubernetesMin?: string;
  source: string;
}

const BOTH: readonly ManifestForm[] = ['documentation', 'release-asset'];
const DOC: readonly ManifestForm[] = ['documentation'];
const ASSET: readonly ManifestForm[] = ['release-asset'];

const BASELINE: ManifestLayout = {
  namespace: 'kube-system',
  namespaceObject: false,
  k8sAppLabels: false,
  k8sAppSelector: false,
  rbacApiVersion: 'rbac.authorization.k8s.io/v1beta1',
  nodeVerbs: ['list', 'watch'],
  clusterCidrsRule: false,
  daemonSetApiVersion: 'extensions/v1beta1',
  perArch: false,
  placement: 'nodeSelector-arch',
  tolerations: 'master',
  priorityClassName: false,
  cniConf: 'plugin',
  netConfEnableNFTables: false,
  cniPluginInit: false,
  installCni: 'cp',
  flanneldArgs: 'in-command',
  resources: 'none',
  securityContext: 'privileged',
  capabilities: [],
  runMount: '/run',
  xtablesLock: false,
  eventQueueDepth: false,
  contWhenCacheNotReady: false,
  healthProbes: false,
};

/** flannel-io/flannel history of Documentation/kube-flannel.yml (and of the kustomize base), oldest first. */
export const MANIFEST_CHANGES: readonly LayoutChange[] = [
  {
    since: 'v0.9.1',
    forms: BOTH,
    change: {},
    documentedKubernetesMin: '1.6',
    source: 'tag v0.9.1 Documentation/kube-flannel.yml; README "For Kubernetes v1.6+"',
  },
  {
    since: 'v0.10.0',
    forms: BOTH,
    change: { cniConf: 'conflist', flanneldArgs: 'args', resources: 'requests-and-limits' },
    documentedKubernetesMin: '1.7',
    source:
      'commit 11f29d9e "Update manifests to v0.10.0" (conflist with portmap, command/args, Guaranteed QoS)',
  },
  {
    since: 'v0.11.0',
    forms: BOTH,
    change: { perArch: true, tolerations: 'all-noschedule' },
    source:
      'commits c5d10c8b "add daemonsets for all archs" and bc79dd15 "Do not define keys for tolerations"; master 8c0ce460 (#1095) pins v0.11.0',
  },
  {
    since: 'v0.12.0',
    forms: BOTH,
    change: {
      psp: { apiVersion: 'policy/v1beta1', allowedCapabilities: ['NET_ADMIN'] },
      cniConf: 'conflist-cniVersion',
      daemonSetApiVersion: 'apps/v1',
      placement: 'affinity-beta-os-arch',
      securityContext: 'capabilities',
      capabilities: ['NET_ADMIN'],
      runMount: '/run/flannel',
    },
    source:
      'tag v0.12.0; commits 219cb896 (unprivileged PSP), d893bcbf "Update deprecated API resources" (apps/v1, policy/v1beta1), ac54a74d (nodeAffinity)',
  },
  {
    since: 'v0.13.0',
    forms: BOTH,
    change: {
      psp: { apiVersion: 'policy/v1beta1', allowedCapabilities: ['NET_ADMIN', 'NET_RAW'] },
      perArch: false,
      placement: 'affinity-os',
      priorityClassName: true,
      capabilities: ['NET_ADMIN', 'NET_RAW'],
    },
    source:
      'tag v0.13.0; commits b2f9d5eb (multi-arch image, one DaemonSet), 08066420 (kubernetes.io/os), 75fe1e0f (system-node-critical), 221a83ca (NET_RAW)',
  },
  {
    since: 'v0.14.0',
    forms: BOTH,
    change: { rbacApiVersion: 'rbac.authorization.k8s.io/v1' },
    documentedKubernetesMin: '1.17',
    source:
      'commit 8a1bcf6f "use rbac.authorization.k8s.io/v1" (README "For Kubernetes v1.17+"); tag v0.14.0',
  },
  {
    since: 'v0.15.0',
    forms: BOTH,
    change: { cniPluginInit: true },
    source: 'commit 1a62caf4 "install flannel cni plugin binary in opt/cni/bin"; tag v0.15.1',
  },
  {
    since: 'v0.16.2',
    forms: BOTH,
    change: { xtablesLock: true },
    source: 'commit e2b822a3 (#1529 xtables-lock); master dfe97724 pins v0.16.3',
  },
  {
    since: 'v0.18.0',
    forms: BOTH,
    change: { eventQueueDepth: true },
    source: 'commit 349feae4 (#1352 EVENT_QUEUE_DEPTH=5000); tag v0.18.1',
  },
  {
    since: 'v0.19.0',
    forms: BOTH,
    change: { psp: undefined, namespace: 'kube-flannel', namespaceObject: true },
    source:
      'commit d6ad1c1e "Remove PodSecurityPolicy from kube-flannel.yaml" (namespace kube-flannel); tag v0.19.2',
  },
  {
    since: 'v0.20.2',
    forms: BOTH,
    change: { nodeVerbs: ['get', 'list', 'watch'] },
    source: 'commit 057fd3f2 "fix flannel clusterrole"; tag v0.20.2',
  },
  {
    since: 'v0.21.0',
    forms: BOTH,
    change: { clusterCidrsRule: true, resources: 'requests' },
    source: 'commits 243cf7ed (MultiClusterCIDR rule), 30b56a37 "remove cpu and memory limits"; tag v0.21.0',
  },
  {
    since: 'v0.21.0',
    forms: ASSET,
    change: { k8sAppLabels: true, k8sAppSelector: true },
    source:
      'tag v0.21.0 Documentation/kustomization/kube-flannel/kustomization.yaml commonLabels k8s-app: flannel; Makefile release-chart/release-manifest',
  },
  {
    since: 'v0.21.5',
    forms: DOC,
    change: { k8sAppLabels: true },
    source: 'tag v0.21.5 Documentation/kube-flannel.yml (k8s-app labels on metadata only)',
  },
  {
    since: 'v0.25.0',
    forms: DOC,
    change: { clusterCidrsRule: false, netConfEnableNFTables: true },
    source: 'commits f244861a (nftables), cf1971b6 "remove multiClusterCidr related-code"; tag v0.25.0',
  },
  {
    since: 'v0.25.5',
    forms: ASSET,
    change: { clusterCidrsRule: false, netConfEnableNFTables: true },
    source:
      'tag v0.25.5 Documentation/kustomization/kube-flannel/kube-flannel.yml (the kustomize base caught up)',
  },
  {
    since: 'v0.27.1',
    forms: BOTH,
    change: { contWhenCacheNotReady: true },
    source: 'commit 12af7ae4 (CONT_WHEN_CACHE_NOT_READY=false); tag v0.27.1',
  },
  {
    since: 'v0.28.6',
    forms: DOC,
    change: { installCni: 'install-conf' },
    source:
      'commit 6c58d115 (#2466 /opt/bin/install-conf); tag v0.28.6. The kustomize base (release asset) keeps `cp -f`',
  },
  {
    since: 'v0.28.9',
    forms: DOC,
    change: { healthProbes: true },
    source: 'commit 07c20946 (#2523 /healthz and /readyz probes); tag v0.28.9. Not in the kustomize base',
  },
];

function layoutFor(version: Version, form: ManifestForm): ManifestLayout {
  let layout: ManifestLayout = { ...BASELINE };
  for (const c of MANIFEST_CHANGES)
    if (c.forms.includes(form) && compareVersions(minor(c.since), version) <= 0)
      layout = { ...layout, ...c.change };
  return layout;
}

function documentedKubernetesMin(version: Version): string {
  let min = '1.6';
  for (const c of MANIFEST_CHANGES)
    if (c.documentedKubernetesMin && compareVersions(minor(c.since), version) <= 0)
      min = c.documentedKubernetesMin;
  return min;
}

/** Objects (apiVersion + kind) a manifest of this layout creates, in manifest order. */
export function layoutApis(layout: ManifestLayout): ApiKind[] {
  return [
    ...(layout.namespaceObject ? [{ apiVersion: 'v1', kind: 'Namespace' }] : []),
    ...(layout.psp ? [{ apiVersion: layout.psp.apiVersion, kind: 'PodSecurityPolicy' }] : []),
    { apiVersion: layout.rbacApiVersion, kind: 'ClusterRole' },
    { apiVersion: layout.rbacApiVersion, kind: 'ClusterRoleBinding' },
    { apiVersion: 'v1', kind: 'ServiceAccount' },
    { apiVersion: 'v1', kind: 'ConfigMap' },
    { apiVersion: layout.daemonSetApiVersion, kind: 'DaemonSet' },
  ];
}

// ---- releases ----------------------------------------------------------------------------------------

export const PER_ARCH_ARCHITECTURES = ['amd64', 'arm64', 'arm', 'ppc64le', 's390x'] as const;

export interface FlannelRelease {
  version: string;
  /** Date of the tagged commit (YYYY-MM-DD). */
  date: string;
  /** flanneld image (for per-arch releases the amd64 one; the others swap the `-amd64` suffix). */
  image: string;
  /** The flannel-cni-plugin image the manifest pins (v0.15.0+). */
  cniPluginImage?: string;
  cniPluginVersion?: string;
  namespace: 'kube-system' | 'kube-flannel';
  /** API versions and kinds its manifest creates (the same in both forms). */
  apis: readonly ApiKind[];
  kubernetes: {
    /** Lowest Kubernetes minor it suits: README's statement, raised by the APIs and node features it needs. */
    min: string;
    /** What sets the minimum. */
    minReason: string;
    /** First Kubernetes minor that no longer serves an API its manifest uses (exclusive bound). */
    max?: string;
    /** Why the bounds are where they are. */
    reasons: string[];
  };
  layouts: { documentation: ManifestLayout; 'release-asset'?: ManifestLayout };
  /** Where each form can be read. */
  sources: { documentation: string; 'release-asset'?: string };
}

interface ReleaseRow {
  version: string;
  date: string;
  image: string;
  cniPluginImage?: string;
  /** The commit whose Documentation/kube-flannel.yml pins this release, when the tag's own tree lags. */
  documentationCommit?: string;
  /** The tag's Documentation/kube-flannel.yml still pins the previous flanneld image (the asset is retagged). */
  treePinsOlderImage?: string;
}

const REPO = 'flannel-io/flannel';

/**
 * One row per release the project knows (every minor from v0.9 to v0.28, every patch from v0.21.0 on):
 * images as pinned by the manifest, date of the tagged commit. Source: `git show <tag>:Documentation/kube-flannel.yml`
 * (or the commit named), and for v0.21.0+ the release asset rebuilt with the tag's Makefile steps.
 */
const RELEASE_ROWS: readonly ReleaseRow[] = [
  { version: 'v0.9.1', date: '2017-11-22', image: 'quay.io/coreos/flannel:v0.9.1-amd64' },
  { version: 'v0.10.0', date: '2018-01-23', image: 'quay.io/coreos/flannel:v0.10.0-amd64' },
  // The tag's tree still pinned v0.10.0; master bumped the images a week later (#1095).
  {
    version: 'v0.11.0',
    date: '2019-01-26',
    image: 'quay.io/coreos/flannel:v0.11.0-amd64',
    documentationCommit: '8c0ce460',
  },
  { version: 'v0.12.0', date: '2020-03-12', image: 'quay.io/coreos/flannel:v0.12.0-amd64' },
  { version: 'v0.13.0', date: '2020-10-14', image: 'quay.io/coreos/flannel:v0.13.0' },
  { version: 'v0.14.0', date: '2021-05-17', image: 'quay.io/coreos/flannel:v0.14.0' },
  {
    version: 'v0.15.1',
    date: '2021-11-12',
    image: 'quay.io/coreos/flannel:v0.15.1',
    cniPluginImage: 'rancher/mirrored-flannelcni-flannel-cni-plugin:v1.0.0',
  },
  {
    version: 'v0.16.3',
    date: '2022-01-28',
    image: 'rancher/mirrored-flannelcni-flannel:v0.16.3',
    cniPluginImage: 'rancher/mirrored-flannelcni-flannel-cni-plugin:v1.0.1',
    documentationCommit: 'dfe97724',
  },
  {
    version: 'v0.17.0',
    date: '2022-02-28',
    image: 'rancher/mirrored-flannelcni-flannel:v0.17.0',
    cniPluginImage: 'rancher/mirrored-flannelcni-flannel-cni-plugin:v1.0.1',
    documentationCommit: 'efaa01b3',
  },
  {
    version: 'v0.18.1',
    date: '2022-06-06',
    image: 'rancher/mirrored-flannelcni-flannel:v0.18.1',
    cniPluginImage: 'rancher/mirrored-flannelcni-flannel-cni-plugin:v1.1.0',
  },
  {
    version: 'v0.19.2',
    date: '2022-09-02',
    image: 'docker.io/rancher/mirrored-flannelcni-flannel:v0.19.2',
    cniPluginImage: 'docker.io/rancher/mirrored-flannelcni-flannel-cni-plugin:v1.1.0',
  },
  {
    version: 'v0.20.2',
    date: '2022-11-30',
    image: 'docker.io/rancher/mirrored-flannelcni-flannel:v0.20.2',
    cniPluginImage: 'docker.io/rancher/mirrored-flannelcni-flannel-cni-plugin:v1.1.0',
  },
  ...dockerHub('v1.1.2', [
    ['v0.21.0', '2023-02-01', 'v0.20.2'],
    ['v0.21.1', '2023-02-08', 'v0.20.2'],
    ['v0.21.2', '2023-02-14', 'v0.20.2'],
    ['v0.21.3', '2023-03-08'],
    ['v0.21.4', '2023-03-22'],
    ['v0.21.5', '2023-05-04'],
    ['v0.22.0', '2023-05-29'],
  ]),
  ...dockerHub('v1.2.0', [
    ['v0.22.1', '2023-07-27'],
    ['v0.22.2', '2023-08-18'],
    ['v0.22.3', '2023-09-18'],
    ['v0.23.0', '2023-10-30', 'v0.22.3'],
    ['v0.24.0', '2023-12-19'],
    ['v0.24.1', '2024-01-16'],
  ]),
  ...dockerHub('v1.4.0-flannel1', [
    ['v0.24.2', '2024-01-19'],
    ['v0.24.3', '2024-03-06'],
    ['v0.24.4', '2024-03-18'],
    ['v0.25.0', '2024-04-08'],
    ['v0.25.1', '2024-04-12'],
  ]),
  ...dockerHub('v1.4.1-flannel1', [
    ['v0.25.2', '2024-05-23'],
    ['v0.25.3', '2024-05-31'],
    ['v0.25.4', '2024-06-10'],
  ]),
  ...dockerHub('v1.5.1-flannel1', [['v0.25.5', '2024-07-17']]),
  ...dockerHub('v1.5.1-flannel2', [
    ['v0.25.6', '2024-08-27'],
    ['v0.25.7', '2024-10-07'],
    ['v0.26.0', '2024-10-23'],
    ['v0.26.1', '2024-11-07'],
  ]),
  ...dockerHub('v1.6.0-flannel1', [
    ['v0.26.2', '2024-12-12'],
    ['v0.26.3', '2025-01-08', 'v0.26.2'],
  ]),
  ...ghcr('v1.6.2-flannel1', [
    ['v0.26.4', '2025-02-04'],
    ['v0.26.5', '2025-03-05', 'v0.26.4'],
    ['v0.26.6', '2025-04-08'],
    ['v0.26.7', '2025-04-15'],
  ]),
  ...ghcr('v1.7.1-flannel1', [
    ['v0.27.0', '2025-06-04'],
    ['v0.27.1', '2025-07-10', 'v0.27.0'],
    ['v0.27.2', '2025-07-21'],
    ['v0.27.3', '2025-09-01'],
  ]),
  ...ghcr('v1.8.0-flannel1', [
    ['v0.27.4', '2025-10-02'],
    ['v0.28.0', '2026-01-06', 'v0.27.4'],
  ]),
  ...ghcr('v1.9.0-flannel1', [
    ['v0.28.1', '2026-02-04'],
    ['v0.28.2', '2026-03-27'],
  ]),
  ...ghcr('v1.9.1-flannel1', [
    ['v0.28.3', '2026-04-15'],
    ['v0.28.4', '2026-04-15'],
    ['v0.28.5', '2026-06-04'],
  ]),
  ...ghcr('v1.9.1-flannel2', [
    ['v0.28.6', '2026-07-07'],
    ['v0.28.7', '2026-07-07'],
    ['v0.28.8', '2026-07-22'],
  ]),
  ...ghcr('v1.9.1-flannel3', [['v0.28.9', '2026-08-07']]),
];

type RowSpec = [version: string, date: string, treePinsOlderImage?: string];

/** v0.21.0–v0.26.3: images moved from the rancher mirror to docker.io/flannel (commit 3b242e9e). */
function dockerHub(cniPlugin: string, rows: RowSpec[]): ReleaseRow[] {
  return rows.map(([version, date, older]) => ({
    version,
    date,
    image: `docker.io/flannel/flannel:${version}`,
    cniPluginImage: `docker.io/flannel/flannel-cni-plugin:${cniPlugin}`,
    ...(older ? { treePinsOlderImage: older } : {}),
  }));
}

/** v0.26.4+: GitHub container registry (commit 15c2e446 "Moved to github container registry"). */
function ghcr(cniPlugin: string, rows: RowSpec[]): ReleaseRow[] {
  return rows.map(([version, date, older]) => ({
    version,
    date,
    image: `ghcr.io/flannel-io/flannel:${version}`,
    cniPluginImage: `ghcr.io/flannel-io/flannel-cni-plugin:${cniPlugin}`,
    ...(older ? { treePinsOlderImage: older } : {}),
  }));
}

function buildRelease(row: ReleaseRow): FlannelRelease {
  const version = minor(row.version);
  const documentation = layoutFor(version, 'documentation');
  const hasAsset = compareVersions(version, minor('v0.21.0')) >= 0;
  const apis = layoutApis(documentation);
  const reasons: string[] = [];
  let min = minor(documentedKubernetesMin(version));
  let minReason = `README at ${row.version}: "For Kubernetes v${formatMinor(min)}+"`;
  reasons.push(minReason);
  // A technical need at or above the README's statement explains the minimum better than the README.
  const raise = (to: string, why: string) => {
    const cmp = compareVersions(minor(to), min);
    if (cmp < 0) return;
    if (cmp > 0) min = minor(to);
    minReason = why;
    reasons.push(why);
  };
  for (const api of apis) {
    const known = kubernetesApi(api);
    if (known)
      raise(known.servedFrom, `${api.apiVersion} ${api.kind} is served from Kubernetes ${known.servedFrom}`);
  }
  if (documentation.placement === 'affinity-os') raise(NODE_OS_LABEL.since, NODE_OS_LABEL.why);
  if (documentation.priorityClassName && documentation.namespace !== 'kube-system')
    raise(CRITICAL_PRIORITY_OUTSIDE_KUBE_SYSTEM.since, CRITICAL_PRIORITY_OUTSIDE_KUBE_SYSTEM.why);
  let max: Version | undefined;
  for (const api of apis) {
    const removed = kubernetesApi(api)?.removedIn;
    if (removed && (!max || compareVersions(minor(removed), max) < 0)) max = minor(removed);
  }
  for (const api of apis) {
    const removed = kubernetesApi(api)?.removedIn;
    if (removed) reasons.push(`Kubernetes ${removed} no longer serves ${api.apiVersion} ${api.kind}`);
  }
  const docRef = row.documentationCommit ?? row.version;
  const cniPluginVersion = row.cniPluginImage ? imageTag(row.cniPluginImage) : undefined;
  return {
    version: row.version,
    date: row.date,
    image: row.image,
    ...(row.cniPluginImage ? { cniPluginImage: row.cniPluginImage } : {}),
    ...(cniPluginVersion ? { cniPluginVersion } : {}),
    namespace: documentation.namespace,
    apis,
    kubernetes: { min: formatMinor(min), minReason, ...(max ? { max: formatMinor(max) } : {}), reasons },
    layouts: {
      documentation,
      ...(hasAsset ? { 'release-asset': layoutFor(version, 'release-asset') } : {}),
    },
    sources: {
      documentation:
        `${REPO}@${docRef}:Documentation/kube-flannel.yml` +
        (row.treePinsOlderImage ? ` (the tree still pins flannel ${row.treePinsOlderImage})` : ''),
      ...(hasAsset
        ? {
            'release-asset': `https://github.com/${REPO}/releases/download/${row.version}/kube-flannel.yml (make release-manifest at ${row.version}: kubectl kustomize Documentation/kustomization/kube-flannel, newTag ${row.version})`,
          }
        : {}),
    },
  };
}

/** The tag of an image reference (`ghcr.io/flannel-io/flannel:v0.28.9` -> `v0.28.9`). */
export function imageTag(image: string): string | undefined {
  const noDigest = image.split('@')[0];
  const colon = noDigest.lastIndexOf(':');
  return colon > noDigest.lastIndexOf('/') ? noDigest.slice(colon + 1) : undefined;
}

/** Oldest first. */
export const FLANNEL_RELEASES: readonly FlannelRelease[] = RELEASE_ROWS.map(buildRelease);

/**
 * Repositories flanneld images have been published or mirrored under (with the tag shapes seen):
 * upstream manifests, then the Rancher distributions' own builds (RKE1 system images, RKE2 canal).
 */
export const FLANNEL_IMAGE_REPOSITORIES: readonly { repository: string; seen: string; source: string }[] = [
  {
    repository: 'quay.io/coreos/flannel',
    seen: 'v0.9.1-amd64 … v0.15.1',
    source: 'kube-flannel.yml ≤ v0.15.1',
  },
  {
    repository: 'rancher/mirrored-flannelcni-flannel',
    seen: 'v0.16.1 … v0.18.1 (docker.io/ prefixed from v0.19.0)',
    source: 'kube-flannel.yml v0.16.x–v0.20.x',
  },
  {
    repository: 'flannelcni/flannel',
    seen: 'v0.16.x–v0.20.x',
    source: 'commented alternative in kube-flannel.yml (ppc64le, mips64le)',
  },
  {
    repository: 'docker.io/flannel/flannel',
    seen: 'v0.20.2 … v0.26.3',
    source: 'commit 3b242e9e; kube-flannel.yml v0.21.0–v0.26.3',
  },
  {
    repository: 'ghcr.io/flannel-io/flannel',
    seen: 'v0.26.3 …',
    source: 'commit 15c2e446; kube-flannel.yml v0.26.4+',
  },
  {
    repository: 'rancher/coreos-flannel',
    seen: 'v0.9.1, v0.10.0-rancher1 … v0.13.0-rancher1',
    source: 'RKE1 system images (rancher/kontainer-driver-metadata)',
  },
  {
    repository: 'rancher/mirrored-coreos-flannel',
    seen: 'v0.13.0 … v0.15.1',
    source: 'RKE1 system images (rancher/kontainer-driver-metadata)',
  },
  {
    repository: 'rancher/hardened-flannel',
    seen: 'v0.13.0-rancher1, v0.28.9-build20260819',
    source: 'RKE2 canal images',
  },
];

export function findRelease(version: string | undefined): FlannelRelease | undefined {
  const v = parseVersion(version);
  return v ? FLANNEL_RELEASES.find((r) => compareVersions(minor(r.version), v) === 0) : undefined;
}

/**
 * The row standing for a version the table has no row of: the newest row of the same minor line at or
 * below it, else the line's oldest (layouts, APIs and Kubernetes ranges only change at the patches the
 * table holds). The exact row when there is one; undefined for a minor line the table lacks.
 */
export function closestRelease(version: string | undefined): FlannelRelease | undefined {
  const v = parseVersion(version);
  if (!v) return undefined;
  const line = FLANNEL_RELEASES.filter((r) => {
    const rv = minor(r.version);
    return rv.major === v.major && rv.minor === v.minor;
  });
  const atOrBelow = line.filter((r) => compareVersions(minor(r.version), v) <= 0);
  return atOrBelow[atOrBelow.length - 1] ?? line[0];
}

export function newestRelease(): FlannelRelease {
  return FLANNEL_RELEASES[FLANNEL_RELEASES.length - 1];
}

/** Whether the release's Kubernetes range includes this version (`min <= k < max`). */
export function releaseSuits(release: FlannelRelease, kubernetesVersion: string | Version): boolean {
  const k = typeof kubernetesVersion === 'string' ? parseVersion(kubernetesVersion) : kubernetesVersion;
  if (!k) return false;
  const kMinor = { major: k.major, minor: k.minor, patch: 0 };
  if (compareVersions(kMinor, minor(release.kubernetes.min)) < 0) return false;
  return !release.kubernetes.max || compareVersions(kMinor, minor(release.kubernetes.max)) < 0;
}

/** The newest release whose Kubernetes range includes the version; undefined when none does. */
export function suitableRelease(kubernetesVersion: string): FlannelRelease | undefined {
  const k = parseVersion(kubernetesVersion);
  if (!k) return undefined;
  for (let i = FLANNEL_RELEASES.length - 1; i >= 0; i--)
    if (releaseSuits(FLANNEL_RELEASES[i], k)) return FLANNEL_RELEASES[i];
  return undefined;
}

export interface UnservedApi extends ApiKind {
  /** Not served yet (`servedFrom` above the cluster) or no longer (`removedIn` at or below it). */
  reason: 'removed' | 'not-yet-served';
  servedFrom: string;
  removedIn?: string;
  replacement?: string;
  source: string;
}

/** The APIs the release's manifest uses that this Kubernetes version does not serve (each kind once). */
export function unservedApis(release: FlannelRelease, kubernetesVersion: string): UnservedApi[] {
  const k = parseVersion(kubernetesVersion);
  if (!k) return [];
  const kMinor = { major: k.major, minor: k.minor, patch: 0 };
  const out: UnservedApi[] = [];
  for (const api of release.apis) {
    const known = kubernetesApi(api);
    if (!known || servesApi(kMinor, api)) continue;
    if (out.some((o) => o.apiVersion === api.apiVersion && o.kind === api.kind)) continue;
    out.push({
      apiVersion: api.apiVersion,
      kind: api.kind,
      reason: compareVersions(kMinor, minor(known.servedFrom)) < 0 ? 'not-yet-served' : 'removed',
      servedFrom: known.servedFrom,
      ...(known.removedIn ? { removedIn: known.removedIn } : {}),
      ...(known.replacement ? { replacement: known.replacement } : {}),
      source: known.source,
    });
  }
  return out;
}

/** `policy/v1beta1 PodSecurityPolicy (removed in 1.25)` */
export function describeUnservedApi(api: UnservedApi): string {
  return api.reason === 'removed'
    ? `${api.apiVersion} ${api.kind} (removed in Kubernetes ${api.removedIn})`
    : `${api.apiVersion} ${api.kind} (served from Kubernetes ${api.servedFrom})`;
}
