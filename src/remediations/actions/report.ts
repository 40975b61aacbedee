/**
 * What the report-only actions share: they change nothing (SPEC: podCIDR/Network mismatches, missing upstream
 * plugins, CNI config conflicts, small pod ranges and version mismatches are reported with the fix to make),
 * so preview() is the whole action: the concrete fix as commands and config lines a person can follow.
 */
import type { Preview, RemediationAction } from '../types.js';

export function reportAction(
  id: RemediationAction['id'],
  describe: (params: Record<string, unknown>) => Preview,
): RemediationAction {
  return {
    id,
    scope: 'cluster',
    async preview(ctx) {
      return describe(ctx.params);
    },
    async execute() {
      return { outcome: 'noop', lines: ['report only: flannel-ops changes nothing here; the fix is above'] };
    },
    async verify() {
      return { ok: true, lines: [] };
    },
  };
}

/** Per-node records of a cause's data ({ node: value }), sorted by node. */
export function perNode<T>(value: unknown): Array<[string, T]> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [];
  return Object.entries(value as Record<string, T>).sort(([a], [b]) => a.localeCompare(b));
}
