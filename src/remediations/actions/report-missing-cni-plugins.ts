/**
 * report-missing-cni-plugins: the upstream plugins (bridge, host-local, portmap, loopback) are not in the
 * runtime's bin_dir. Flannel ships only its own binary; maintainers' fix: install the containernetworking
 * plugins release (flannel#1730, #1847).
 */
import { perNode, reportAction } from './report.js';

const CNI_PLUGINS_VERSION = 'v1.9.1';

export const reportMissingCniPlugins = reportAction('report-missing-cni-plugins', (params) => {
  const missing = perNode<string[]>(params.missingPlugins).map(
    ([node, list]) => [node, (list ?? []).filter((p) => p !== 'flannel')] as const,
  );
  const upstream = missing.filter(([, list]) => list.length > 0);
  return {
    headline: `Install the upstream CNI plugins on ${upstream.map(([n]) => n).join(', ') || 'the affected nodes'}`,
    lines: [
      ...upstream.map(([node, list]) => `${node}: /opt/cni/bin lacks ${list.join(', ')}`),
      'Flannel installs only /opt/cni/bin/flannel; the plugins it delegates to come from containernetworking/plugins (or your distribution: containernetworking-plugins). If the runtime uses another bin_dir, install there.',
    ],
    commands: [
      `curl -fsSL https://github.com/containernetworking/plugins/releases/download/${CNI_PLUGINS_VERSION}/cni-plugins-linux-amd64-${CNI_PLUGINS_VERSION}.tgz | sudo tar -C /opt/cni/bin -xz`,
      'ls /opt/cni/bin   # bridge host-local portmap loopback flannel ...',
    ],
  };
});
