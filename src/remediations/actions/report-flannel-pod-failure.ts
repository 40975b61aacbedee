/**
 * report-flannel-pod-failure: the Flannel pod cannot run on some nodes for a reason a restart does not fix —
 * typically an image the node cannot pull (registry unreachable from that node: DNS, egress, a proxy). The fix
 * is the node's network or a mirror the node can reach; flannel-ops does not change images.
 */
import { perNode, reportAction } from './report.js';

export const reportFlannelPodFailure = reportAction('report-flannel-pod-failure', (params) => {
  const kinds = Object.fromEntries(perNode<string>(params.podFailure));
  const problems = perNode<{ pod?: string; problem?: string; images?: string[] }>(params.podProblem);
  const pulls = problems.filter(([node]) => kinds[node] === 'image-pull');
  const others = problems.filter(([node]) => kinds[node] !== 'image-pull');
  const lines = problems.map(
    ([node, p]) => `${node}: ${p.pod ?? 'Flannel pod'} — ${p.problem ?? 'not running'}`,
  );
  const commands: string[] = [];
  if (pulls.length) {
    const images = [...new Set(pulls.flatMap(([, p]) => p.images ?? []))];
    const [pod] = (pulls[0][1].pod ?? 'kube-flannel/kube-flannel-ds').split('/');
    lines.push(
      `The node${pulls.length === 1 ? '' : 's'} cannot pull ${images.join(', ') || "Flannel's images"}: let ${pulls.map(([n]) => n).join(', ')} reach the registry (DNS, egress firewall, proxy), or mirror the images to a registry the nodes reach and point the DaemonSet at the mirror.`,
    );
    commands.push(
      `kubectl -n ${pod} get events --field-selector reason=Failed`,
      ...images.slice(0, 2).map((i) => `crictl pull ${i}   # on ${pulls[0][0]}: shows the pull error`),
    );
  }
  if (others.length) {
    lines.push('Read the pod log for the reason flanneld stops (the verdict quotes its last lines).');
    commands.push(
      ...others.slice(0, 2).map(([, p]) => {
        const [ns, name] = (p.pod ?? 'kube-flannel/kube-flannel-ds').split('/');
        return `kubectl -n ${ns} logs ${name} --previous`;
      }),
    );
  }
  return {
    headline: `Why Flannel cannot run on ${problems.map(([n]) => n).join(', ') || 'some nodes'}`,
    lines,
    commands,
  };
});
