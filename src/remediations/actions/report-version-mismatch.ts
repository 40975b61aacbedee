/** report-version-mismatch: the running Flannel release does not suit the cluster's Kubernetes version. */
import { reportAction } from './report.js';

export const reportVersionMismatch = reportAction('report-version-mismatch', (params) => {
  const suitable = typeof params.suitable === 'string' ? params.suitable : undefined;
  return {
    headline: suitable ? `Move to Flannel ${suitable}` : 'Move to a Flannel release that suits this cluster',
    lines: [
      `A release whose manifest uses APIs this Kubernetes serves${suitable ? `: ${suitable}` : ''}. Keep your net-conf.json (back up kube-flannel-cfg first).`,
    ],
    commands: suitable
      ? [
          'kubectl -n kube-flannel get configmap kube-flannel-cfg -o yaml > kube-flannel-cfg.backup.yaml',
          `kubectl apply -f https://github.com/flannel-io/flannel/releases/download/${suitable}/kube-flannel.yml`,
        ]
      : [],
  };
});
