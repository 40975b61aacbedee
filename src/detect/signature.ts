/**
 * What detection extracts from a sandbox-failure message (domain/flannel.md §1.2, §1.3, §7).
 * Plain data (JSON-safe) so it can travel through Redis/BullMQ and into runbook matching.
 */

export const ERROR_CLASSES = [
  'ip-exhausted',
  'plugin-missing',
  'subnet-env-missing',
  'subnet-env-incomplete',
  'network-not-ready',
  'cni0-address-mismatch',
  'cni-config-invalid',
  'other',
] as const;
export type ErrorClass = (typeof ERROR_CLASSES)[number];

/** Which container runtime (and era) wrapped the CNI error, recognised from its wrapper text. */
export const RUNTIMES = [
  'containerd',
  'containerd-1.5',
  'cri-o',
  'dockershim',
  'pre-cri',
  'unknown',
] as const;
export type Runtime = (typeof RUNTIMES)[number];

/** How the flannel CNI plugin worded a missing subnet.env; the wording dates the plugin build (§1.3 B). */
export type SubnetEnvWording =
  /** plugin builds before v1.1.2 (and dockershim-era clusters): bare `open ...: no such file or directory` */
  | 'bare'
  /** cni-plugin v1.1.2 … v1.7.1-flannel1 */
  | 'loadFlannelSubnetEnv'
  /** cni-plugin ≥ v1.7.1-flannel2 / v1.8.0-flannel1 */
  | 'failed-to-load-file';

export interface FailureSignature {
  errorClass: ErrorClass;
  runtime: Runtime;
  /** Multus wrapped the delegate's error (the inner error is what was classified). */
  multus: boolean;
  /** The flannel plugin's `failed to delegate add: ` prefix was present (older plugin builds, §1.3 A-prefix). */
  delegateAdd: boolean;
  /** kubelet's aggregation prefix `(combined from similar events): `. */
  combined: boolean;
  /** Innermost CNI plugin type named by libcni (`plugin type="flannel"`), Multus itself excluded. */
  pluginType?: string;
  /** The `name="..."` libcni adds when the plugin conf has a name. */
  pluginName?: string;
  /** The sandbox id exactly as quoted by the runtime (64 hex on containerd/CRI-O; may be truncated in reports). */
  sandboxId?: string;
  /** Pod named inside the runtime text (CRI-O sandbox name, dockershim `<pod>_<ns>`, pre-CRI kubelet). */
  podName?: string;
  podNamespace?: string;
  /** Pod UID from a CRI-O sandbox name `k8s_<pod>_<ns>_<uid>_<attempt>`. */
  podUid?: string;
  /** CNI network name the runtime or Multus names (`to CNI network "cbr0"`, `to network "cbr0"`). */
  cniNetwork?: string;

  // ip-exhausted
  /** host-local range set, `start-end`, several ranges joined by `,` (current wording, §1.3 A). */
  range?: string;
  /** Network name in the legacy wording `no IP addresses available in network: <name>` (the IPAM dir name). */
  network?: string;
  /** Subnet that pre-v0.6.0 host-local appended after the network name. */
  subnet?: string;

  // plugin-missing
  /** The first plugin binary reported missing. */
  plugin?: string;
  /** Every plugin binary reported missing (the list form names several). */
  plugins?: string[];
  /** The search path as printed, without brackets (e.g. `/opt/cni/bin`). */
  searchPath?: string;

  // subnet-env-missing / subnet-env-incomplete
  subnetEnvPath?: string;
  subnetEnvWording?: SubnetEnvWording;
  /** Keys the plugin said subnet.env lacks. */
  missingKeys?: string[];

  // cni0-address-mismatch
  bridge?: string;
  expectedAddress?: string;

  // network-not-ready
  /** CNI config dir named by the runtime (`no network config found in /etc/cni/net.d`). */
  cniConfDir?: string;
}
