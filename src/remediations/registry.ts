/**
 * Every built-in action, one module each (k8sgpt's analyzer registry shape): a runbook names an action id,
 * the executor looks its implementation up here. The catalog (catalog.ts) is the data runbooks are validated
 * against; this file is where the code behind each id is found.
 */
import type { ActionId } from './catalog.js';
import type { RemediationAction } from './types.js';
import { cordonNode } from './actions/cordon-node.js';
import { deleteStaleCni0 } from './actions/delete-stale-cni0.js';
import { deleteStuckPods } from './actions/delete-stuck-pods.js';
import { reapplyFlannelManifest } from './actions/reapply-flannel-manifest.js';
import { releaseLeakedIps } from './actions/release-leaked-ips.js';
import { removeLeftoverNetns } from './actions/remove-leftover-netns.js';
import { reportCniConfigConflict } from './actions/report-cni-config-conflict.js';
import { reportMissingCniPlugins } from './actions/report-missing-cni-plugins.js';
import { reportPodRangeTooSmall } from './actions/report-pod-range-too-small.js';
import { reportPodcidrNetworkMismatch } from './actions/report-podcidr-network-mismatch.js';
import { reportVersionMismatch } from './actions/report-version-mismatch.js';
import { restartFlannelPod } from './actions/restart-flannel-pod.js';
import { restartKubelet } from './actions/restart-kubelet.js';
import { uncordonNode } from './actions/uncordon-node.js';

const ACTIONS: Record<ActionId, RemediationAction> = {
  'reapply-flannel-manifest': reapplyFlannelManifest,
  'restart-flannel-pod': restartFlannelPod,
  'delete-stuck-pods': deleteStuckPods,
  'release-leaked-ips': releaseLeakedIps,
  'remove-leftover-netns': removeLeftoverNetns,
  'delete-stale-cni0': deleteStaleCni0,
  'restart-kubelet': restartKubelet,
  'cordon-node': cordonNode,
  'uncordon-node': uncordonNode,
  'report-podcidr-network-mismatch': reportPodcidrNetworkMismatch,
  'report-missing-cni-plugins': reportMissingCniPlugins,
  'report-cni-config-conflict': reportCniConfigConflict,
  'report-pod-range-too-small': reportPodRangeTooSmall,
  'report-version-mismatch': reportVersionMismatch,
};

export function getAction(id: ActionId): RemediationAction {
  const action = ACTIONS[id];
  if (!action) throw new Error(`no implementation for action "${id}"`);
  return action;
}
