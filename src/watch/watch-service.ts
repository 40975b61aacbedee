import type * as k8s from '@kubernetes/client-node';
import type { Redis } from 'ioredis';
import type { ClusterConfig } from '../config/clusters.js';
import { clustersFor, type ReplicaView } from '../coordination/hub-assignment.js';
import { LeaderElector, watcherLockKey } from '../coordination/leader-lock.js';
import { newReplicaId, ReplicaMembership } from '../coordination/membership.js';
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

/** This replica's place in the hub (replicas sharing Redis and a key prefix), as `watch` and /readyz show it. */
export interface ReplicaStatus {
  id: string;
  /** Live replicas, this one included. */
  live: number;
  /** ⌈clusters / live replicas⌉: what this replica aims to lead at most. */
  share: number;
  /** The clusters the placement gives this replica. */
  assigned: string[];
  /** The clusters this replica leads right now (sorted). */
  leading: string[];
}

export interface WatchServiceOptions {
  clusters: readonly ClusterConfig[];
  runbooks: readonly Runbook[];
  store: IncidentStore;
  /** Builds a cluster's client config; may throw (missing file, unknown context): reported and retried. */
  kubeConfigFor(cluster: ClusterConfig): k8s.KubeConfig;
  /**
   * With Redis, replicas sharing the key prefix form a hub: each heartbeats into a membership, takes the
   * clusters the placement (src/coordination/hub-assignment.ts) gives it, and holds each one's leader lock
   * while watching, so every cluster is watched by exactly one replica. Without, this process watches all.
   */
  election?: {
    redis: Redis;
    keyPrefix: string;
    /** Leader lock lease. Default 10 s. */
    ttlMs?: number;
    /** How often a wanted but locked cluster is tried again. Default 1 s. */
    retryMs?: number;
    /** Default: host-pid-random. */
    replicaId?: string;
    /** Membership heartbeat period (default 1 s) and liveness (default ttlMs). */
    heartbeatMs?: number;
    memberTtlMs?: number;
  };
  onIncident(event: IncidentEvent): void;
  onStatus?(status: ClusterWatchStatus): void;
  /** After a membership change or a change in what this replica leads. */
  onReplica?(status: ReplicaStatus): void;
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
  private membership: ReplicaMembership | undefined;
  private readonly replicaId: string | undefined;
  /** Most clusters this replica may lead while the hub converges (its share + 1); unbounded alone. */
  private limit = Number.POSITIVE_INFINITY;
  private view: { live: number; share: number; assigned: string[] } = { live: 0, share: 0, assigned: [] };
  private lastReport = '';
  private heartbeats = 0;

  constructor(private readonly opts: WatchServiceOptions) {
    const hooks: UnitHooks = {
      onIncident: (e) => opts.onIncident(e),
      mayAcquire: () => this.leadingCount() < this.limit,
      onLeadershipChange: () => this.reportReplica(),
    };
    this.units = opts.clusters.map((cluster) => new ClusterUnit(cluster, opts, hooks));
    if (opts.election) this.replicaId = opts.election.replicaId ?? newReplicaId();
  }

  get statuses(): ClusterWatchStatus[] {
    return this.units.map((u) => u.status);
  }

  /** This replica in the hub (undefined without Redis election). */
  get replica(): ReplicaStatus | undefined {
    if (!this.replicaId) return undefined;
    return {
      id: this.replicaId,
      ...this.view,
      leading: this.units
        .filter((u) => u.leading)
        .map((u) => u.name)
        .sort(),
    };
  }

  start(): void {
    for (const unit of this.units) unit.start();
    const election = this.opts.election;
    if (!election || !this.replicaId || this.membership) return;
    const ttlMs = election.ttlMs ?? 10_000;
    this.membership = new ReplicaMembership({
      redis: election.redis,
      prefix: election.keyPrefix,
      id: this.replicaId,
      clusters: this.units.map((u) => u.name),
      ttlMs: election.memberTtlMs ?? ttlMs,
      heartbeatMs: election.heartbeatMs,
      onView: (view) => this.rebalance(view),
      onError: (err) => this.opts.onError?.('(hub membership)', err),
    });
    this.membership.start();
  }

  async stop(): Promise<void> {
    // Leave first, so the others start taking over while this replica's watchers wind down.
    await this.membership?.stop();
    await Promise.all(this.units.map((u) => u.stop()));
  }

  /** Writes everything already detected (tests and `watch --once` use it). */
  async flush(): Promise<void> {
    await Promise.all(this.units.map((u) => u.flush()));
  }

  private leadingCount(): number {
    return this.units.filter((u) => u.leading).length;
  }

  /** Takes the clusters the placement gives this replica; hands the others over (watcher first, then lock). */
  private rebalance(view: ReplicaView[]): void {
    // The first heartbeat only announces this replica: replicas started together (a rollout) then see each
    // other before deciding, instead of the first one taking every cluster and handing most back.
    if (++this.heartbeats === 1 && view.length === 1) return;
    const mine = clustersFor(this.replicaId!, view);
    this.limit = mine.limit;
    this.view = { live: view.length, share: mine.share, assigned: [...mine.clusters].sort() };
    // Hand over first: a replica over its share makes room before it campaigns for anything new.
    for (const unit of this.units) if (!mine.clusters.has(unit.name)) unit.setWanted(false);
    for (const unit of this.units) if (mine.clusters.has(unit.name)) unit.setWanted(true);
    this.reportReplica();
  }

  private reportReplica(): void {
    const status = this.replica;
    if (!status || !this.opts.onReplica) return;
    const key = JSON.stringify(status);
    if (key === this.lastReport) return;
    this.lastReport = key;
    this.opts.onReplica(status);
  }
}

interface UnitHooks {
  onIncident(e: IncidentEvent): void;
  mayAcquire(): boolean;
  onLeadershipChange(): void;
}

/**
 * One cluster: without election it always watches; with election it campaigns for the cluster's lock while
 * the hub placement wants it here, watches while leader, and hands over (watcher stopped, then lock released)
 * when the placement moves it elsewhere.
 */
class ClusterUnit {
  private watcher: ClusterWatcher | undefined;
  private elector: LeaderElector | undefined;
  /** An elector being handed over: its lock still counts against this replica's limit until released. */
  private releasing: LeaderElector | undefined;
  private wanted = false;
  private transitions: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  private attempts = 0;
  private running = false;
  status: ClusterWatchStatus;

  constructor(
    private readonly cluster: ClusterConfig,
    private readonly opts: WatchServiceOptions,
    private readonly hooks: UnitHooks,
  ) {
    this.status = { cluster: cluster.name, role: 'stopped' };
  }

  get name(): string {
    return this.cluster.name;
  }

  /** Holds the cluster's lock (or, without election, watches it). */
  get leading(): boolean {
    if (!this.opts.election) return this.running;
    return !!this.elector?.isLeader || !!this.releasing?.isLeader;
  }

  start(): void {
    this.running = true;
    if (!this.opts.election) {
      this.startWatcher();
      return;
    }
    this.setStatus({ role: 'standby' });
  }

  /** The hub placement says whether this replica should watch the cluster. */
  setWanted(wanted: boolean): void {
    if (!this.running || wanted === this.wanted) return;
    this.wanted = wanted;
    this.transitions = this.transitions
      .then(() => (wanted ? this.campaign() : this.handOver()))
      .catch((err: unknown) => this.opts.onError?.(this.cluster.name, err));
  }

  private campaign(): void {
    const election = this.opts.election;
    if (!election || !this.running || !this.wanted || this.elector) return;
    const elector: LeaderElector = new LeaderElector({
      redis: election.redis,
      key: watcherLockKey(election.keyPrefix, this.cluster.name),
      ttlMs: election.ttlMs,
      retryMs: election.retryMs,
      mayAcquire: () => this.hooks.mayAcquire(),
      onElected: (token) => {
        if (this.elector !== elector) return; // handed over meanwhile: stop() releases it
        this.setStatus({ role: 'leader', fencingToken: token });
        this.startWatcher();
        this.hooks.onLeadershipChange();
      },
      onDeposed: async () => {
        if (this.elector === elector) await this.stopWatcher();
        if (this.running && this.elector === elector)
          this.setStatus({ role: 'standby', fencingToken: undefined });
        this.hooks.onLeadershipChange();
      },
      onError: (err) => this.opts.onError?.(this.cluster.name, err),
    });
    this.elector = elector;
    elector.start();
  }

  /** Graceful: stop watching (pending signals written), then release the lock for the new owner. */
  private async handOver(): Promise<void> {
    const elector = this.elector;
    if (!elector) return;
    this.elector = undefined;
    this.releasing = elector;
    try {
      await this.stopWatcher();
      await elector.stop();
    } finally {
      this.releasing = undefined;
    }
    if (this.running) this.setStatus({ role: 'standby', fencingToken: undefined, stream: undefined });
    this.hooks.onLeadershipChange();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wanted = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.transitions;
    const elector = this.elector;
    this.elector = undefined;
    // Watcher first (its pending signals written), then the lock, so a successor starts from a full store.
    await this.stopWatcher();
    await elector?.stop();
    this.setStatus({ role: 'stopped' });
  }

  async flush(): Promise<void> {
    await this.watcher?.flush();
  }

  private startWatcher(): void {
    if (!this.running || this.watcher) return;
    if (this.opts.election && !this.elector?.isLeader) return; // handed over while a retry was pending
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
      onIncident: (e) => this.hooks.onIncident(e),
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
