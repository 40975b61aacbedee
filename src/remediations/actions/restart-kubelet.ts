/**
 * restart-kubelet: restarts kubelet on the node (the seed's step `systemctl restart kubelet`). dockershim
 * reloads the CNI configuration only then, and a restart re-drives sandbox set-up and teardown. Conditional:
 * it runs only on nodes whose Ready condition still says the runtime network is not ready once the earlier
 * steps ran (with containerd/CRI-O the runtime picks up a new config by itself).
 */
import type { ExecResult, NodeScriptResult, RemediationAction } from '../types.js';
import { networkNotReadyReason, outputWords, readNode, requireNode } from './common.js';
import { nodeScriptSteps } from './node-script.js';

export const RESTART_KUBELET_SCRIPT = [
  'set -u',
  'systemctl restart kubelet && echo "restarted kubelet"',
  'systemctl is-active kubelet',
].join('\n');

export const restartKubelet: RemediationAction = {
  id: 'restart-kubelet',
  scope: 'node',
  condition: {
    describe: 'only on nodes that still report "network plugin not ready" after the earlier steps',
    async check(ctx) {
      const node = requireNode(ctx);
      const reason = networkNotReadyReason(await readNode(ctx.kube, node));
      return reason
        ? { holds: true, why: `${node} still reports: ${reason}` }
        : { holds: false, why: `${node} no longer reports a network-not-ready runtime` };
    },
  },
  async preview(ctx) {
    const node = requireNode(ctx);
    const reason = networkNotReadyReason(await readNode(ctx.kube, node));
    // The runtime's own words, without the condition's long preamble.
    const short = reason ? (/message:(.*)$/.exec(reason)?.[1] ?? reason).trim() : undefined;
    return {
      headline: `Restart kubelet on ${node}`,
      lines: [short ? `${node} now reports: ${short}` : `${node} now reports a ready runtime network`],
      commands: [RESTART_KUBELET_SCRIPT],
      via: 'node-pod',
    };
  },
  ...nodeScriptSteps('restart-kubelet', {
    script: async () => RESTART_KUBELET_SCRIPT,
    interpret,
  }),
};

function interpret(run: NodeScriptResult, node: string): ExecResult {
  const restarted = outputWords(run.output).some((w) => w.verb === 'restarted');
  if (!run.ok || !restarted) {
    return {
      outcome: 'failed',
      lines: [`${node}: kubelet restart failed: ${run.error ?? run.output.trim()}`],
    };
  }
  return { outcome: 'done', lines: [`${node}: kubelet restarted (${run.output.trim().split('\n').at(-1)})`] };
}
