/**
 * One remediation per cluster at a time: a lock in Redis held by the step job that runs (value
 * `<incident>|<job id>`), renewed while it runs, released compare-and-delete. The same job resumed after a
 * crash still owns it; an approval on another incident of the cluster is refused while it is held.
 */
import type { Redis } from 'ioredis';
import { defineLuaCommands } from '../coordination/lua-scripts.js';

const LOCK_MS = 10 * 60_000;

interface LockScripts {
  flannelOpsReleaseIfOwner(key: string, token: string): Promise<number>;
  flannelOpsExtendIfOwner(key: string, token: string, ms: number): Promise<number>;
}

export class RemediationLock {
  private readonly redis: Redis & LockScripts;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    defineLuaCommands(redis, {
      flannelOpsReleaseIfOwner: { file: 'coordination/lua/release-if-owner.lua', keys: 1 },
      flannelOpsExtendIfOwner: { file: 'coordination/lua/lock-extend.lua', keys: 1 },
    });
    this.redis = redis as Redis & LockScripts;
  }

  private key(cluster: string): string {
    return `${this.prefix}:remediation-lock:${cluster}`;
  }

  /** Takes the cluster's lock for `incidentId`'s step job, or keeps it when that job already holds it. */
  async acquire(cluster: string, incidentId: string, jobId: string): Promise<Held | undefined> {
    const key = this.key(cluster);
    const value = `${incidentId}|${jobId}`;
    const taken = (await this.redis.set(key, value, 'PX', LOCK_MS, 'NX')) === 'OK';
    if (!taken && (await this.redis.get(key)) !== value) return undefined;
    const renew = setInterval(
      () => void this.redis.flannelOpsExtendIfOwner(key, value, LOCK_MS).catch(() => undefined),
      LOCK_MS / 3,
    );
    renew.unref?.();
    return {
      release: async () => {
        clearInterval(renew);
        await this.redis.flannelOpsReleaseIfOwner(key, value);
      },
    };
  }

  /** The incident whose step holds the cluster's lock, if any. */
  async holder(cluster: string): Promise<string | undefined> {
    const value = await this.redis.get(this.key(cluster));
    return value ? value.split('|')[0] : undefined;
  }
}

export interface Held {
  release(): Promise<void>;
}
