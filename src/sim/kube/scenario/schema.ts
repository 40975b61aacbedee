/**
 * The scenario file format of the Kubernetes simulator (documented for users in ../scenarios/README.md).
 * A scenario is data: the nodes (with their host trees and network devices), the Kubernetes objects,
 * and optional overrides of the sandbox error wording. Behaviour comes from the simulated hosts
 * (../host/node-host.ts) and the cluster emulation, never from the scenario's name.
 */
import { isIP, isIPv6 } from 'node:net';
import { z } from 'zod';

/** Container runtimes the simulator words sandbox failures for (domain/flannel.md §1.2). */
export const RUNTIMES = ['containerd', 'containerd-1.5', 'cri-o', 'dockershim'] as const;
export const runtimeSchema = z.enum(RUNTIMES);
export type Runtime = z.infer<typeof runtimeSchema>;

/** SPEC cause ids (plus `none` for a healthy cluster). */
export const ROOT_CAUSES = [
  'none',
  'flannel-not-deployed',
  'flannel-partially-deployed',
  'flannel-config-corrupt',
  'flannel-pod-failing',
  'podcidr-missing',
  'podcidr-outside-network',
  'ipam-leak',
  'ipam-exhausted',
  'stale-cni0',
  'cni-config-conflict',
  'cni-plugin-missing',
  'subnet-env-missing',
  'subnet-env-mismatch',
  'version-mismatch',
] as const;
export const rootCauseSchema = z.enum(ROOT_CAUSES);
export type RootCause = z.infer<typeof rootCauseSchema>;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
export const ipv4Schema = z.string().regex(IPV4, 'must be an IPv4 address like 10.244.1.5');

/** An IPv6 address (`fd00:10:244:1::5`), as node:net recognises it. */
export const ipv6Schema = z
  .string()
  .refine((s) => isIPv6(s), 'must be an IPv6 address like fd00:10:244:1::5');
/** An IPv4 or IPv6 address. */
export const ipSchema = z
  .string()
  .refine((s) => isIP(s) !== 0, 'must be an IPv4 or IPv6 address like 10.244.1.5 or fd00:10:244:1::5');

/** An IPv4 or IPv6 address with a prefix length (`10.244.1.1/24`, `fd00:10:244:1::1/64`). */
export const ipPrefixSchema = z.string().refine((s) => {
  const [ip, len, extra] = s.split('/');
  if (extra !== undefined || !/^\d{1,3}$/.test(len ?? '')) return false;
  if (IPV4.test(ip ?? '')) return Number(len) <= 32;
  return isIPv6(ip ?? '') && Number(len) <= 128;
}, 'must be IPv4/prefix like 10.244.1.0/24 or IPv6/prefix like fd00:10:244:1::/64');

/** An IPv4 address with a prefix length (`10.244.1.1/24`); used for device addresses and CIDRs. */
export const ipv4PrefixSchema = z.string().refine((s) => {
  const [ip, len, extra] = s.split('/');
  return extra === undefined && IPV4.test(ip ?? '') && /^\d{1,2}$/.test(len ?? '') && Number(len) <= 32;
}, 'must be IPv4/prefix like 10.244.1.0/24');

const dnsName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a lowercase DNS name (a-z, 0-9, "-", ".")')
  .max(253);

const absolutePath = z
  .string()
  .regex(/^\/[^\0]*$/, 'must be an absolute path on the node, like /etc/cni/net.d/10-flannel.conflist')
  .refine((p) => !p.split('/').includes('..'), 'must not contain ".."');

const fileMode = z
  .union([
    z.number().int().min(0).max(0o7777),
    z.string().regex(/^0?[0-7]{3,4}$/, 'must be octal like "0755"'),
  ])
  .transform((m) => (typeof m === 'number' ? m : parseInt(m, 8)));

/** A host file: its content, or `{content, mode}`, or null (the file is absent; lets a template remove one). */
export const hostFileSchema = z.union([
  z.string(),
  z.strictObject({ content: z.string(), mode: fileMode.optional() }),
  z.null(),
]);

export const DEVICE_TYPES = ['loopback', 'ether', 'bridge', 'vxlan', 'veth'] as const;

/** A network device of a node, as `ip -o addr` / `ip -d link` show it. */
export const deviceSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._@-]{1,15}$/, 'must be a Linux interface name (1-15 characters)'),
  type: z.enum(DEVICE_TYPES),
  mtu: z.number().int().min(68).max(65536).default(1500),
  mac: z
    .string()
    .regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/, 'must be a lowercase MAC like 8e:3f:0a:11:22:33')
    .optional(),
  state: z.enum(['UP', 'DOWN', 'UNKNOWN']).optional(),
  /** Addresses with prefix length, e.g. `10.244.1.1/24` (cni0), `10.244.1.0/32` (flannel.1), `fd00:10:244:1::1/64`. */
  addresses: z.array(ipPrefixSchema).default([]),
  /** The bridge a veth is attached to (`cni0`). */
  master: z.string().optional(),
  /** For veth: the network namespace of the peer (`cni-<uuid>`). */
  linkNetns: z.string().optional(),
  vxlan: z
    .strictObject({
      vni: z.number().int().min(0).max(16777215),
      port: z.number().int().min(1).max(65535).default(8472),
      local: ipv4Schema.optional(),
      dev: z.string().optional(),
      learning: z.boolean().default(false),
    })
    .optional(),
});
export type Device = z.output<typeof deviceSchema>;
export type DeviceInput = z.input<typeof deviceSchema>;

/** A route in the node's main table, as `ip route` prints it. */
export const routeSchema = z.strictObject({
  /** `default` or a CIDR. */
  dst: z.union([z.literal('default'), ipPrefixSchema]),
  via: ipSchema.optional(),
  dev: z.string().min(1),
  onlink: z.boolean().default(false),
});
export type Route = z.output<typeof routeSchema>;

/** host-local reservations to seed in /var/lib/cni/networks/<network>/ (domain/flannel.md §2). */
export const ipamSeedSchema = z.strictObject({
  /** The CNI network name (the conflist `name`): cbr0 for Flannel's stock config. */
  network: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, 'must be a CNI network name like cbr0')
    .default('cbr0'),
  reservations: z
    .array(
      z
        .strictObject({
          ip: ipSchema,
          /** The 64-hex sandbox id written into the file. */
          sandboxId: z
            .string()
            .regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters')
            .optional(),
          /** `namespace/pod`: the reservation belongs to that pod's sandbox (id from podSandboxId()). */
          owner: z
            .string()
            .regex(/^[a-z0-9-]+\/[a-z0-9.-]+$/, 'must be "namespace/pod"')
            .optional(),
          ifname: z.string().default('eth0'),
        })
        .refine((r) => (r.sandboxId === undefined) !== (r.owner === undefined), {
          message: 'needs exactly one of sandboxId or owner',
        }),
    )
    .default([]),
  /** Reserve every IP from..to (inclusive) not reserved above for sandboxes that no longer exist (leaks). */
  leaked: z.strictObject({ from: ipv4Schema, to: ipv4Schema }).optional(),
  /** Content of last_reserved_ip.0 (host-local's round-robin cursor). */
  lastReserved: ipv4Schema.optional(),
});

/** CNI plugin binaries to place in /opt/cni/bin, name -> version (the stub prints it like the real one). */
export const cniBinariesSchema = z.record(
  z.string().regex(/^[A-Za-z0-9._-]+$/, 'must be a plugin binary name like bridge'),
  z.string().regex(/^v\d+\.\d+\.\d+(-[A-Za-z0-9.]+)?$/, 'must be a version like v1.9.1 or v1.9.1-flannel3'),
);

export const hostSchema = z.strictObject({
  /** Absolute path on the node -> content. */
  files: z.record(absolutePath, hostFileSchema).default({}),
  cniBinaries: cniBinariesSchema.default({}),
  devices: z.array(deviceSchema).default([]),
  ipam: z.array(ipamSeedSchema).default([]),
  /** Names of entries in /var/run/netns (e.g. leftover cni-<uuid> namespaces). */
  netns: z
    .array(z.string().regex(/^[A-Za-z0-9._-]+$/, 'must be a netns name like cni-1234abcd-...'))
    .default([]),
  /**
   * Registries the node cannot reach (DNS or egress blocked), e.g. `ghcr.io`: their images are not on the
   * node and pulling them fails (ErrImagePull, then ImagePullBackOff).
   */
  unreachableRegistries: z
    .array(z.string().regex(/^[a-z0-9.-]+(:\d+)?$/, 'must be a registry host like ghcr.io'))
    .default([]),
  /**
   * The br_netfilter kernel module is loaded (`/proc/sys/net/bridge/bridge-nf-call-iptables` exists). Without it
   * flanneld exits at start-up with `Failed to check br_netfilter` (unless net-conf.json enables nftables).
   */
  brNetfilter: z.boolean().default(true),
  /** Routes besides the connected ones and those flanneld adds (`ip route` shows them). */
  routes: z.array(routeSchema).default([]),
});
export type HostSpec = z.output<typeof hostSchema>;

const taintSchema = z.strictObject({
  key: z.string().min(1),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']),
});

const conditionSchema = z.strictObject({
  type: z.string().min(1),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().optional(),
  message: z.string().optional(),
});

export const nodeSchema = z.strictObject({
  name: dnsName,
  internalIP: ipv4Schema,
  /** Omit to simulate a node the controller-manager gave no podCIDR. */
  podCIDR: ipv4PrefixSchema.optional(),
  /**
   * Dual-stack / IPv6: spec.podCIDRs (at most one per family). With podCIDR it must start with it; without it,
   * its IPv4 entry (if any) is the podCIDR.
   */
  podCIDRs: z.array(ipPrefixSchema).max(2).optional(),
  runtime: runtimeSchema.default('containerd'),
  /** status.nodeInfo.containerRuntimeVersion; a default per runtime when omitted. */
  runtimeVersion: z.string().optional(),
  /** status.nodeInfo.kubeletVersion; the scenario's kubernetesVersion when omitted. */
  kubeletVersion: z.string().optional(),
  labels: z.record(z.string(), z.string()).default({}),
  annotations: z.record(z.string(), z.string()).default({}),
  taints: z.array(taintSchema).default([]),
  /** Initial conditions; the simulated kubelet/flanneld keep them up to date afterwards. */
  conditions: z.array(conditionSchema).default([]),
  maxPods: z.number().int().min(1).default(110),
  host: hostSchema.default({
    files: {},
    cniBinaries: {},
    devices: [],
    ipam: [],
    netns: [],
    unreachableRegistries: [],
    brNetfilter: true,
    routes: [],
  }),
});
export type ScenarioNode = z.output<typeof nodeSchema>;

/** Any Kubernetes object; kind-specific validation is the API server's job. */
export const kubeObjectSchema = z.looseObject({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  metadata: z.looseObject({
    name: dnsName.optional(),
    generateName: z.string().optional(),
    namespace: dnsName.optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
});

/**
 * Overrides of the sandbox failure text while a node's pod network is broken. `pluginError` replaces the
 * CNI error (the runtime still wraps it); `message` is the whole event message, with placeholders
 * {{sandboxId}} {{pod}} {{namespace}} {{podUid}} {{node}}.
 */
export const sandboxOverrideSchema = z
  .strictObject({
    /** Node names it applies to; all nodes when omitted. */
    nodes: z.array(z.string()).optional(),
    pluginError: z.string().min(1).optional(),
    message: z.string().min(1).optional(),
  })
  .refine((o) => (o.pluginError === undefined) !== (o.message === undefined), {
    message: 'needs exactly one of pluginError or message',
  });
export type SandboxOverride = z.output<typeof sandboxOverrideSchema>;

/** Container log lines of a pod the scenario lists (e.g. the flanneld log of a kube-flannel pod it declares running). */
export const podLogSchema = z.strictObject({
  /** `namespace/name` of a Pod in `objects`. */
  pod: z.string().regex(/^[a-z0-9-]+\/[a-z0-9.-]+$/, 'must be "namespace/pod"'),
  container: z.string().min(1),
  /** The log of the previous (terminated) container instance, as `kubectl logs --previous` shows it. */
  previous: z.boolean().default(false),
  lines: z.array(z.string()).min(1),
});
export type PodLogSeed = z.output<typeof podLogSchema>;

export const failureSchema = z.strictObject({
  sandbox: z.array(sandboxOverrideSchema).default([]),
});

/**
 * `--nodes N` replicates `nodeTemplate` N times. Strings in the template (and in objectsPerNode) may use
 * {{i}} {{name}} {{internalIP}} {{podCIDR}} {{podNetwork}} {{podGateway}}; the i-th node gets the i-th /24
 * after podCIDRBase (10.244.<i>.0/24) and the address internalIPBase + i.
 */
export const generateSchema = z.strictObject({
  namePattern: z.string().includes('{{i}}', { message: 'must contain {{i}}' }).default('node-{{i}}'),
  firstIndex: z.number().int().min(0).default(1),
  internalIPBase: ipv4Schema.default('192.168.56.10'),
  podCIDRBase: ipv4Schema.default('10.244.0.0'),
  /** Fields of a node (like nodes[]), without name/internalIP/podCIDR, which are generated. */
  nodeTemplate: z.record(z.string(), z.unknown()).default({}),
  /** Objects added once per generated node (e.g. a pod pinned to it). */
  objectsPerNode: z.array(z.unknown()).default([]),
  /** Keep the scenario's own nodes beside the generated ones (default: replace them). */
  keepNodes: z.boolean().default(false),
});
export type GenerateSpec = z.output<typeof generateSchema>;

export const scenarioSchema = z
  .strictObject({
    name: dnsName,
    description: z.string().min(1),
    rootCause: rootCauseSchema,
    // Distributions add build metadata (k3s: v1.33.4+k3s1, RKE2: v1.33.4+rke2r1).
    kubernetesVersion: z
      .string()
      .regex(/^v1\.\d+\.\d+(\+[0-9A-Za-z.-]+)?$/, 'must be a version like v1.33.4 or v1.33.4+k3s1'),
    nodes: z.array(nodeSchema).min(1, 'needs at least one node'),
    objects: z.array(kubeObjectSchema).default([]),
    failure: failureSchema.default({ sandbox: [] }),
    /** Container logs of listed pods (`kubectl logs`); times may be relative, like object fields. */
    logs: z.array(podLogSchema).default([]),
    generate: generateSchema.optional(),
  })
  .superRefine((s, ctx) => {
    const seen = new Set<string>();
    s.nodes.forEach((n, i) => {
      if (seen.has(n.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['nodes', i, 'name'],
          message: `duplicate node name "${n.name}"`,
        });
      }
      seen.add(n.name);
    });
    s.nodes.forEach((n, i) => {
      const cidrs = n.podCIDRs ?? [];
      if (n.podCIDR && cidrs.length > 0 && cidrs[0] !== n.podCIDR)
        ctx.addIssue({
          code: 'custom',
          path: ['nodes', i, 'podCIDRs'],
          message: `must start with podCIDR ${n.podCIDR} (spec.podCIDRs[0] is spec.podCIDR)`,
        });
      const families = cidrs.map((c) => (c.includes(':') ? 6 : 4));
      if (new Set(families).size !== families.length)
        ctx.addIssue({
          code: 'custom',
          path: ['nodes', i, 'podCIDRs'],
          message: 'at most one CIDR per IP family',
        });
    });
    const pods = new Set(
      s.objects
        .filter((o) => o.kind === 'Pod')
        .map((o) => `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`),
    );
    s.logs.forEach((l, i) => {
      if (!pods.has(l.pod))
        ctx.addIssue({ code: 'custom', path: ['logs', i, 'pod'], message: `no Pod ${l.pod} in objects` });
    });
    s.failure.sandbox.forEach((o, i) =>
      (o.nodes ?? []).forEach((n, j) => {
        if (!seen.has(n)) {
          ctx.addIssue({
            code: 'custom',
            path: ['failure', 'sandbox', i, 'nodes', j],
            message: `unknown node "${n}"`,
          });
        }
      }),
    );
  });
export type Scenario = z.output<typeof scenarioSchema>;
