import { findCluster, loadClustersFile, type ClusterConfig } from '../../config/clusters.js';
import { configureLoggingFromEnv, loadEnv } from '../../config/env.js';
import { ConfigError, isConfigError } from '../../config/issues.js';
import { assertRedisReachable } from '../../coordination/queue-connection.js';
import { createRedis } from '../../coordination/redis-connection.js';
import { kubeClientsFactory } from '../../kube/clients.js';
import { describeCheckFailure } from '../../diagnosis/run-check.js';
import {
  BackupStore,
  collectFlannelObjects,
  describeObject,
  previewRestore,
  restoreBackup,
  type Backup,
} from '../../remediations/backups.js';
import type { KubeClients } from '../../kube/clients.js';
import { UserError } from '../../util/errors.js';
import { terminalJson, terminalLine } from '../../util/sanitize.js';
import { resolveClustersPath } from '../options.js';

export interface BackupFlags {
  json?: boolean;
  yes?: boolean;
  reason?: string;
  clusters?: string;
}

interface Context {
  cluster: ClusterConfig;
  store: BackupStore;
  kube(): KubeClients;
  close(): void;
}

/** Configuration problems: exit code 2, like every other user error of these commands. */
function asUsage<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (isConfigError(err) && err.exitCode !== 2) throw new ConfigError(err.problems, 2);
    throw err;
  }
}

async function open(clusterName: string, flags: BackupFlags): Promise<Context> {
  const env = asUsage(() => loadEnv());
  configureLoggingFromEnv({ ...env, logLevel: env.logLevel === 'info' ? 'warn' : env.logLevel });
  const config = asUsage(() => loadClustersFile(resolveClustersPath(flags)));
  const cluster = findCluster(config, clusterName);
  await assertRedisReachable(env.redisUrl);
  const redis = createRedis(env.redisUrl);
  const clients = kubeClientsFactory(config.clusters);
  return {
    cluster,
    store: new BackupStore(redis, env.keyPrefix, cluster.backups.keep),
    kube: () => clients(cluster.name),
    close: () => redis.disconnect(),
  };
}

const out = (lines: string[]) => process.stdout.write(`${lines.map(terminalLine).join('\n')}\n`);

/** An API call that failed: the cluster could not be read or written. */
function apiFailure(cluster: string, what: string, err: unknown): UserError {
  if (err instanceof UserError) return err;
  return new UserError(`${what} on cluster "${cluster}" failed: ${describeCheckFailure(err).reason}`, 2);
}

/** `backup list CLUSTER`: newest first. */
export async function runBackupList(clusterName: string, flags: BackupFlags): Promise<number> {
  const ctx = await open(clusterName, flags);
  try {
    const backups = await ctx.store.list(ctx.cluster.name);
    if (flags.json) {
      process.stdout.write(
        `${terminalJson(JSON.stringify({ cluster: ctx.cluster.name, backups }, null, 2))}\n`,
      );
      return 0;
    }
    if (backups.length === 0) {
      out([
        `no backups of cluster ${ctx.cluster.name} yet (schedule: ${ctx.cluster.backups.schedule}; \`flannel-ops backup create ${ctx.cluster.name}\` takes one now)`,
      ]);
      return 0;
    }
    out([
      `backups of cluster ${ctx.cluster.name}, newest first (keeping ${ctx.cluster.backups.keep}):`,
      ...backups.map((b) => `  ${b.id}  ${b.at}  ${b.reason}  [${b.objects.map(describeObject).join(', ')}]`),
    ]);
    return 0;
  } finally {
    ctx.close();
  }
}

/** `backup create CLUSTER`: a backup now (always stored, even when unchanged: an operator asked for it). */
export async function runBackupCreate(clusterName: string, flags: BackupFlags): Promise<number> {
  const ctx = await open(clusterName, flags);
  try {
    const kube = ctx.kube();
    const objects = await collectFlannelObjects(kube).catch((err) => {
      throw apiFailure(ctx.cluster.name, 'reading the Flannel objects', err);
    });
    if (objects.length === 0) {
      throw new UserError(
        `cluster "${ctx.cluster.name}" has no Flannel ConfigMap or DaemonSet to back up`,
        2,
      );
    }
    const id = await ctx.store.save(ctx.cluster.name, flags.reason ?? 'taken by hand', objects);
    out([`backup ${id} of cluster ${ctx.cluster.name}: ${objects.map(describeObject).join(', ')}`]);
    return 0;
  } finally {
    ctx.close();
  }
}

/** `backup restore CLUSTER ID [--yes]`: a dry-run diff, or (with --yes) a backup of now and the apply. */
export async function runBackupRestore(clusterName: string, id: string, flags: BackupFlags): Promise<number> {
  const ctx = await open(clusterName, flags);
  try {
    const backup: Backup | undefined = await ctx.store.get(ctx.cluster.name, id);
    if (!backup) {
      const known = (await ctx.store.list(ctx.cluster.name, 5)).map((b) => b.id);
      throw new UserError(
        `no backup "${id}" of cluster "${ctx.cluster.name}"${known.length ? ` (newest: ${known.join(', ')})` : ' (it has none)'}; see \`flannel-ops backup list ${ctx.cluster.name}\``,
        2,
      );
    }
    const kube = ctx.kube();
    const preview = await previewRestore(kube, backup).catch((err) => {
      throw apiFailure(ctx.cluster.name, 'the dry-run apply', err);
    });
    const changes = preview.map(
      (l) => `  ${l.change} ${l.object}${l.paths.length ? `: ${l.paths.join(', ')}` : ''}`,
    );
    if (!flags.yes) {
      if (flags.json)
        process.stdout.write(
          `${terminalJson(JSON.stringify({ cluster: ctx.cluster.name, backup: backup.id, applied: false, changes: preview }, null, 2))}\n`,
        );
      else
        out([
          `restoring backup ${backup.id} (${backup.at}, ${backup.reason}) on cluster ${ctx.cluster.name} would:`,
          ...changes,
          'nothing changed (dry run); add --yes to apply it (the current objects are backed up first)',
        ]);
      return 0;
    }
    let result: Awaited<ReturnType<typeof restoreBackup>>;
    try {
      result = await restoreBackup(kube, ctx.store, backup);
    } catch (err) {
      process.stderr.write(
        `flannel-ops: restoring backup ${backup.id} failed: ${terminalLine(describeCheckFailure(err).reason)}\n`,
      );
      return 1;
    }
    if (flags.json)
      process.stdout.write(
        `${terminalJson(JSON.stringify({ cluster: ctx.cluster.name, backup: backup.id, applied: true, changes: preview, before: result.before ?? null, objects: result.applied }, null, 2))}\n`,
      );
    else
      out([
        `restored backup ${backup.id} on cluster ${ctx.cluster.name}:`,
        ...changes,
        result.before
          ? `the objects as they were are in backup ${result.before} (flannel-ops backup restore ${ctx.cluster.name} ${result.before} undoes this)`
          : 'no Flannel objects existed before',
      ]);
    return 0;
  } finally {
    ctx.close();
  }
}
