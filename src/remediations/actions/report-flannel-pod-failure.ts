/**
 * report-flannel-pod-failure: the Flannel pod cannot run on some nodes for a reason a restart does not fix —
 * an image the node cannot pull (registry unreachable from that node: DNS, egress, a proxy), the node itself
 * (br_netfilter not loaded, no usable interface for flanneld), or no pod at all because the DaemonSet does not
 * tolerate a taint of the node. The fix is the node, a mirror, or the DaemonSet's tolerations; flannel-ops
 * changes none of them.
 */
import { perNode, reportAction } from './report.js';

export const reportFlannelPodFailure = reportAction('report-flannel-pod-failure', (params) => {
  const kinds = Object.fromEntries(perNode<string>(params.podFailure));
  const problems = perNode<{ pod?: string; problem?: string; images?: string[] }>(params.podProblem);
  const pulls = problems.filter(([node]) => kinds[node] === 'image-pull');
  const unscheduled = perNode<{
    daemonSet?: string;
    tolerations?: Array<Record<string, string>>;
    selector?: string[];
  }>(params.unscheduled);
  const nodeConfig = problems.filter(([node]) => kinds[node] === 'node-config');
  const others = problems.filter(
    ([node]) =>
      kinds[node] !== 'image-pull' && kinds[node] !== 'not-scheduled' && kinds[node] !== 'node-config',
  );
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
  if (unscheduled.length) {
    const daemonSet = unscheduled[0][1].daemonSet ?? 'kube-flannel/kube-flannel-ds';
    const [ns, name] = daemonSet.split('/');
    const tolerations = new Map<string, Record<string, string>>();
    for (const [, u] of unscheduled)
      for (const t of u.tolerations ?? []) tolerations.set(`${t.key}:${t.effect}`, t);
    if (tolerations.size) {
      lines.push(
        `The DaemonSet ${daemonSet} does not tolerate the taints of ${unscheduled.map(([n]) => n).join(', ')}, so no Flannel pod runs there and its pods get no network. Add the toleration${tolerations.size === 1 ? '' : 's'} to its pod template (or remove the taint if it was set by mistake):`,
      );
      for (const t of tolerations.values())
        lines.push(`  - key: ${t.key}\n    operator: Exists\n    effect: ${t.effect}`);
      commands.push(
        `kubectl -n ${ns} patch ds ${name} --type=json -p '${JSON.stringify(
          [...tolerations.values()].map((t) => ({
            op: 'add',
            path: '/spec/template/spec/tolerations/-',
            value: { key: t.key, operator: 'Exists', effect: t.effect },
          })),
        )}'`,
        `kubectl -n ${ns} get pods -l app=flannel -o wide   # a pod on ${unscheduled[0][0]} once it is scheduled`,
      );
    }
    const selectors = unscheduled.flatMap(([n, u]) => (u.selector ?? []).map((s) => `${n}: ${s}`));
    if (selectors.length) {
      lines.push(
        `The DaemonSet's nodeSelector excludes ${selectors.join('; ')}: label the node to match, or widen the DaemonSet's nodeSelector.`,
      );
      commands.push(`kubectl -n ${ns} get ds ${name} -o jsonpath='{.spec.template.spec.nodeSelector}'`);
    }
  }
  if (nodeConfig.length) {
    const text = nodeConfig.map(([, p]) => p.problem ?? '').join(' ');
    if (/br_netfilter/.test(text)) {
      lines.push(
        `flanneld exits because the br_netfilter kernel module is not loaded on ${nodeConfig.map(([n]) => n).join(', ')}. Load it now and at every boot, then the Flannel pod starts on its next restart:`,
      );
      commands.push(
        'modprobe br_netfilter   # on the node',
        'echo br_netfilter > /etc/modules-load.d/k8s.conf   # on the node: load it at boot',
        'sysctl net.bridge.bridge-nf-call-iptables=1   # on the node',
      );
    }
    if (/interface/.test(text)) {
      lines.push(
        `flanneld finds no usable interface on ${nodeConfig.map(([n]) => n).join(', ')}: the --iface/--iface-regex it is given does not exist there or has no address. Fix the node's interface, or the DaemonSet's --iface argument (it may name an interface of other nodes):`,
      );
      commands.push('ip -o addr show   # on the node: the interfaces and their addresses');
    }
    commands.push(
      ...nodeConfig.slice(0, 2).map(([, p]) => {
        const [ns, name] = (p.pod ?? 'kube-flannel/kube-flannel-ds').split('/');
        return `kubectl -n ${ns} logs ${name} --previous`;
      }),
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
