import type { Command } from 'commander';
import type { BackupFlags } from '../actions/backup.js';
import { addClustersOption } from '../options.js';
import type { RegisterCommand } from './index.js';

export const registerBackup: RegisterCommand = (program: Command, ctx) => {
  const backup = program
    .command('backup')
    .description(
      "backups of Flannel's configuration (the kube-flannel-cfg ConfigMap and the Flannel DaemonSet), taken on each cluster's backups.schedule and before every change the bot makes",
    );
  const list = backup
    .command('list')
    .description('list the backups of CLUSTER, newest first (exit 0; 2 on a usage or configuration error)')
    .argument('<cluster>', 'cluster name from the clusters file')
    .option('--json', 'print the backups as JSON (with the saved objects)');
  addClustersOption(list);
  list.action(async (cluster: string, flags: BackupFlags) => {
    ctx.setExitCode(await (await import('../actions/backup.js')).runBackupList(cluster, flags));
  });

  const create = backup
    .command('create')
    .description("back up CLUSTER's Flannel configuration now (exit 0; 2 when it could not be read)")
    .argument('<cluster>', 'cluster name from the clusters file')
    .option('--reason <text>', 'why, shown in the list', 'taken by hand');
  addClustersOption(create);
  create.action(async (cluster: string, flags: BackupFlags) => {
    ctx.setExitCode(await (await import('../actions/backup.js')).runBackupCreate(cluster, flags));
  });

  const restore = backup
    .command('restore')
    .description(
      'restore backup ID of CLUSTER with server-side apply. Without --yes it only shows what would change (a server-side dry run); with --yes it backs up the current objects first, then applies (exit 0 done or shown; 1 the apply failed; 2 usage, unknown backup, or unreachable cluster)',
    )
    .argument('<cluster>', 'cluster name from the clusters file')
    .argument('<id>', 'backup id from `flannel-ops backup list`')
    .option('--yes', 'apply it (default: show what would change)')
    .option('--json', 'print the result as JSON');
  addClustersOption(restore);
  restore.action(async (cluster: string, id: string, flags: BackupFlags) => {
    ctx.setExitCode(await (await import('../actions/backup.js')).runBackupRestore(cluster, id, flags));
  });
};
