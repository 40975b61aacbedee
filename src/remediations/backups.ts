/**
 * Copies of Flannel's configuration (the kube-flannel-cfg ConfigMap and the Flannel DaemonSet) taken before
 * every change a step makes to them and on each cluster's `backups.schedule` — the seed's prevention advice
 * ("back up the ConfigMaps regularly") — and restorable (`flannel-ops backup restore`, server-side apply, a
 * dry-run diff first). Kept in Redis (run it with persistence) under `{p}:backups:{cluster}`, newest first, the
 * last `keep` of each cluster.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { configMapCandidates, selectFlannelDaemonSets } from '../checks/api/flannel-objects.js';
import { summarizeDaemonSet } from '../checks/api/summaries.js';
import type { KubeClients } from '../kube/clients.js';
import { isNotFound, readObject, serverSideApply } from './actions/common.js';
import { changedPaths } from './actions/reapply-flannel-manifest.js';
import type { BackupSink } from './types.js';

export interface Backup {
  id: string;
  cluster: string;
  at: string;
  reason: string;
  objects: Array<Record<string, unknown>>;
}

const backupSchema = z.object({
  id: z.string(),
  cluster: z.string(),
  at: z.string(),
  reason: z.string(),
  objects: z.array(z.record(z.string(), z.unknown())),
});

/** Server-set fields that must not travel back in a restore. */
const SERVER_FIELDS = [
  'resourceVersion',
  'uid',
  'creationTimestamp',
  'generation',
  'managedFields',
  'selfLink',
];

/** An object as it can be applied again: no status, no server-set metadata. */
export function restorable(object: Record<string, unknown>): Record<string, unknown> {
  const {
    status: _status,
    metadata,
    ...rest
  } = object as { status?: unknown; metadata?: Record<string, unknown> };
  const meta = { ...(metadata ?? {}) };
  for (const field of SERVER_FIELDS) delete meta[field];
  const annotations = { ...((meta.annotations as Record<string, string> | undefined) ?? {}) };
  delete annotations['kubectl.kubernetes.io/last-applied-configuration'];
  delete annotations['deprecated.daemonset.template.generation'];
  meta.annotations = annotations;
  if (Object.keys(annotations).length === 0) delete meta.annotations;
  return { ...rest, metadata: meta };
}

export const DEFAULT_BACKUPS_KEPT = 20;

export class BackupStore implements BackupSink {
  /** `keep`: backups kept per cluster, one number or per cluster (clusters.yaml `backups.keep`). */
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly keep: number | ((cluster: string) => number) = DEFAULT_BACKUPS_KEPT,
  ) {}

  private key(cluster: string): string {
    return `${this.prefix}:backups:${cluster}`;
  }

  private keepFor(cluster: string): number {
    return Math.max(1, typeof this.keep === 'number' ? this.keep : this.keep(cluster));
  }

  /**
   * A scheduled backup: saved only when the objects differ from the newest backup, so `keep` versions are
   * versions, not the same copy each night. Resolves to the backup holding these objects.
   */
  async saveIfChanged(
    cluster: string,
    reason: string,
    objects: readonly object[],
  ): Promise<{ id: string; saved: boolean }> {
    const [newest] = await this.list(cluster, 1);
    const fresh = objects.map((o) => restorable(o as Record<string, unknown>));
    if (newest && sameObjects(newest.objects, fresh)) return { id: newest.id, saved: false };
    return { id: await this.save(cluster, reason, objects), saved: true };
  }

  async save(cluster: string, reason: string, objects: readonly object[]): Promise<string> {
    const id = `b-${new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
    const backup: Backup = {
      id,
      cluster,
      at: new Date().toISOString(),
      reason,
      objects: objects.map((o) => restorable(o as Record<string, unknown>)),
    };
    await this.redis
      .multi()
      .lpush(this.key(cluster), JSON.stringify(backup))
      .ltrim(this.key(cluster), 0, this.keepFor(cluster) - 1)
      .exec();
    return id;
  }

  /** Newest first (at most `limit`). */
  async list(cluster: string, limit?: number): Promise<Backup[]> {
    const raw = await this.redis.lrange(this.key(cluster), 0, limit === undefined ? -1 : limit - 1);
    return raw.flatMap((r) => {
      const parsed = backupSchema.safeParse(JSON.parse(r));
      return parsed.success ? [parsed.data] : [];
    });
  }

  async get(cluster: string, id: string): Promise<Backup | undefined> {
    return (await this.list(cluster)).find((b) => b.id === id);
  }
}

function sameObjects(a: readonly Record<string, unknown>[], b: readonly Record<string, unknown>[]): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/** JSON with sorted keys (and Dates as strings), so equal objects compare equal. */
function canonical(value: unknown): unknown {
  const plain = JSON.parse(JSON.stringify(value ?? null)) as unknown;
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
          )
        : v;
  return sort(plain);
}

/**
 * Flannel's configuration as it is now: the ConfigMap the Flannel DaemonSet mounts (else kube-flannel-cfg in
 * kube-flannel or kube-system) and every Flannel DaemonSet. Reads only what the bot's read-only role allows
 * (get ConfigMap, list DaemonSets).
 */
export async function collectFlannelObjects(kube: KubeClients): Promise<Array<Record<string, unknown>>> {
  const list = await kube.apps.listDaemonSetForAllNamespaces();
  const flannel = selectFlannelDaemonSets(list.items.map(summarizeDaemonSet));
  const raw = list.items.filter((ds) =>
    flannel.some((f) => f.namespace === ds.metadata?.namespace && f.name === ds.metadata?.name),
  );
  const objects: Array<Record<string, unknown>> = [];
  for (const ref of configMapCandidates(flannel[0])) {
    try {
      const cm = await kube.core.readNamespacedConfigMap(ref);
      objects.push({ ...(cm as object), apiVersion: 'v1', kind: 'ConfigMap' });
      break;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  for (const ds of raw) objects.push({ ...(ds as object), apiVersion: 'apps/v1', kind: 'DaemonSet' });
  return objects;
}

/** Backs up Flannel's configuration now (scheduled: only when it changed since the newest backup). */
export async function backupFlannelNow(
  kube: KubeClients,
  store: BackupStore,
  cluster: string,
  reason: string,
): Promise<{ id?: string; saved: boolean; objects: string[] }> {
  const objects = await collectFlannelObjects(kube);
  const described = objects.map(describeObject);
  if (objects.length === 0) return { saved: false, objects: described };
  return { ...(await store.saveIfChanged(cluster, reason, objects)), objects: described };
}

export function describeObject(o: Record<string, unknown>): string {
  const meta = (o.metadata ?? {}) as { namespace?: string; name?: string };
  return `${String(o.kind ?? 'object')} ${meta.namespace ? `${meta.namespace}/` : ''}${meta.name ?? '?'}`;
}

/** What restoring a backup would change, object by object (a server-side dry-run apply of each). */
export interface RestoreLine {
  object: string;
  change: 'create' | 'change' | 'unchanged';
  paths: string[];
}

/** The backup's objects, each applied with a server-side dry run and compared with what the cluster has now. */
export async function previewRestore(kube: KubeClients, backup: Backup): Promise<RestoreLine[]> {
  const lines: RestoreLine[] = [];
  for (const obj of backup.objects) {
    const current = await readObject(kube, obj);
    const after = await serverSideApply(kube, obj, true);
    const paths = current ? changedPaths(restorable(current), restorable(after)) : [];
    lines.push({
      object: describeObject(obj),
      change: !current ? 'create' : paths.length ? 'change' : 'unchanged',
      paths,
    });
  }
  return lines;
}

/**
 * Restores a backup: first backs up what the cluster has now (so a restore can be undone), then server-side
 * applies each saved object (field manager flannel-ops, forcing conflicts: the backup is what the operator chose).
 */
export async function restoreBackup(
  kube: KubeClients,
  store: BackupStore,
  backup: Backup,
): Promise<{ before?: string; applied: string[] }> {
  const current = await collectFlannelObjects(kube);
  const before = current.length
    ? await store.save(backup.cluster, `before restoring backup ${backup.id}`, current)
    : undefined;
  const applied: string[] = [];
  for (const obj of backup.objects) {
    await serverSideApply(kube, obj, false);
    applied.push(describeObject(obj));
  }
  return { ...(before && { before }), applied };
}
