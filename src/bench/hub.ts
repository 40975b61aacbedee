/**
 * `bench --hub`: many clusters on several replicas. One simulator serves every cluster (each under its own
 * name in clusters.yaml); `replicas` real `flannel-ops watch --json` processes share Redis and a key prefix.
 * Measures how the clusters are shared out, how long a SIGKILLed replica's clusters stay unwatched, whether a
 * failure that starts during that failover opens more than one incident anywhere, and the memory each watched
 * cluster costs a replica (how much the survivors' RSS grows per cluster they take over).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { effectiveKeyPrefix } from '../config/redis-url.js';
import { fairShare } from '../coordination/hub-assignment.js';
import { createRedis, DEFAULT_REDIS_URL } from '../coordination/redis-connection.js';
import { IncidentStore } from '../incidents/store.js';
import { startSimulator } from '../sim/kube/simulator.js';
import { round } from './stats.js';

/** The repository root (bin/flannel-ops.js), from src/ under tsx or from dist/. */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

export interface HubBenchOptions {
  clusters?: number;
  replicas?: number;
  /** 30 clusters instead of 100. */
  quick?: boolean;
  redisUrl?: string;
  keyPrefix?: string;
  log?(line: string): void;
}

export interface HubBenchResult {
  clusters: number;
  replicas: number;
  /** The most clusters any replica led once the hub converged, all replicas live (SPEC: ≤ ⌈clusters/replicas⌉ + 1). */
  max_per_replica: number;
  /** Clusters each replica led once converged, before the kill. */
  per_replica: number[];
  /** Clusters each survivor led after the takeover. */
  per_replica_after: number[];
  /** SIGKILL of the busiest replica -> the last of its clusters led by a survivor (SPEC: ≤ 15 s). */
  failover_s: number;
  /** Incidents beyond one per cluster for the failure started during the failover (SPEC: 0). */
  duplicate_incidents: number;
  /** Resident memory a replica grows by per cluster it takes over (the survivors, before vs after). */
  rss_per_cluster_mb: number;
}

/** A `watch --json` replica whose stderr status lines are followed with their arrival times. */
class Replica {
  readonly proc: ChildProcess;
  readonly roles = new Map<string, string>();
  /** When each cluster last became led here (ms since epoch). */
  readonly ledAt = new Map<string, number>();
  readonly opened: Array<{ cluster: string; id: string }> = [];
  exited = false;
  private tail = '';

  constructor(args: string[], env: Record<string, string>) {
    this.proc = spawn(
      process.execPath,
      [join(projectRoot(), 'bin', 'flannel-ops.js'), 'watch', '--json', ...args],
      {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'warn', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    createInterface({ input: this.proc.stderr! }).on('line', (line) => {
      this.tail = `${this.tail}${line}\n`.slice(-3000);
      const m = /^cluster (\S+): (\w+)/.exec(line);
      if (!m) return;
      if (m[2] === 'leader' && this.roles.get(m[1]) !== 'leader') this.ledAt.set(m[1], Date.now());
      this.roles.set(m[1], m[2]);
    });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      try {
        const e = JSON.parse(line) as { event?: string; cluster?: string; id?: string };
        if (e.event === 'opened' && e.cluster && e.id) this.opened.push({ cluster: e.cluster, id: e.id });
      } catch {
        // not a JSON line
      }
    });
    this.proc.once('exit', () => (this.exited = true));
  }

  get leading(): Set<string> {
    return new Set([...this.roles].filter(([, role]) => role === 'leader').map(([c]) => c));
  }

  rssMb(): number {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${this.proc.pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  }

  /** The median of a few RSS samples a second apart (one sample catches a GC mid-way). */
  async steadyRssMb(): Promise<number> {
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 1000));
      samples.push(this.rssMb());
    }
    return samples.sort((x, y) => x - y)[2];
  }

  describe(): string {
    return this.tail.trim() || '(no output)';
  }

  async kill(): Promise<void> {
    if (this.exited) return;
    const done = new Promise((resolve) => this.proc.once('exit', resolve));
    this.proc.kill('SIGKILL');
    await done;
  }
}

async function until<T>(
  what: string,
  check: () => T | undefined,
  timeoutMs: number,
  alive: Replica[],
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    const dead = alive.find((r) => r.exited);
    if (dead) throw new Error(`${what}: a replica exited: ${dead.describe()}`);
    if (Date.now() > deadline) throw new Error(`${what}: timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Per-replica counts once every cluster is led by exactly one of `live`, else undefined. */
function coverage(live: Replica[], clusters: string[]): number[] | undefined {
  const sets = live.map((r) => r.leading);
  for (const c of clusters) if (sets.filter((s) => s.has(c)).length !== 1) return undefined;
  return sets.map((s) => s.size);
}

export async function runHubBench(options: HubBenchOptions = {}): Promise<HubBenchResult> {
  const log = options.log ?? (() => undefined);
  const clusterCount = options.clusters ?? (options.quick ? 30 : 100);
  const replicaCount = options.replicas ?? 3;
  if (!Number.isInteger(clusterCount) || clusterCount < 1) throw new RangeError('clusters must be >= 1');
  if (!Number.isInteger(replicaCount) || replicaCount < 2) throw new RangeError('replicas must be >= 2');
  const redisUrl = options.redisUrl ?? DEFAULT_REDIS_URL;
  // The replicas wrap the prefix in a hash tag on a Cluster; the store below must use what they use.
  const base = `${options.keyPrefix ?? 'flannel-ops'}-bench-hub-${randomUUID().slice(0, 8)}`;
  const prefix = effectiveKeyPrefix(base, redisUrl);
  const names = Array.from({ length: clusterCount }, (_, i) => `hub-${String(i).padStart(3, '0')}`);
  const dir = mkdtempSync(join(tmpdir(), 'bench-hub-'));
  const replicas: Replica[] = [];
  const redis = createRedis(redisUrl);
  redis.on('error', () => undefined);
  // Healthy until the storm below: the failure starts while the killed replica's clusters are orphaned.
  const sim = await startSimulator({
    scenario: 'healthy',
    port: 0,
    retryIntervalMs: 3_600_000,
    startDelayMs: 10,
  });
  try {
    await sim.settle();
    const yaml = (list: string[]) =>
      `clusters:\n${list.map((c) => `  - name: ${c}\n    kubeconfig: ${sim.kubeconfigPath}\n    channel: C0BENCH\n`).join('')}`;
    const file = join(dir, 'clusters.yaml');
    writeFileSync(file, yaml(names));
    const env = { REDIS_URL: redisUrl, FLANNEL_OPS_KEY_PREFIX: base };

    log(`hub: ${replicaCount} replicas over ${clusterCount} clusters`);
    for (let i = 0; i < replicaCount; i++) replicas.push(new Replica(['--clusters', file], env));
    const share = fairShare(clusterCount, replicaCount);
    const perReplica = await until(
      'every cluster led by exactly one replica, each within its share + 1',
      () => {
        const counts = coverage(replicas, names);
        return counts && Math.max(...counts) <= share + 1 ? counts : undefined;
      },
      240_000,
      replicas,
    );
    log(`hub: converged: ${perReplica.join(' / ')} clusters per replica`);
    const rssBefore = await Promise.all(replicas.map((r) => r.steadyRssMb()));

    const victim = replicas[perReplica.indexOf(Math.max(...perReplica))];
    const orphans = [...victim.leading];
    const survivors = replicas.filter((r) => r !== victim);
    const killedAt = Date.now();
    await victim.kill();
    log(`hub: SIGKILLed a replica leading ${orphans.length} clusters; a failure starts now`);
    await sim.storm(20);
    const perReplicaAfter = await until(
      "the killed replica's clusters taken over",
      () => coverage(survivors, names),
      120_000,
      survivors,
    );
    const failoverMs =
      Math.max(
        ...orphans.map((c) => Math.max(...survivors.map((r) => (r.leading.has(c) ? r.ledAt.get(c)! : 0)))),
      ) - killedAt;
    log(`hub: taken over in ${round(failoverMs / 1000, 1)} s; waiting for every cluster's incident`);

    const store = new IncidentStore({ redis, prefix });
    await until(
      'an opened incident for every cluster',
      () => {
        const seen = new Set(replicas.flatMap((r) => r.opened.map((o) => o.cluster)));
        return names.every((c) => seen.has(c)) ? true : undefined;
      },
      180_000,
      survivors,
    );
    // Let any late duplicate show: one more flush round of every survivor.
    await new Promise((r) => setTimeout(r, 3000));
    // Marginal memory: what each survivor grew by per cluster it took over (same process, same base).
    const rssAfter = await Promise.all(survivors.map((r) => r.steadyRssMb()));
    const slopes = survivors.map((r, i) => {
      const j = replicas.indexOf(r);
      const gained = perReplicaAfter[i] - perReplica[j];
      return gained > 0 ? (rssAfter[i] - rssBefore[j]) / gained : NaN;
    });
    const rssPerCluster = slopes.filter(Number.isFinite).reduce((x, y) => x + y, 0) / slopes.length;
    let duplicates = 0;
    for (const c of names)
      duplicates += Math.max(0, (await store.list({ cluster: c, limit: 10 })).length - 1);
    const openedLines = replicas.flatMap((r) => r.opened).length;
    duplicates = Math.max(duplicates, openedLines - clusterCount);

    return {
      clusters: clusterCount,
      replicas: replicaCount,
      max_per_replica: Math.max(...perReplica),
      per_replica: perReplica,
      per_replica_after: perReplicaAfter,
      failover_s: round(failoverMs / 1000, 2),
      duplicate_incidents: duplicates,
      rss_per_cluster_mb: round(rssPerCluster, 2),
    };
  } finally {
    await Promise.all(replicas.map((r) => r.kill()));
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
    await deleteUnder(redis, prefix).catch(() => undefined);
    redis.disconnect();
  }
}

async function deleteUnder(redis: ReturnType<typeof createRedis>, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}
