/**
 * kube-flannel.yml of a given Flannel release as plain Kubernetes objects (pure), for the
 * "Re-apply the Flannel manifest" step (SPEC): the upstream objects of that release's manifest, with the
 * names, namespace and ConfigMap contents of the install being re-applied. Everything else is what the
 * release shipped (src/flannel/releases.ts, domain/flannel.md "Releases and their manifests"), including
 * API versions a cluster may no longer serve: choosing a release that suits the cluster is the caller's job.
 */
import { z } from 'zod';
import {
  findRelease,
  PER_ARCH_ARCHITECTURES,
  type FlannelRelease,
  type ManifestForm,
  type ManifestLayout,
} from '../flannel/releases.js';
import { broadcastAddress, formatIpv4, formatIpv4Cidr, parseIpv4Cidr, type Ipv4Cidr } from '../util/ipv4.js';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

export interface ObjectNames {
  /** For per-architecture releases (≤ v0.12) the base: `kube-flannel-ds` gives `kube-flannel-ds-amd64`, .... */
  daemonSet: string;
  configMap: string;
  serviceAccount: string;
  clusterRole: string;
  clusterRoleBinding: string;
}

export const UPSTREAM_NAMES: Readonly<ObjectNames> = {
  daemonSet: 'kube-flannel-ds',
  configMap: 'kube-flannel-cfg',
  serviceAccount: 'flannel',
  clusterRole: 'flannel',
  clusterRoleBinding: 'flannel',
};

export interface RenderOptions {
  /** A row of the release table, or its version (`v0.28.9`, an image reference, ...). */
  release: FlannelRelease | string;
  /**
   * `documentation` (default): Documentation/kube-flannel.yml at the tag. `release-asset` (v0.21.0+): the
   * kube-flannel.yml attached to the GitHub release (k8s-app: flannel also in the DaemonSet selector).
   * Documentation is the default because its selector (`app: flannel`) is a subset of both: a server-side
   * apply of it never changes the immutable selector of a DaemonSet installed from either form.
   */
  form?: ManifestForm;
  /** Defaults to the release's own (kube-system up to v0.18, kube-flannel from v0.19). */
  namespace?: string;
  names?: Partial<ObjectNames>;
  /** net-conf.json to keep, verbatim. */
  netConf?: string;
  /** Or the Network to build the release's default net-conf.json around (vxlan). */
  network?: string;
  /** cni-conf.json to keep, verbatim (default: the release's). */
  cniConf?: string;
  /** Include the Namespace object (v0.19+ manifests); default: only when rendering into the release's own namespace. */
  includeNamespace?: boolean;
  /** matchLabels of the running DaemonSet (its selector is immutable); the pod template carries them too. */
  selector?: Record<string, string>;
  /** Per-architecture releases only: which `kube-flannel-ds-<arch>` DaemonSets to render (default all five). */
  architectures?: string[];
}

export class ManifestOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestOptionsError';
  }
}

const dnsLabel = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label (lowercase letters, digits, -)');
const dnsSubdomain = z
  .string()
  .max(253)
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    'must be a DNS-1123 subdomain (lowercase letters, digits, - and .)',
  );
/** RBAC object names are path segments: anything but `/` and `%`, never `.` or `..`. */
const rbacName = z
  .string()
  .min(1)
  .regex(/^[^/%]+$/, 'must not contain / or %')
  .refine((s) => s !== '.' && s !== '..', 'must not be . or ..');
const labelMap = z.record(z.string().min(1), z.string());

const optionsSchema = z.object({
  form: z.enum(['documentation', 'release-asset']).optional(),
  namespace: dnsLabel.optional(),
  names: z
    .object({
      daemonSet: dnsSubdomain.optional(),
      configMap: dnsSubdomain.optional(),
      serviceAccount: dnsSubdomain.optional(),
      clusterRole: rbacName.optional(),
      clusterRoleBinding: rbacName.optional(),
    })
    .strict()
    .optional(),
  netConf: z.string().optional(),
  network: z.string().optional(),
  cniConf: z.string().optional(),
  includeNamespace: z.boolean().optional(),
  selector: labelMap.optional(),
  architectures: z.array(z.enum(PER_ARCH_ARCHITECTURES)).min(1).optional(),
});

function validationMessage(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ');
}

/** The objects of the release's kube-flannel.yml, in manifest order (Namespace and RBAC before the DaemonSet). */
export function renderFlannelManifest(options: RenderOptions): KubeObject[] {
  const release = typeof options.release === 'string' ? findRelease(options.release) : options.release;
  if (!release)
    throw new ManifestOptionsError(
      `release: no Flannel release ${String(options.release)} in the release table`,
    );
  const { release: _release, ...rest } = options;
  const parsed = optionsSchema.safeParse(rest);
  if (!parsed.success) throw new ManifestOptionsError(validationMessage(parsed.error));
  const o = parsed.data;
  const form: ManifestForm = o.form ?? 'documentation';
  const layout = release.layouts[form];
  if (!layout)
    throw new ManifestOptionsError(
      `form: ${release.version} has no release-asset kube-flannel.yml (release assets start at v0.21.0)`,
    );
  if (o.netConf !== undefined && o.network !== undefined)
    throw new ManifestOptionsError('netConf, network: give the net-conf.json to keep or a Network, not both');
  if (o.architectures && !layout.perArch)
    throw new ManifestOptionsError(`architectures: ${release.version} ships one multi-arch DaemonSet`);

  const namespace = o.namespace ?? layout.namespace;
  const names: ObjectNames = { ...UPSTREAM_NAMES, ...(o.names ?? {}) };
  const ctx: RenderContext = {
    release,
    layout,
    form,
    namespace,
    names,
    netConf: netConfText(layout, o),
    cniConf: o.cniConf ?? defaultCniConf(layout),
    ...(o.selector ? { selector: o.selector } : {}),
  };
  const includeNamespace = layout.namespaceObject && (o.includeNamespace ?? namespace === layout.namespace);

  const namespaceObjects = includeNamespace ? [namespaceObject(ctx)] : [];
  const psp = layout.psp ? [podSecurityPolicy(layout.psp)] : [];
  const rbac = [clusterRole(ctx), clusterRoleBinding(ctx)];
  const daemonSets = daemonSetObjects(ctx, o.architectures);
  // kustomize (the release asset) sorts Namespace, ServiceAccount, ClusterRole, ClusterRoleBinding, ConfigMap, DaemonSet.
  return form === 'release-asset'
    ? [...namespaceObjects, serviceAccount(ctx), ...rbac, configMap(ctx), ...daemonSets]
    : [...namespaceObjects, ...psp, ...rbac, serviceAccount(ctx), configMap(ctx), ...daemonSets];
}

interface RenderContext {
  release: FlannelRelease;
  layout: ManifestLayout;
  form: ManifestForm;
  namespace: string;
  names: ObjectNames;
  netConf: string;
  cniConf: string;
  selector?: Record<string, string>;
}

const K8S_APP = { 'k8s-app': 'flannel' } as const;
const NODE_LABELS = { tier: 'node', app: 'flannel' } as const;

/** Indented like upstream: JSON with two spaces and a trailing newline (YAML block scalar `|`). */
function jsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function defaultCniConf(layout: ManifestLayout): string {
  if (layout.cniConf === 'plugin')
    return jsonText({ name: 'cbr0', type: 'flannel', delegate: { isDefaultGateway: true } });
  return jsonText({
    name: 'cbr0',
    ...(layout.cniConf === 'conflist-cniVersion' ? { cniVersion: '0.3.1' } : {}),
    plugins: [
      { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  });
}

export const UPSTREAM_NETWORK = '10.244.0.0/16';

/** The release's default net-conf.json around a Network (vxlan; EnableNFTables false from v0.25). */
export function defaultNetConf(layout: ManifestLayout, network = UPSTREAM_NETWORK): string {
  return jsonText({
    Network: network,
    ...(layout.netConfEnableNFTables ? { EnableNFTables: false } : {}),
    Backend: { Type: 'vxlan' },
  });
}

function netConfText(layout: ManifestLayout, o: { netConf?: string; network?: string }): string {
  if (o.netConf !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(o.netConf);
    } catch (err) {
      throw new ManifestOptionsError(`netConf: not valid JSON (${(err as Error).message})`);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new ManifestOptionsError('netConf: must be a JSON object like {"Network": "10.244.0.0/16", ...}');
    return o.netConf;
  }
  if (o.network !== undefined) {
    const cidr = parseIpv4Cidr(o.network);
    if (!cidr) throw new ManifestOptionsError(`network: ${JSON.stringify(o.network)} is not an IPv4 CIDR`);
    return defaultNetConf(layout, formatIpv4Cidr(cidr));
  }
  return defaultNetConf(layout);
}

function labels(ctx: RenderContext, base: Record<string, string> = {}): Record<string, string> | undefined {
  const out = { ...base, ...(ctx.layout.k8sAppLabels ? K8S_APP : {}) };
  return Object.keys(out).length ? out : undefined;
}

function metadata(
  ctx: RenderContext,
  name: string,
  namespaced: boolean,
  base?: Record<string, string>,
): KubeObject['metadata'] {
  const l = labels(ctx, base);
  return { name, ...(namespaced ? { namespace: ctx.namespace } : {}), ...(l ? { labels: l } : {}) };
}

function namespaceObject(ctx: RenderContext): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: metadata(ctx, ctx.namespace, false, { 'pod-security.kubernetes.io/enforce': 'privileged' }),
  };
}

const PSP_NAME = 'psp.flannel.unprivileged';

function podSecurityPolicy(psp: NonNullable<ManifestLayout['psp']>): KubeObject {
  return {
    apiVersion: psp.apiVersion,
    kind: 'PodSecurityPolicy',
    metadata: {
      name: PSP_NAME,
      annotations: {
        'seccomp.security.alpha.kubernetes.io/allowedProfileNames': 'docker/default',
        'seccomp.security.alpha.kubernetes.io/defaultProfileName': 'docker/default',
        'apparmor.security.beta.kubernetes.io/allowedProfileNames': 'runtime/default',
        'apparmor.security.beta.kubernetes.io/defaultProfileName': 'runtime/default',
      },
    },
    spec: {
      privileged: false,
      volumes: ['configMap', 'secret', 'emptyDir', 'hostPath'],
      allowedHostPaths: [
        { pathPrefix: '/etc/cni/net.d' },
        { pathPrefix: '/etc/kube-flannel' },
        { pathPrefix: '/run/flannel' },
      ],
      readOnlyRootFilesystem: false,
      runAsUser: { rule: 'RunAsAny' },
      supplementalGroups: { rule: 'RunAsAny' },
      fsGroup: { rule: 'RunAsAny' },
      allowPrivilegeEscalation: false,
      defaultAllowPrivilegeEscalation: false,
      allowedCapabilities: [...psp.allowedCapabilities],
      defaultAddCapabilities: [],
      requiredDropCapabilities: [],
      hostPID: false,
      hostIPC: false,
      hostNetwork: true,
      hostPorts: [{ min: 0, max: 65535 }],
      seLinux: { rule: 'RunAsAny' },
    },
  };
}

function clusterRole(ctx: RenderContext): KubeObject {
  const { layout } = ctx;
  return {
    apiVersion: layout.rbacApiVersion,
    kind: 'ClusterRole',
    metadata: metadata(ctx, ctx.names.clusterRole, false),
    rules: [
      // Upstream grants `use` in the extensions group, also while the PSP itself is policy/v1beta1.
      ...(layout.psp
        ? [
            {
              apiGroups: ['extensions'],
              resources: ['podsecuritypolicies'],
              verbs: ['use'],
              resourceNames: [PSP_NAME],
            },
          ]
        : []),
      { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
      { apiGroups: [''], resources: ['nodes'], verbs: [...layout.nodeVerbs] },
      { apiGroups: [''], resources: ['nodes/status'], verbs: ['patch'] },
      ...(layout.clusterCidrsRule
        ? [{ apiGroups: ['networking.k8s.io'], resources: ['clustercidrs'], verbs: ['list', 'watch'] }]
        : []),
    ],
  };
}

function clusterRoleBinding(ctx: RenderContext): KubeObject {
  return {
    apiVersion: ctx.layout.rbacApiVersion,
    kind: 'ClusterRoleBinding',
    metadata: metadata(ctx, ctx.names.clusterRoleBinding, false),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: ctx.names.clusterRole },
    subjects: [{ kind: 'ServiceAccount', name: ctx.names.serviceAccount, namespace: ctx.namespace }],
  };
}

function serviceAccount(ctx: RenderContext): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: metadata(ctx, ctx.names.serviceAccount, true),
  };
}

function configMap(ctx: RenderContext): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: metadata(ctx, ctx.names.configMap, true, NODE_LABELS),
    data: { 'cni-conf.json': ctx.cniConf, 'net-conf.json': ctx.netConf },
  };
}

const CNI_CONF_DIR = '/etc/cni/net.d';
const CONFIG_MOUNT = '/etc/kube-flannel/';

function daemonSetObjects(ctx: RenderContext, architectures: readonly string[] | undefined): KubeObject[] {
  if (!ctx.layout.perArch) return [daemonSet(ctx, ctx.names.daemonSet, undefined)];
  // A legacy install's name (`kube-flannel-ds-amd64`) names its base too.
  const base = ctx.names.daemonSet.replace(new RegExp(`-(?:${PER_ARCH_ARCHITECTURES.join('|')})$`), '');
  return (architectures ?? PER_ARCH_ARCHITECTURES).map((arch) => daemonSet(ctx, `${base}-${arch}`, arch));
}

function archImage(image: string, arch: string | undefined): string {
  return arch ? image.replace(/-amd64$/, `-${arch}`) : image;
}

function placement(layout: ManifestLayout, arch: string): Record<string, unknown> {
  const requirement = (key: string, value: string) => ({ key, operator: 'In', values: [value] });
  switch (layout.placement) {
    case 'nodeSelector-arch':
      return { nodeSelector: { 'beta.kubernetes.io/arch': arch } };
    case 'affinity-beta-os-arch':
    case 'affinity-os': {
      const matchExpressions =
        layout.placement === 'affinity-os'
          ? [requirement('kubernetes.io/os', 'linux')]
          : [requirement('beta.kubernetes.io/os', 'linux'), requirement('beta.kubernetes.io/arch', arch)];
      return {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions }] },
          },
        },
      };
    }
  }
}

function daemonSet(ctx: RenderContext, name: string, arch: string | undefined): KubeObject {
  const { layout, release } = ctx;
  const image = archImage(release.image, arch);
  const selectorLabels = ctx.selector ?? { app: 'flannel', ...(layout.k8sAppSelector ? K8S_APP : {}) };
  const podLabels = { ...NODE_LABELS, ...(layout.k8sAppSelector ? K8S_APP : {}), ...selectorLabels };
  const hasSelector = layout.daemonSetApiVersion === 'apps/v1' || ctx.selector !== undefined;

  const installCniPlugin = {
    name: 'install-cni-plugin',
    image: release.cniPluginImage,
    command: ['cp'],
    args: ['-f', '/flannel', '/opt/cni/bin/flannel'],
    volumeMounts: [{ name: 'cni-plugin', mountPath: '/opt/cni/bin' }],
  };
  const cniConfDest = `${CNI_CONF_DIR}/${layout.cniConf === 'plugin' ? '10-flannel.conf' : '10-flannel.conflist'}`;
  const installCni = {
    name: 'install-cni',
    image,
    ...(layout.installCni === 'install-conf'
      ? { command: ['/opt/bin/install-conf'], args: [`${CONFIG_MOUNT}cni-conf.json`, cniConfDest] }
      : { command: ['cp'], args: ['-f', `${CONFIG_MOUNT}cni-conf.json`, cniConfDest] }),
    volumeMounts: [
      { name: 'cni', mountPath: CNI_CONF_DIR },
      { name: 'flannel-cfg', mountPath: CONFIG_MOUNT },
    ],
  };
  const flanneldFlags = [
    '--ip-masq',
    '--kube-subnet-mgr',
    ...(layout.healthProbes ? ['--healthz-port=8081'] : []),
  ];
  const requests = { cpu: '100m', memory: '50Mi' };
  const flanneld = {
    name: 'kube-flannel',
    image,
    ...(layout.flanneldArgs === 'in-command'
      ? { command: ['/opt/bin/flanneld', ...flanneldFlags] }
      : { command: ['/opt/bin/flanneld'], args: flanneldFlags }),
    ...(layout.healthProbes
      ? {
          ports: [{ name: 'healthz', containerPort: 8081, protocol: 'TCP' }],
          livenessProbe: {
            httpGet: { path: '/healthz', port: 'healthz' },
            initialDelaySeconds: 10,
            periodSeconds: 30,
          },
          readinessProbe: {
            httpGet: { path: '/readyz', port: 'healthz' },
            initialDelaySeconds: 5,
            periodSeconds: 10,
          },
        }
      : {}),
    ...(layout.resources === 'requests-and-limits'
      ? { resources: { requests, limits: { ...requests } } }
      : layout.resources === 'requests'
        ? { resources: { requests } }
        : {}),
    securityContext:
      layout.securityContext === 'privileged'
        ? { privileged: true }
        : { privileged: false, capabilities: { add: [...layout.capabilities] } },
    env: [
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      ...(layout.eventQueueDepth ? [{ name: 'EVENT_QUEUE_DEPTH', value: '5000' }] : []),
      ...(layout.contWhenCacheNotReady ? [{ name: 'CONT_WHEN_CACHE_NOT_READY', value: 'false' }] : []),
    ],
    volumeMounts: [
      { name: 'run', mountPath: layout.runMount },
      { name: 'flannel-cfg', mountPath: CONFIG_MOUNT },
      ...(layout.xtablesLock ? [{ name: 'xtables-lock', mountPath: '/run/xtables.lock' }] : []),
    ],
  };
  const volumes = [
    { name: 'run', hostPath: { path: layout.runMount } },
    ...(layout.cniPluginInit ? [{ name: 'cni-plugin', hostPath: { path: '/opt/cni/bin' } }] : []),
    { name: 'cni', hostPath: { path: CNI_CONF_DIR } },
    { name: 'flannel-cfg', configMap: { name: ctx.names.configMap } },
    ...(layout.xtablesLock
      ? [{ name: 'xtables-lock', hostPath: { path: '/run/xtables.lock', type: 'FileOrCreate' } }]
      : []),
  ];

  return {
    apiVersion: layout.daemonSetApiVersion,
    kind: 'DaemonSet',
    metadata: metadata(ctx, name, true, NODE_LABELS),
    spec: {
      ...(hasSelector ? { selector: { matchLabels: selectorLabels } } : {}),
      template: {
        metadata: { labels: podLabels },
        spec: {
          ...placement(layout, arch ?? 'amd64'),
          hostNetwork: true,
          ...(layout.priorityClassName ? { priorityClassName: 'system-node-critical' } : {}),
          tolerations:
            layout.tolerations === 'master'
              ? [{ key: 'node-role.kubernetes.io/master', operator: 'Exists', effect: 'NoSchedule' }]
              : [{ operator: 'Exists', effect: 'NoSchedule' }],
          serviceAccountName: ctx.names.serviceAccount,
          initContainers: [...(layout.cniPluginInit ? [installCniPlugin] : []), installCni],
          containers: [flanneld],
          volumes,
        },
      },
    },
  };
}

// ---- for people and for the caller ---------------------------------------------------------------

function containerImages(obj: KubeObject): string[] {
  const spec = (obj.spec as { template?: { spec?: Record<string, unknown> } } | undefined)?.template?.spec;
  const list = (key: string) => (Array.isArray(spec?.[key]) ? (spec[key] as Array<{ image?: string }>) : []);
  return [...list('containers'), ...list('initContainers')]
    .map((c) => c.image)
    .filter((i): i is string => typeof i === 'string');
}

/** One line per object: `DaemonSet kube-flannel/kube-flannel-ds (image ghcr.io/flannel-io/flannel:v0.28.9)`. */
export function describeManifest(objects: readonly KubeObject[]): string[] {
  return objects.map((obj) => {
    const where = obj.metadata.namespace
      ? `${obj.metadata.namespace}/${obj.metadata.name}`
      : obj.metadata.name;
    const images = [...new Set(containerImages(obj))];
    const details: string[] = [];
    if (images.length) details.push(`image ${images.join(', ')}`);
    if (obj.apiVersion !== 'v1') details.push(obj.apiVersion);
    return `${obj.kind} ${where}${details.length ? ` (${details.join('; ')})` : ''}`;
  });
}

/**
 * A Network for net-conf.json when no ConfigMap survives: the smallest network holding every node's
 * podCIDR, widened to a /16 when narrower (the size kubeadm's documented --pod-network-cidr 10.244.0.0/16
 * and k3s's 10.42.0.0/16 use), so that nodes joining later still fall inside it. IPv6 podCIDRs are skipped;
 * undefined without any IPv4 podCIDR.
 */
export function networkForPodCidrs(podCidrs: readonly string[]): string | undefined {
  const cidrs = podCidrs.map((c) => parseIpv4Cidr(c)).filter((c): c is Ipv4Cidr => c !== undefined);
  if (!cidrs.length) return undefined;
  const low = Math.min(...cidrs.map((c) => c.network));
  const high = Math.max(...cidrs.map((c) => broadcastAddress(c)));
  let prefix = Math.min(16, ...cidrs.map((c) => c.prefix));
  const maskOf = (p: number) => (p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0);
  while (prefix > 0 && (low & maskOf(prefix)) >>> 0 !== (high & maskOf(prefix)) >>> 0) prefix--;
  return `${formatIpv4((low & maskOf(prefix)) >>> 0)}/${prefix}`;
}
