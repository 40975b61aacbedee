import { resolve } from 'node:path';
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
    `runbooks directory (default: $FLANNEL_OPS_RUNBOOKS, else ${DEFAULT_RUNBOOKS_DIR})`,
  );
}

/** The clusters file to use, absolute: the flag, else $FLANNEL_OPS_CLUSTERS, else ./clusters.yaml. */
export function resolveClustersPath(
  opts: { clusters?: string },
  env: NodeJS.ProcessEnv = process.env,
): string {
  return resolve(firstSet(opts.clusters, env.FLANNEL_OPS_CLUSTERS) ?? DEFAULT_CLUSTERS_FILE);
}

/** The runbooks directory to use, absolute: the flag, else $FLANNEL_OPS_RUNBOOKS, else ./runbooks. */
export function resolveRunbooksDir(
  opts: { runbooks?: string },
  env: NodeJS.ProcessEnv = process.env,
): string {
  return resolve(firstSet(opts.runbooks, env.FLANNEL_OPS_RUNBOOKS) ?? DEFAULT_RUNBOOKS_DIR);
}

// Blank values (`FLANNEL_OPS_CLUSTERS=` in a .env file) count as unset, as in loadEnv.
function firstSet(...values: Array<string | undefined>): string | undefined {
  return values.find((value) => value !== undefined && value.trim() !== '');
}
