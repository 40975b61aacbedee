/**
 * report-cni-config-conflict: another CNI's config sorts before Flannel's in /etc/cni/net.d, and runtimes load
 * only the first (domain/flannel.md §5.5: containerd's 10-containerd-net.conflist, a leftover
 * 10-calico.conflist). Moving a file away is a node change a person makes; pods on the node must then be
 * recreated to get Flannel networking.
 */
import { perNode, reportAction } from './report.js';
import { stringList } from './common.js';

export const reportCniConfigConflict = reportAction('report-cni-config-conflict', (params) => {
  const conflicts = perNode<{ effective?: string; flannel?: string }>(params.conflicts);
  const cnis = stringList(params.cnis);
  const lines = conflicts.map(
    ([node, c]) =>
      `${node}: /etc/cni/net.d/${c.effective ?? '?'} sorts before ${c.flannel ?? "Flannel's conflist"}, so the runtime uses it`,
  );
  if (cnis.length) lines.push(`other CNIs deployed beside Flannel: ${cnis.join(', ')}`);
  lines.push(
    'Move the other config away on each node (keep it, do not delete it), then recreate the pods that got the wrong network.',
  );
  const files = [...new Set(conflicts.map(([, c]) => c.effective).filter((f): f is string => !!f))];
  return {
    headline: `Remove ${files.join(', ') || 'the conflicting CNI config'} from /etc/cni/net.d on ${conflicts.map(([n]) => n).join(', ') || 'the affected nodes'}`,
    lines,
    commands: [
      'sudo mkdir -p /etc/cni/net.d.disabled',
      ...files.map((f) => `sudo mv /etc/cni/net.d/${f} /etc/cni/net.d.disabled/`),
      'kubectl get pods -A -o wide --field-selector spec.nodeName=<node>   # then delete the pods with foreign IPs',
    ],
  };
});
