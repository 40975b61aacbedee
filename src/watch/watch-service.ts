import type * as k8s from '@kubernetes/client-node';
import type { Redis } from 'ioredis';
import type { ClusterConfig } from '../config/clusters.js';
import { LeaderElector, watcherLockKey } from '../coordination/leader-lock.js';
import type { IncidentStore } from '../incidents/store.js';
import { describeKubeError, type StreamHealth } from '../kube/event-stream.js';
import { backoffDelay } from '../kube/backoff.js';
import type { Runbook } from '../runbooks/load.js';
import { ClusterWatcher, type IncidentEvent, type WatchObserver } from './cluster-watcher.js';

/** A cluster's detection status as `watch` and `/flannel status` show it. */
export interface ClusterWatchStatus {
  cluster: string;
  /** leader: this process watches it; standby: another replica does; error: cannot start (reason in lastError). */
  role: 'leader' | 'standby' | 'error' | 'stopped';
  stream?: StreamHealth;
  lastError?: string;
  fencingToken?: number;
}

export interface WatchServiceOptions {
  clusters: readonly ClusterConfig[];
  runbooks: readonly Runbook[];
  store: IncidentStore;
  /** Builds a cluster's client config; may throw (missing file, unknown context): reported and retried. */
  kubeConfigFor(cluster: ClusterConfig): k8s.KubeConfig;
  /** With Redis, only one replica watches each cluster (leader lock); without, this process always watches. */
  election?: { redis: Redis; keyPrefix: string; ttlMs?: number; retryMs?: number };
  onIncident(event: IncidentEvent): void;
  onStatus?(status: ClusterWatchStatus): void;
  onError?(cluster: string, err: unknown): void;
  /** Counters of events read, lists and watch restarts (the bot's metrics). */
  observer?: WatchObserver;
  flushIntervalMs?: number;
  streamOptions?: ConstructorParameters<typeof ClusterWatcher>[0]['streamOptions'];
}

/**
 * Runs one ClusterWatcher per configured cluster, each independent: a cluster whose kubeconfig is broken
 * or whose API is down is reported and retried while the others keep watching.
 */
export class WatchService {
  private readonly units: ClusterUnit[];

  constructor(private readonly opts: WatchServiceOptions) {
    this.units = opts.clusters.map((cluster) => new ClusterUnit(cluster, opts, (e) => opts.onIncident(e)));
  }

  get statuses(): ClusterWatchStatus[] {
    return this.units.map((u) => u.status);
  }

  start(): void {
    for (const unit of this.units) unit.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.units.map((u) => u.stop()));
  }

  /** Writes everything already detected (tests and `watch --once` use it). */
  async flush(): Promise<void> {
    await Promise.all(this.units.map((u) => u.flush()));
  }
}

/** One cluster: campaigns for its lock (when electing) and runs its watcher while leader. */
class ClusterUnit {
  private watcher: ClusterWatcher | undefined;
  private elector: LeaderElector | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private attempts = 0;
  private running = false;
  status: ClusterWatchStatus;

  constructor(
    private readonly cluster: ClusterConfig,
    private readonly opts: WatchServiceOptions,
    private readonly onIncident: (e: IncidentEvent) => void,
  ) {
    this.status = { cluster: cluster.name, role: 'stopped' };
  }

  start(): void {
    this.running = true;
    const election = this.opts.election;
    if (!election) {
      this.startWatcher();
      return;
    }
    this.setStatus({ role: 'standby' });
    this.elector = new LeaderElector({
      redis: election.redis,
      key: watcherLockKey(election.keyPrefix, this.cluster.name),
      ttlMs: election.ttlMs,
      retryMs: election.retryMs,
      onElected: (token) => {
        this.setStatus({ role: 'leader', fencingToken: token });
        this.startWatcher();
      },
      onDeposed: async () => {
        await this.stopWatcher();
        if (this.running) this.setStatus({ role: 'standby', fencingToken: undefined });
      },
      onError: (err) => this.opts.onError?.(this.cluster.name, err),
    });
    this.elector.start();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.elector?.stop();
    await this.stopWatcher();
    this.setStatus({ role: 'stopped' });
  }

  async flush(): Promise<void> {
    await this.watcher?.flush();
  }

  private startWatcher(): void {
    if (!this.running || this.watcher) return;
    let kubeConfig: k8s.KubeConfig;
    try {
      kubeConfig = this.opts.kubeConfigFor(this.cluster);
    } catch (err) {
      // A broken kubeconfig may be fixed on disk while we run: retry with backoff, keep the reason visible.
      this.attempts++;
      this.setStatus({ role: 'error', lastError: describeKubeError(err) });
      this.opts.onError?.(this.cluster.name, err);
      this.retryTimer = setTimeout(
        () => this.startWatcher(),
        backoffDelay(this.attempts, { baseMs: 1000, maxMs: 60_000 }),
      );
      return;
    }
    this.attempts = 0;
    this.watcher = new ClusterWatcher({
      cluster: this.cluster,
      kubeConfig,
      runbooks: this.opts.runbooks,
      store: this.opts.store,
      flushIntervalMs: this.opts.flushIntervalMs,
      streamOptions: this.opts.streamOptions,
      observer: this.opts.observer,
      onIncident: this.onIncident,
      onHealth: (stream) =>
        this.setStatus({
          role: this.opts.election
            ? 'leader'
            : stream.healthy || stream.state !== 'backoff'
              ? 'leader'
              : 'error',
          stream,
          lastError: stream.lastError,
        }),
      onError: (err) => this.opts.onError?.(this.cluster.name, err),
    });
    this.watcher.start();
  }

  private async stopWatcher(): Promise<void> {
    const watcher = this.watcher;
    this.watcher = undefined;
    await watcher?.stop();
  }

  private setStatus(patch: Partial<ClusterWatchStatus>): void {
    this.status = { ...this.status, ...patch };
    this.opts.onStatus?.({ ...this.status });
  }
}
