/**
 * Which action can help which cause on which node (pure). A runbook step names the causes it is for; these
 * rules take away the nodes where, from the verdict's own evidence, the action cannot help: restarting the
 * Flannel pod does not install the upstream plugins or pull an image from an unreachable registry, and
 * restarting kubelet installs no binary. A step left with no node is not offered (the report steps say
 * what to do instead).
 */
import type { CauseId } from '../checks/causes.js';
import type { ActionId } from './catalog.js';

export interface CauseView {
  id: CauseId;
  data?: Record<string, unknown>;
}

function onNode<T>(
  data: Record<string, unknown> | undefined,
  key: string,
  node: string | undefined,
): T | undefined {
  const value = data?.[key];
  if (!node || !value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  return (value as Record<string, T>)[node];
}

/** Only the flannel binary is missing on the node (what a Flannel pod's init container installs). */
function onlyFlannelBinaryMissing(cause: CauseView, node: string | undefined): boolean {
  const missing = onNode<string[]>(cause.data, 'missingPlugins', node);
  return Array.isArray(missing) && missing.length > 0 && missing.every((p) => p === 'flannel');
}

export function actionHelps(action: ActionId, cause: CauseView, node?: string): boolean {
  switch (action) {
    case 'restart-flannel-pod':
      if (cause.id === 'cni-plugin-missing') return onlyFlannelBinaryMissing(cause, node);
      if (cause.id === 'flannel-pod-failing') {
        // An image that cannot be pulled stays unpullable after a restart.
        return onNode<string>(cause.data, 'podFailure', node) !== 'image-pull';
      }
      return true;
    case 'restart-kubelet':
      if (cause.id === 'cni-plugin-missing') return onlyFlannelBinaryMissing(cause, node);
      return true;
    default:
      return true;
  }
}
