/**
 * The built-in diagnosis checks runbooks may name (SPEC "Diagnosis checks"). Data only: the
 * implementations register against these ids; runbook validation rejects any other id.
 */

export type CheckScope =
  /** reads the Kubernetes API only */
  | 'api'
  /** needs a probe pod on the affected node (domain/flannel.md §8, node checks) */
  | 'node';

export interface CheckInfo {
  scope: CheckScope;
  description: string;
}

export const CHECK_IDS = {
  'flannel-daemonset': {
    scope: 'api',
    description:
      'Flannel DaemonSet found by label app=flannel (kube-flannel, then kube-system) and ready on every node',
  },
  'flannel-pods': {
    scope: 'api',
    description: 'Flannel pod per node: phase, readiness, restarts, last termination, init containers',
  },
  'flannel-configmap': {
    scope: 'api',
    description: 'ConfigMap kube-flannel-cfg present with valid net-conf.json and cni-conf.json',
  },
  'flannel-rbac': {
    scope: 'api',
    description: 'Flannel ServiceAccount, ClusterRole and ClusterRoleBinding present and bound',
  },
  'node-podcidrs': {
    scope: 'api',
    description: 'Every node has a podCIDR inside the Flannel Network, with no overlaps',
  },
  'node-conditions': {
    scope: 'api',
    description: 'Node conditions: NetworkUnavailable (FlannelIsUp) and Ready (cni config uninitialized)',
  },
  'node-annotations': {
    scope: 'api',
    description: 'Flannel node annotations (backend-type, backend-data, public-ip, kube-subnet-manager)',
  },
  'stuck-pods': {
    scope: 'api',
    description: 'Pods stuck in ContainerCreating or Terminating per node, with their sandbox errors',
  },
  'other-cnis': {
    scope: 'api',
    description: 'Other CNIs deployed beside Flannel (Calico, Cilium, Weave, Multus, ...)',
  },
  'pod-ips': {
    scope: 'api',
    description:
      "Every pod IP inside the Flannel Network and its node's podCIDR, no IP used twice (another CNI config or a wrong subnet.env at work)",
  },
  'version-compat': {
    scope: 'api',
    description: 'Kubernetes version against the running Flannel version and manifest generation',
  },
  'node-cni-config': {
    scope: 'node',
    description: '/etc/cni/net.d: Flannel conflist present, valid, and first in sort order',
  },
  'node-cni-plugins': {
    scope: 'node',
    description: '/opt/cni/bin holds flannel, bridge, host-local, portmap and loopback',
  },
  'node-devices': {
    scope: 'node',
    description: 'cni0 and flannel.1 devices; cni0 address against the node podCIDR',
  },
  'node-subnet-env': {
    scope: 'node',
    description: '/run/flannel/subnet.env present, complete, and matching the node podCIDR',
  },
  'node-ipam': {
    scope: 'node',
    description:
      'host-local reservations in /var/lib/cni/networks/<net> against pod IPs in use (leaks by IP)',
  },
  'node-netns': {
    scope: 'node',
    description: 'Leftover network namespaces in /var/run/netns not used by any sandbox',
  },
} as const satisfies Record<string, CheckInfo>;

export type CheckId = keyof typeof CHECK_IDS;

export const CHECK_ID_LIST = Object.keys(CHECK_IDS) as CheckId[];

export function isCheckId(value: string): value is CheckId {
  return Object.hasOwn(CHECK_IDS, value);
}
