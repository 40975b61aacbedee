/**
 * Names of the built-in scenarios (`../scenarios/<name>.yaml`). Kept apart from load.ts, which pulls in
 * yaml and zod, so `flannel-ops sim --help` can list them without loading the simulator.
 */
export const BUILTIN_SCENARIOS = [
  'healthy',
  'flannel-missing',
  'flannel-config-corrupt',
  'flannel-crashloop',
  'podcidr-missing',
  'ipam-leak',
  'stale-cni0',
  'cni-conflict',
  'flannel-daemonset-deleted',
  'flannel-image-pull',
  'ipam-exhausted',
  'cni-plugins-missing',
  'subnet-env-deleted',
  'version-mismatch',
  'k3s-embedded',
  'legacy-kube-system',
  'containerd-net-leftover',
  'multus-flannel',
  'flannel-old-restarts',
  'flannel-untolerated-taint',
  'subnet-env-mismatch',
  'version-rbac-removed',
  'flannel-br-netfilter',
  'host-gw',
  'dual-stack',
  'ipam-leak-notready',
] as const;
