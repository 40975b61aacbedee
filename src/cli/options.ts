import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { shippedRunbooksDir } from '../runbooks/shipped.js';
import type { Command } from 'commander';

export const DEFAULT_CLUSTERS_FILE = './clusters.yaml';
export const DEFAULT_RUNBOOKS_DIR = './runbooks';

/** Adds `--clusters FILE`; read it back with resolveClustersPath(opts). */
export function addClustersOption(cmd: Command): Command {
  return cmd.option(
    '--clusters <file>',
    `clusters file (default: $FLANNEL_OPS_CLUSTERS, else ${DEFAULT_CLUSTERS_FILE})`,
  );
}

/** Adds `--runbooks DIR`; read it back with resolveRunbooksDir(opts). */
export function addRunbooksOption(cmd: Command): Command {
  return cmd.option(
    '--runbooks <dir>',
    `runbooks directory (default: $FLANNEL_OPS_RUNBOOKS, else ${DEFAULT_RUNBOOKS_DIR} if present, else the shipped runbooks)`,
  );
}

/** The clusters file to use, absolute: the flag, else $FLANNEL_OPS_CLUSTERS, else ./clusters.yaml. */
export function resolveClustersPath(
  opts: { clusters?: string },
  env: NodeJS.ProcessEnv = process.env,
): string {
  return resolve(firstSet(opts.clusters, env.FLANNEL_OPS_CLUSTERS) ?? DEFAULT_CLUSTERS_FILE);
}

/**
 * The runbooks directory to use, absolute: the flag, else $FLANNEL_OPS_RUNBOOKS, else ./runbooks when it
 * exists, else the runbooks shipped with flannel-ops (so the CLI works from any directory).
 */
export function resolveRunbooksDir(
  opts: { runbooks?: string },
  env: NodeJS.ProcessEnv = process.env,
): string {
  const chosen = firstSet(opts.runbooks, env.FLANNEL_OPS_RUNBOOKS);
  if (chosen) return resolve(chosen);
  const local = resolve(DEFAULT_RUNBOOKS_DIR);
  return existsSync(local) ? local : shippedRunbooksDir();
}

// Blank values (`FLANNEL_OPS_CLUSTERS=` in a .env file) count as unset, as in loadEnv.
function firstSet(...values: Array<string | undefined>): string | undefined {
  return values.find((value) => value !== undefined && value.trim() !== '');
}
