/**
 * uncordon-node: makes the node schedulable again once the node work is done — only when flannel-ops
 * cordoned it (the cordon step's annotation); a cordon a person made is left alone and said so.
 */
import type { RemediationAction } from '../types.js';
import { mergePatch, readNode, requireNode } from './common.js';
import { CORDONED_BY_ANNOTATION } from './cordon-node.js';

export const uncordonNode: RemediationAction = {
  id: 'uncordon-node',
  scope: 'node',
  async preview(ctx) {
    const node = requireNode(ctx);
    return {
      headline: `Uncordon ${node}`,
      lines: [
        `node ${node}: spec.unschedulable true → false, only if flannel-ops cordoned it (annotation ${CORDONED_BY_ANNOTATION}); a cordon made by a person stays`,
      ],
      commands: [`kubectl uncordon ${node}`],
      via: 'api',
    };
  },
  async execute(ctx) {
    const node = requireNode(ctx);
    const current = await readNode(ctx.kube, node);
    if (!current) return { outcome: 'failed', lines: [`node ${node} does not exist`] };
    if (!current.spec?.unschedulable)
      return { outcome: 'noop', lines: [`node ${node} is already schedulable`] };
    if (!current.metadata?.annotations?.[CORDONED_BY_ANNOTATION]) {
      return {
        outcome: 'noop',
        lines: [`node ${node} was cordoned by someone else, not flannel-ops: left cordoned`],
      };
    }
    await ctx.kube.core.patchNode(
      {
        name: node,
        body: {
          metadata: { annotations: { [CORDONED_BY_ANNOTATION]: null } },
          spec: { unschedulable: null },
        },
      },
      mergePatch(),
    );
    return { outcome: 'done', lines: [`node ${node} uncordoned`] };
  },
  async verify(ctx) {
    const node = requireNode(ctx);
    const current = await readNode(ctx.kube, node);
    const ours = !!current?.metadata?.annotations?.[CORDONED_BY_ANNOTATION];
    const ok = !!current && (!current.spec?.unschedulable || !ours);
    return { ok, lines: [`node ${node}: ${current?.spec?.unschedulable ? 'cordoned' : 'schedulable'}`] };
  },
};
