/**
 * remove-leftover-netns: deletes network namespaces in /var/run/netns that no sandbox references (the seed's
 * clean-up step; `ip netns delete` unmounts before removing, unlike the seed's `rm -f`). Each name is
 * re-checked on the node against every sandbox's network namespace (`crictl inspectp`) right before.
 */
import type { ExecResult, NodeScriptResult, RemediationAction } from '../types.js';
import { NETNS_NAME, outputWords, requireNode, stringList } from './common.js';
import { nodeScriptSteps } from './node-script.js';

export function removeNetnsScript(names: readonly string[]): string {
  for (const n of names) if (!NETNS_NAME.test(n)) throw new Error(`not a network namespace name: ${n}`);
  return [
    'set -u',
    `refs=$(for id in $(crictl pods -q --no-trunc 2>/dev/null); do crictl inspectp -o json "$id" 2>/dev/null; done | grep -o '/var/run/netns/[A-Za-z0-9._-]*\\|/run/netns/[A-Za-z0-9._-]*' | sed 's#.*/##')`,
    `for ns in ${names.join(' ')}; do`,
    '  if [ ! -e "/var/run/netns/$ns" ]; then echo "absent $ns"; continue; fi',
    '  if printf \'%s\\n\' "$refs" | grep -qx "$ns"; then echo "kept $ns in-use"; continue; fi',
    '  ip netns delete "$ns" && echo "removed $ns" || echo "failed $ns"',
    'done',
  ].join('\n');
}

function namesFrom(params: Record<string, unknown>): string[] {
  const leftover = params.leftoverNetns as { candidates?: unknown } | undefined;
  return stringList(params.netns ?? leftover?.candidates).filter((n) => NETNS_NAME.test(n));
}

export const removeLeftoverNetns: RemediationAction = {
  id: 'remove-leftover-netns',
  scope: 'node',
  async preview(ctx) {
    const node = requireNode(ctx);
    const names = namesFrom(ctx.params);
    return {
      headline: `Remove ${names.length} leftover network namespace${names.length === 1 ? '' : 's'} on ${node}`,
      lines: [
        `/var/run/netns on ${node}: ${names.join(', ') || '(none found)'}`,
        'each is re-checked against the sandboxes the runtime knows (crictl inspectp) and kept if one uses it',
      ],
      commands: [removeNetnsScript(names)],
      via: 'node-pod',
      ...(names.length === 0 && { blockers: [`no leftover network namespace was found on ${node}`] }),
      data: { netns: names },
    };
  },
  ...nodeScriptSteps('remove-leftover-netns', {
    async script(_ctx, preview) {
      const names = stringList(preview.data?.netns).filter((n) => NETNS_NAME.test(n));
      if (names.length === 0) return { outcome: 'noop', lines: ['nothing to remove'] };
      return removeNetnsScript(names);
    },
    interpret,
  }),
};

function interpret(run: NodeScriptResult): ExecResult {
  const words = outputWords(run.output);
  const of = (verb: string) => words.filter((w) => w.verb === verb).map((w) => w.rest[0]);
  const lines = [
    ...(of('kept').length ? [`kept (in use): ${of('kept').join(', ')}`] : []),
    ...(of('failed').length ? [`failed: ${of('failed').join(', ')}`] : []),
    `removed ${of('removed').length}: ${of('removed').join(', ') || '(none)'}`,
    ...(!run.ok ? [`the action pod failed: ${run.error ?? 'no reason'}`] : []),
  ];
  if (!run.ok || of('failed').length) return { outcome: 'failed', lines };
  return { outcome: of('removed').length ? 'done' : 'noop', lines };
}
