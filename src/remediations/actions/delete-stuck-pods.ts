/**
 * delete-stuck-pods: force-deletes pods stuck in ContainerCreating on the step's nodes so their controllers
 * recreate them at once instead of waiting out the sandbox back-off (the seed's repair step
 * `kubectl delete pod <pod> --grace-period=0 --force`). Only pods a controller will recreate, at most the
 * cluster's limit; bare pods are listed for a person and never deleted. The exact pods are fixed by the
 * preview (the approval is for those), and each is re-checked at execution: one that started meanwhile,
 * or was replaced, is left alone.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { RemediationAction } from '../types.js';
import { controllerOf, isNotFound, isStuckCreating, podRef, podsOnNode, stringList } from './common.js';

interface PlannedPod {
  namespace: string;
  name: string;
  uid: string;
  node: string;
  owner: string;
}

function stepNodes(params: Record<string, unknown>): string[] {
  return stringList(params.nodes);
}

export const deleteStuckPods: RemediationAction = {
  id: 'delete-stuck-pods',
  scope: 'cluster',
  condition: { describe: 'only the pods above that are still stuck in ContainerCreating when the step runs' },
  async preview(ctx) {
    const nodes = stepNodes(ctx.params);
    const limit = Math.min(ctx.limits.maxPodDeletes, Number(ctx.params.maxPods ?? Infinity));
    const stuck: V1Pod[] = [];
    for (const node of nodes) stuck.push(...(await podsOnNode(ctx.kube, node)).filter(isStuckCreating));
    const owned = stuck.filter((p) => controllerOf(p));
    const bare = stuck.filter((p) => !controllerOf(p));
    const chosen = owned.slice(0, Math.max(0, limit));
    const over = owned.slice(chosen.length);
    const planned: PlannedPod[] = chosen.map((p) => {
      const owner = controllerOf(p)!;
      return {
        namespace: p.metadata!.namespace ?? 'default',
        name: p.metadata!.name!,
        uid: p.metadata!.uid ?? '',
        node: p.spec!.nodeName!,
        owner: `${owner.kind}/${owner.name}`,
      };
    });
    // One line per node, so a long list stays readable and the bare pods are never cut off.
    const lines: string[] = [];
    for (const node of nodes) {
      const here = planned.filter((p) => p.node === node);
      if (here.length)
        lines.push(`${node}: ${here.map((p) => `${p.namespace}/${p.name} (${p.owner})`).join(', ')}`);
    }
    if (bare.length) {
      lines.unshift(
        `not deleted, no controller would recreate them (bare pods): ${bare.map((p) => `${podRef(p)} on ${p.spec?.nodeName}`).join(', ')}`,
      );
    }
    if (over.length)
      lines.push(`${over.length} more stuck pod(s) left alone: the limit is ${limit} per step`);
    const headline =
      planned.length === 0
        ? `No controller-owned pod is stuck on ${nodes.join(', ') || 'the affected nodes'} right now`
        : `Force-delete ${planned.length} stuck pod${planned.length === 1 ? '' : 's'} on ${[...new Set(planned.map((p) => p.node))].join(', ')}`;
    return {
      headline,
      lines: lines.length ? lines : ['nothing to delete: no pod is stuck in ContainerCreating there'],
      commands: planned.map((p) => `kubectl -n ${p.namespace} delete pod ${p.name} --grace-period=0 --force`),
      via: 'api',
      data: { pods: planned, bare: bare.map(podRef) },
    };
  },
  async execute(ctx, preview) {
    const planned = (preview.data?.pods ?? []) as PlannedPod[];
    const lines: string[] = [];
    let deleted = 0;
    for (const p of planned) {
      let pod: V1Pod | undefined;
      try {
        pod = await ctx.kube.core.readNamespacedPod({ namespace: p.namespace, name: p.name });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      if (!pod || pod.metadata?.uid !== p.uid) {
        lines.push(`${p.namespace}/${p.name}: already gone or replaced`);
        continue;
      }
      if (!isStuckCreating(pod) || !controllerOf(pod)) {
        lines.push(`${p.namespace}/${p.name}: no longer stuck (${pod.status?.phase}), left alone`);
        continue;
      }
      try {
        await ctx.kube.core.deleteNamespacedPod({
          namespace: p.namespace,
          name: p.name,
          gracePeriodSeconds: 0,
          body: { preconditions: { uid: p.uid } },
        });
        deleted++;
        lines.push(`${p.namespace}/${p.name}: deleted`);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        lines.push(`${p.namespace}/${p.name}: already gone`);
      }
    }
    return { outcome: deleted > 0 ? 'done' : 'noop', lines: lines.length ? lines : ['nothing to delete'] };
  },
  async verify(ctx, preview) {
    const planned = (preview.data?.pods ?? []) as PlannedPod[];
    const left: string[] = [];
    for (const p of planned) {
      try {
        const pod = await ctx.kube.core.readNamespacedPod({ namespace: p.namespace, name: p.name });
        if (pod.metadata?.uid === p.uid && isStuckCreating(pod)) left.push(`${p.namespace}/${p.name}`);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return {
      ok: left.length === 0,
      lines: left.length
        ? [`still present: ${left.join(', ')}`]
        : ['every planned pod was deleted or started'],
    };
  },
};
