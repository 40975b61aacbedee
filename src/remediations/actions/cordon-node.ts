/**
 * cordon-node: marks the node unschedulable before disruptive node work (kubectl cordon), and records that
 * flannel-ops did it (annotation), so the matching uncordon step never undoes a cordon a person made.
 */
import type { RemediationAction } from '../types.js';
import { mergePatch, readNode, requireNode } from './common.js';

export const CORDONED_BY_ANNOTATION = 'flannel-ops/cordoned-by';

export const cordonNode: RemediationAction = {
  id: 'cordon-node',
  scope: 'node',
  async preview(ctx) {
    const node = requireNode(ctx);
    const current = await readNode(ctx.kube, node);
    if (!current) return { headline: `Cordon ${node}`, lines: [], blockers: [`node ${node} does not exist`] };
    const already = current.spec?.unschedulable === true;
    return {
      headline: `Cordon ${node}`,
      lines: [
        already
          ? `node ${node} is already cordoned (spec.unschedulable: true): nothing to change`
          : `node ${node}: spec.unschedulable false → true; running pods stay, new pods go elsewhere`,
      ],
      commands: [`kubectl cordon ${node}`],
      via: 'api',
    };
  },
  async execute(ctx) {
    const node = requireNode(ctx);
    const current = await readNode(ctx.kube, node);
    if (!current) return { outcome: 'failed', lines: [`node ${node} does not exist`] };
    if (current.spec?.unschedulable) return { outcome: 'noop', lines: [`node ${node} was already cordoned`] };
    await ctx.kube.core.patchNode(
      {
        name: node,
        body: {
          metadata: { annotations: { [CORDONED_BY_ANNOTATION]: ctx.runId } },
          spec: { unschedulable: true },
        },
      },
      mergePatch(),
    );
    return { outcome: 'done', lines: [`node ${node} cordoned`] };
  },
  async verify(ctx) {
    const node = requireNode(ctx);
    const current = await readNode(ctx.kube, node);
    const ok = current?.spec?.unschedulable === true;
    return { ok, lines: [`node ${node}: ${ok ? 'cordoned' : 'still schedulable'}`] };
  },
};
