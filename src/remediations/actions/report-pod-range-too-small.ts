/**
 * report-pod-range-too-small: real pods fill the node's pod range (not a leak). The range comes from the
 * podCIDR size (net-conf.json SubnetLen / --node-cidr-mask-size); kubelet's --max-pods should fit it
 * (flannel#1309: editing cni0's netmask by hand breaks it).
 */
import { perNode, reportAction } from './report.js';

export const reportPodRangeTooSmall = reportAction('report-pod-range-too-small', (params) => {
  const counts = perNode<{ running?: number; usable?: number; allocatable?: number }>(params.podCounts);
  return {
    headline: `Pods fill the pod IP range of ${counts.map(([n]) => n).join(', ') || 'the affected nodes'}`,
    lines: [
      ...counts.map(
        ([node, c]) =>
          `${node}: ${c.running ?? '?'} running pods for ${c.usable ?? '?'} usable IPs${c.allocatable ? ` (kubelet allows ${c.allocatable})` : ''}`,
      ),
      'Give nodes a bigger range (net-conf.json SubnetLen with kube-controller-manager --node-cidr-mask-size, e.g. 24 for 253 pods) — new nodes get it — or lower kubelet --max-pods to what the range holds.',
    ],
    commands: [
      'kubectl -n kube-flannel edit configmap kube-flannel-cfg   # net-conf.json: "SubnetLen": 24',
      'kubectl get nodes -o custom-columns=NAME:.metadata.name,CIDR:.spec.podCIDR,MAXPODS:.status.allocatable.pods',
    ],
  };
});
