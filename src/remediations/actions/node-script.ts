/**
 * What every action whose work is a host script on the node shares: run the script in a privileged pod on
 * `ctx.node` and read its output (execute); after a crash, read the output of the pod the dead process left
 * instead of running the script again (resume); and count the run as verified only when its output says it
 * did its work (the diagnosis that follows checks the node itself).
 */
import type { ActionId } from '../catalog.js';
import type { ActionContext, ExecResult, NodeScriptResult, Preview, RemediationAction } from '../types.js';
import { requireNode } from './common.js';

export function nodeScriptSteps(
  id: ActionId,
  opts: {
    /** The host script of this run — or an outcome when there is nothing to run or a precondition fails. */
    script(ctx: ActionContext, preview: Preview, node: string): Promise<string | ExecResult>;
    /** What the script's output says. */
    interpret(run: NodeScriptResult, node: string): ExecResult;
  },
): Pick<RemediationAction, 'execute' | 'resume' | 'verify'> {
  return {
    async execute(ctx, preview) {
      const node = requireNode(ctx);
      const script = await opts.script(ctx, preview, node);
      if (typeof script !== 'string') return script;
      const run = await ctx.nodeScripts.run({ node, action: id, runId: ctx.runId, hostScript: script });
      return opts.interpret(run, node);
    },
    async resume(ctx) {
      const node = requireNode(ctx);
      const run = await ctx.nodeScripts.attach({ node, action: id, runId: ctx.runId });
      return run && opts.interpret(run, node);
    },
    async verify(_ctx, _preview, result) {
      // Without a result (a run interrupted by a crash whose pod is gone) nothing says it happened.
      return result
        ? { ok: result.outcome !== 'failed', lines: [] }
        : { ok: false, lines: ['no trace of the interrupted run is left on the node (its pod is gone)'] };
    },
  };
}
