/**
 * delete-stale-cni0: deletes a cni0 bridge that holds an address from an old podCIDR (error D of
 * domain/flannel.md §1.3); the bridge plugin recreates it with the gateway of FLANNEL_SUBNET on the next pod.
 * High risk: every pod on the node loses its network until it is recreated, so it runs only on a cordoned
 * node (the plan cordons first) and is refused otherwise.
 */
import type { ExecResult, NodeScriptResult, RemediationAction } from '../types.js';
import { outputWords, podsOnNode, readNode, requireNode } from './common.js';
import { nodeScriptSteps } from './node-script.js';

export const DELETE_CNI0_SCRIPT = [
  'set -u',
  'if ! ip link show cni0 >/dev/null 2>&1; then echo "absent cni0"; exit 0; fi',
  'ip -o -4 addr show dev cni0',
  'ip link delete cni0 && echo "deleted cni0"',
].join('\n');

export const deleteStaleCni0: RemediationAction = {
  id: 'delete-stale-cni0',
  scope: 'node',
  async preview(ctx) {
    const node = requireNode(ctx);
    const stale = ctx.params.staleCni0 as { addresses?: string[]; expected?: string } | undefined;
    const pods = (await podsOnNode(ctx.kube, node)).filter(
      (p) => !p.spec?.hostNetwork && p.status?.phase === 'Running',
    );
    return {
      headline: `Delete the stale cni0 bridge on ${node}`,
      lines: [
        `cni0 on ${node} holds ${stale?.addresses?.join(', ') || 'an old address'}${stale?.expected ? `; the node's subnet needs ${stale.expected}` : ''}`,
        `${pods.length} running pod(s) on ${node} lose their network until they are recreated; runs only while ${node} is cordoned`,
      ],
      commands: [DELETE_CNI0_SCRIPT],
      via: 'node-pod',
    };
  },
  ...nodeScriptSteps('delete-stale-cni0', {
    async script(ctx, _preview, node) {
      const current = await readNode(ctx.kube, node);
      if (!current?.spec?.unschedulable) {
        return {
          outcome: 'failed',
          lines: [`refused: ${node} is not cordoned (kubectl cordon ${node} first)`],
        };
      }
      return DELETE_CNI0_SCRIPT;
    },
    interpret,
  }),
};

function interpret(run: NodeScriptResult, node: string): ExecResult {
  const words = outputWords(run.output);
  if (!run.ok) return { outcome: 'failed', lines: [`the action pod failed: ${run.error ?? 'no reason'}`] };
  if (words.some((w) => w.verb === 'absent'))
    return { outcome: 'noop', lines: [`${node} has no cni0 any more`] };
  const address = run.output
    .split('\n')
    .find((l) => /\binet\b/.test(l))
    ?.trim();
  return {
    outcome: words.some((w) => w.verb === 'deleted') ? 'done' : 'failed',
    lines: [`${node}: cni0 deleted${address ? ` (it had: ${address.replace(/\s+/g, ' ')})` : ''}`],
  };
}
