/**
 * Root-cause ids a verdict can name (SPEC "Diagnosis checks"). They are stable: `diagnose --json`,
 * runbooks (`when.causes`) and tests refer to them.
 */
export const CAUSE_IDS = {
  'flannel-not-deployed': 'Flannel is not deployed (no DaemonSet labelled app=flannel)',
  'flannel-partially-deployed': 'Some Flannel objects were deleted (DaemonSet, ConfigMap or RBAC missing)',
  'flannel-config-corrupt': 'The Flannel ConfigMap net-conf.json or cni-conf.json is invalid',
  'flannel-pod-failing': 'The Flannel pod is crash-looping or not running on some nodes',
  'podcidr-missing': 'Nodes have no podCIDR (controller-manager does not allocate node CIDRs)',
  'podcidr-outside-network': "A node's podCIDR lies outside the Flannel Network",
  'ipam-leak': 'host-local IP reservations leaked by sandboxes that no longer exist',
  'ipam-exhausted': "Running pods fill the node's pod IP range",
  'stale-cni0': 'The cni0 bridge holds an address from an old podCIDR',
  'cni-config-conflict': 'Another CNI config sorts before Flannel in /etc/cni/net.d',
  'cni-plugin-missing': 'CNI plugin binaries are missing from /opt/cni/bin',
  'subnet-env-missing': '/run/flannel/subnet.env is missing or incomplete',
  'subnet-env-mismatch': "/run/flannel/subnet.env disagrees with the node's podCIDR",
  'version-mismatch': 'The Flannel version does not suit the Kubernetes version',
} as const satisfies Record<string, string>;

export type CauseId = keyof typeof CAUSE_IDS;

export const CAUSE_ID_LIST = Object.keys(CAUSE_IDS) as CauseId[];

export function isCauseId(value: string): value is CauseId {
  return Object.hasOwn(CAUSE_IDS, value);
}
