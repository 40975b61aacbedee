/**
 * restart-flannel-pod: deletes the Flannel pod on the node so its DaemonSet recreates it. The new pod re-runs
 * the init containers (they install /opt/cni/bin/flannel and /etc/cni/net.d/10-flannel.conflist) and a
 * fresh flanneld rewrites /run/flannel/subnet.env from the node's lease — never hand-written by us.
 */
import { gatherFlannelDaemonSets, gatherFlannelPods } from '../../checks/api/flannel-objects.js';
import type { PodSummary } from '../../checks/api/summaries.js';
import type { KubeClients } from '../../kube/clients.js';
import type { RemediationAction } from '../types.js';
import { isNotFound, requireNode } from './common.js';

async function flannelPodOn(kube: KubeClients, node: string): Promise<PodSummary | undefined> {
  const pods = await gatherFlannelPods(kube, await gatherFlannelDaemonSets(kube));
  return pods.find((p) => p.node === node && !p.deletionTimestamp);
}

export const restartFlannelPod: RemediationAction = {
  id: 'restart-flannel-pod',
  scope: 'node',
  verifyTimeoutMs: 120_000,
  async preview(ctx) {
    const node = requireNode(ctx);
    const pod = await flannelPodOn(ctx.kube, node);
    if (!pod) {
      return {
        headline: `Restart the Flannel pod on ${node}`,
        lines: [],
        blockers: [
          `no Flannel pod runs on ${node} (kubectl get pods -A -l app=flannel --field-selector spec.nodeName=${node}): the DaemonSet does not schedule one there`,
        ],
      };
    }
    return {
      headline: `Restart the Flannel pod on ${node}`,
      lines: [
        `delete pod ${pod.namespace}/${pod.name} (${pod.phase}${pod.ready ? ', ready' : ', not ready'}); its DaemonSet starts a new one on ${node}, which re-installs the CNI binary and config and rewrites /run/flannel/subnet.env`,
      ],
      commands: [`kubectl -n ${pod.namespace} delete pod ${pod.name}`],
      via: 'api',
      data: { pod: { namespace: pod.namespace, name: pod.name, uid: pod.uid } },
    };
  },
  async execute(ctx, preview) {
    const node = requireNode(ctx);
    const planned = preview.data?.pod as { namespace: string; name: string; uid?: string } | undefined;
    const current = await flannelPodOn(ctx.kube, node);
    if (!current) return { outcome: 'failed', lines: [`no Flannel pod on ${node} to restart`] };
    if (planned?.uid && current.uid && current.uid !== planned.uid) {
      return {
        outcome: 'noop',
        lines: [`the Flannel pod on ${node} was already replaced (now ${current.namespace}/${current.name})`],
      };
    }
    try {
      await ctx.kube.core.deleteNamespacedPod({ namespace: current.namespace, name: current.name });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    return { outcome: 'done', lines: [`deleted pod ${current.namespace}/${current.name}`] };
  },
  async verify(ctx, preview) {
    const node = requireNode(ctx);
    const planned = preview.data?.pod as { uid?: string } | undefined;
    const pod = await flannelPodOn(ctx.kube, node);
    const replaced = !!pod && pod.uid !== planned?.uid;
    const ok = replaced && pod!.phase === 'Running' && pod!.ready;
    return {
      ok,
      lines: [
        pod
          ? `Flannel pod on ${node}: ${pod.namespace}/${pod.name} ${pod.phase}${pod.ready ? ' and ready' : ', not ready yet'}`
          : `no Flannel pod on ${node} yet`,
      ],
    };
  },
};
