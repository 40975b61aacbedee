/**
 * Copies of Flannel's configuration (the kube-flannel-cfg ConfigMap and the Flannel DaemonSet) taken before
 * every change a step makes to them — the seed's prevention advice ("back up the ConfigMaps regularly") — and
 * restorable. Kept in Redis (run it with persistence) under `{p}:backups:{cluster}`, newest first, the last
 * `keep` of each cluster.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
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

export class BackupStore implements BackupSink {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly keep = 20,
  ) {}

  private key(cluster: string): string {
    return `${this.prefix}:backups:${cluster}`;
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
      .ltrim(this.key(cluster), 0, this.keep - 1)
      .exec();
    return id;
  }

  async list(cluster: string): Promise<Backup[]> {
    const raw = await this.redis.lrange(this.key(cluster), 0, -1);
    return raw.flatMap((r) => {
      const parsed = backupSchema.safeParse(JSON.parse(r));
      return parsed.success ? [parsed.data] : [];
    });
  }

  async get(cluster: string, id: string): Promise<Backup | undefined> {
    return (await this.list(cluster)).find((b) => b.id === id);
  }
}
