/**
 * Nodes a user named (`flannel-ops diagnose --node`, `/flannel diagnose CLUSTER NODE`) must exist: a probe
 * pod bound to a missing node is never run by any kubelet and would only time out, 90 s later.
 */
import type { CoreV1Api } from '@kubernetes/client-node';
import { readApiError } from '../kube/api-error.js';
import { UserError } from '../util/errors.js';

/** Node names shown in the message at most. */
const SHOWN = 10;

/** "no node X; nodes are a, b, c…" (the cluster's first nodes by name). */
export function unknownNodesMessage(
  cluster: string,
  missing: readonly string[],
  known: readonly string[],
): string {
  const names = [...known].sort();
  const shown = names.slice(0, SHOWN).join(', ');
  const list =
    names.length === 0
      ? 'the cluster has no nodes'
      : `nodes are ${shown}${names.length > SHOWN ? `… (${names.length} in all)` : ''}`;
  const what =
    missing.length === 1 ? `no node "${missing[0]}"` : `no nodes ${missing.map((n) => `"${n}"`).join(', ')}`;
  return `${what} in cluster "${cluster}"; ${list}`;
}

/**
 * Throws a UserError (exit 2) naming the missing nodes and some that exist. Only a definite 404 refuses: when
 * the API cannot answer right now (5xx, network), the diagnosis goes ahead and its checks retry and report.
 */
export async function assertNodesExist(
  core: CoreV1Api,
  cluster: string,
  nodes: readonly string[],
): Promise<void> {
  const missing: string[] = [];
  for (const name of nodes) {
    try {
      await core.readNode({ name });
    } catch (err) {
      if (readApiError(err).code === 404) missing.push(name);
    }
  }
  if (missing.length === 0) return;
  const known = await core.listNode({ limit: 500 }).then(
    (list) => list.items.map((n) => n.metadata?.name ?? ''),
    () => undefined,
  );
  const message = known
    ? unknownNodesMessage(cluster, missing, known)
    : `${missing.length === 1 ? `no node "${missing[0]}"` : `no nodes ${missing.map((n) => `"${n}"`).join(', ')}`} in cluster "${cluster}"`;
  throw new UserError(message, 2);
}
