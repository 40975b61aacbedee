/**
 * Which action can help which cause on which node (pure). A runbook step names the causes it is for; these
 * rules take away the nodes where, from the verdict's own evidence, the action cannot help: restarting the
 * Flannel pod does not install the upstream plugins, pull an image from an unreachable registry, load
 * br_netfilter or schedule a pod an untolerated taint keeps off the node, and restarting kubelet installs
 * no binary. A step left with no node is not offered (the report steps say
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

/** Why a Flannel pod fails where a restart cannot help: the image, the node itself, or no pod at all. */
const RESTART_CANNOT_FIX: ReadonlySet<string> = new Set(['image-pull', 'node-config', 'not-scheduled']);

/** Upstream plugins (bridge, host-local, ...) are missing on the node: nothing Flannel or kubelet does installs them. */
function upstreamPluginsMissing(causes: readonly CauseView[], node: string | undefined): boolean {
  return causes.some((c) => {
    if (c.id !== 'cni-plugin-missing') return false;
    const missing = onNode<string[]>(c.data, 'missingPlugins', node);
    return Array.isArray(missing) && missing.some((p) => p !== 'flannel');
  });
}

/**
 * Whether `action` can help `cause` on `node`. `others` are the other actionable causes of the verdict: a
 * restart of kubelet or of the Flannel pod cannot help any cause on a node that lacks the upstream CNI plugins
 * (the network stays broken there until they are installed).
 */
export function actionHelps(
  action: ActionId,
  cause: CauseView,
  node?: string,
  others: readonly CauseView[] = [],
): boolean {
  if (
    (action === 'restart-kubelet' || action === 'restart-flannel-pod') &&
    upstreamPluginsMissing([cause, ...others], node)
  )
    return false;
  switch (action) {
    case 'restart-flannel-pod':
      if (cause.id === 'cni-plugin-missing') return onlyFlannelBinaryMissing(cause, node);
      if (cause.id === 'flannel-pod-failing') {
        // An unpullable image, a node without br_netfilter or a pod that cannot be scheduled stay as they are.
        const kind = onNode<string>(cause.data, 'podFailure', node);
        return kind === undefined || !RESTART_CANNOT_FIX.has(kind);
      }
      return true;
    case 'report-flannel-pod-failure': {
      // Said only when a restart cannot fix it; otherwise the restart is offered.
      const kinds = cause.data?.podFailure;
      return (
        !!kinds &&
        typeof kinds === 'object' &&
        Object.values(kinds).some((k) => typeof k === 'string' && RESTART_CANNOT_FIX.has(k))
      );
    }
    case 'restart-kubelet':
      if (cause.id === 'cni-plugin-missing') return onlyFlannelBinaryMissing(cause, node);
      return true;
    default:
      return true;
  }
}
