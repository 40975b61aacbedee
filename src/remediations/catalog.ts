/**
 * The built-in remediation actions runbooks may name (SPEC "Remediation steps"). Data only: the
 * implementations register against these ids; runbook validation rejects any other id.
 *
 * `minRisk` is the lowest risk a runbook may declare for the action: a runbook cannot make
 * deleting cni0 "low" and so skip the approvals a high-risk step needs.
 * `reportOnly` actions change nothing; they post the fix a person has to make (SPEC: podCIDR/Network
 * mismatches and missing upstream CNI binaries are reported, not changed).
 *
 * Deliberately absent (domain/flannel.md §6 anti-patterns, SPEC "Never offered"): writing or copying
 * subnet.env, flushing iptables, wiping /var/lib/cni while pods run.
 */

export const RISKS = ['low', 'medium', 'high'] as const;
export type Risk = (typeof RISKS)[number];

export interface ActionInfo {
  description: string;
  minRisk: Risk;
  reportOnly: boolean;
  /** node: runs on each of the step's nodes (one step groups them); cluster: runs once for the cluster. */
  scope: 'node' | 'cluster';
}

export const ACTION_IDS = {
  'reapply-flannel-manifest': {
    description:
      'Server-side apply the Flannel manifest pinned to the running version, keeping net-conf.json (diff and ConfigMap backup first)',
    minRisk: 'high',
    reportOnly: false,
    scope: 'cluster',
  },
  'restart-flannel-pod': {
    description:
      'Delete the Flannel pod on the node so the DaemonSet recreates it (re-runs the CNI install init containers)',
    minRisk: 'low',
    reportOnly: false,
    scope: 'node',
  },
  'delete-stuck-pods': {
    description:
      'Force-delete controller-owned pods stuck in ContainerCreating on the node (bare pods are only listed)',
    minRisk: 'medium',
    reportOnly: false,
    scope: 'cluster',
  },
  'release-leaked-ips': {
    description: 'Under the IPAM lock, remove host-local reservations owned by no sandbox and used by no pod',
    minRisk: 'medium',
    reportOnly: false,
    scope: 'node',
  },
  'remove-leftover-netns': {
    description: 'Delete network namespaces in /var/run/netns that no sandbox references',
    minRisk: 'low',
    reportOnly: false,
    scope: 'node',
  },
  'delete-stale-cni0': {
    description:
      'Delete the cni0 bridge holding an old address on a cordoned node (the bridge plugin recreates it)',
    minRisk: 'high',
    reportOnly: false,
    scope: 'node',
  },
  'restart-kubelet': {
    description: 'Restart kubelet on the node (reloads CNI config on dockershim, re-drives sandbox teardown)',
    minRisk: 'medium',
    reportOnly: false,
    scope: 'node',
  },
  'cordon-node': {
    description: 'Mark the node unschedulable before disruptive node work',
    minRisk: 'low',
    reportOnly: false,
    scope: 'node',
  },
  'uncordon-node': {
    description: 'Make the node schedulable again once it is healthy',
    minRisk: 'low',
    reportOnly: false,
    scope: 'node',
  },
  'report-podcidr-network-mismatch': {
    description:
      'Explain how to align node podCIDRs with the Flannel Network (controller-manager --allocate-node-cidrs/--cluster-cidr or net-conf.json Network)',
    minRisk: 'low',
    reportOnly: true,
    scope: 'cluster',
  },
  'report-missing-cni-plugins': {
    description:
      'Explain how to install the upstream CNI plugins (bridge, host-local, portmap, loopback) into the runtime bin_dir',
    minRisk: 'low',
    reportOnly: true,
    scope: 'cluster',
  },
  'report-cni-config-conflict': {
    description:
      'Name the CNI config that sorts before Flannel in /etc/cni/net.d and how to remove it safely',
    minRisk: 'low',
    reportOnly: true,
    scope: 'cluster',
  },
  'report-pod-range-too-small': {
    description:
      'Explain how to give nodes a larger pod range (SubnetLen, --node-cidr-mask-size, --max-pods)',
    minRisk: 'low',
    reportOnly: true,
    scope: 'cluster',
  },
  'report-version-mismatch': {
    description: 'Name a Flannel version that suits the cluster and how to upgrade it',
    minRisk: 'low',
    reportOnly: true,
    scope: 'cluster',
  },
} as const satisfies Record<string, ActionInfo>;

export type ActionId = keyof typeof ACTION_IDS;

export const ACTION_ID_LIST = Object.keys(ACTION_IDS) as ActionId[];

export function isActionId(value: string): value is ActionId {
  return Object.hasOwn(ACTION_IDS, value);
}

export function riskRank(risk: Risk): number {
  return RISKS.indexOf(risk);
}
