/**
 * report-podcidr-network-mismatch: node podCIDRs missing, or outside the Flannel Network. The fix is
 * cluster configuration (controller-manager --allocate-node-cidrs / --cluster-cidr, or net-conf.json
 * Network), which a bot must not edit (domain/flannel.md §5.8, flannel#1428/#1983).
 */
import { networkForPodCidrs } from '../flannel-manifest.js';
import { perNode, reportAction } from './report.js';
import { stringList } from './common.js';

export const reportPodcidrNetworkMismatch = reportAction('report-podcidr-network-mismatch', (params) => {
  const network = typeof params.network === 'string' ? params.network : undefined;
  const outside = perNode<string>(params.podCIDRs);
  const nodes = stringList(params.nodes);
  if (outside.length > 0) {
    const cover = networkForPodCidrs(outside.map(([, c]) => c));
    return {
      headline: `Node podCIDRs lie outside the Flannel Network ${network ?? ''}`.trim(),
      lines: [
        ...outside.map(([node, cidr]) => `${node}: podCIDR ${cidr} is outside ${network ?? 'the Network'}`),
        `Either make net-conf.json's Network cover the podCIDRs${cover ? ` ("Network": "${cover}")` : ''} and restart Flannel,`,
        "or make kube-controller-manager allocate podCIDRs inside the Network (--cluster-cidr; kubeadm: networking.podSubnet) and re-register the nodes (a node's podCIDR cannot change).",
      ],
      commands: [
        'kubectl -n kube-flannel edit configmap kube-flannel-cfg   # net-conf.json: "Network": ' +
          `"${cover ?? '<cluster CIDR>'}"`,
        'kubectl -n kube-flannel rollout restart daemonset kube-flannel-ds',
      ],
    };
  }
  const missing = nodes.length ? nodes.join(', ') : 'the nodes';
  return {
    headline: `${missing} have no podCIDR`,
    lines: [
      `${missing}: spec.podCIDR is empty, so flanneld cannot lease a subnet ("pod cidr not assigned").`,
      `kube-controller-manager must allocate node CIDRs: --allocate-node-cidrs=true --cluster-cidr=${network ?? '<the Flannel Network>'} (kubeadm: kubeadm init --pod-network-cidr=${network ?? '10.244.0.0/16'}, i.e. networking.podSubnet).`,
      'A node gets a podCIDR when it registers: after fixing the flags, remove and re-join the nodes without one, or set it once on a node that has none.',
    ],
    commands: [
      `kubectl -n kube-system get pod -l component=kube-controller-manager -o yaml | grep -e allocate-node-cidrs -e cluster-cidr`,
      ...nodes
        .slice(0, 3)
        .map(
          (n) =>
            `kubectl patch node ${n} -p '{"spec":{"podCIDR":"<a free /24 inside ${network ?? 'the Network'}>"}}'`,
        ),
    ],
  };
});
