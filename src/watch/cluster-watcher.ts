import type * as k8s from '@kubernetes/client-node';
import { signalFromEvent, type SandboxSignal } from '../detect/classify.js';
import { matchRunbooks, type Runbook } from '../runbooks/load.js';
import type { IncidentStore } from '../incidents/store.js';
import type { Incident } from '../incidents/types.js';
import { EventStream, type StreamHealth } from '../kube/event-stream.js';
import { SignalBatcher } from './signal-batcher.js';
import { FlannelPresence } from './flannel-presence.js';

/** How long the first look at the cluster (does it run Flannel?) may hold back the event watch. */
const PRESENCE_WAIT_MS = 5000;

export type IncidentEventKind = 'opened' | 'reopened' | 'updated' | 'resolved';

/** What the watcher reports to its sinks (the `watch` printer, later the Slack layer). */
export interface IncidentEvent {
  event: IncidentEventKind;
  cluster: string;
  incident: Incident;
}

/** Optional counters of what the watcher reads (the bot's metrics); every method is optional. */
export interface WatchObserver {
  /** Each event read (listed or watched); `signal` when it is a sandbox failure detection understood. */
  event?(cluster: string, signal: SandboxSignal | undefined): void;
  /** A list of the cluster's events completed: the first one of a watcher, or a relist. */
  listed?(cluster: string, relist: boolean): void;
  /** The event watch is opened again (a clean close, an expired resourceVersion or an error). */
  restarted?(cluster: string, reason: 'closed' | 'expired' | 'error'): void;
}

export interface ClusterWatcherOptions {
  cluster: { name: string; ignoreNamespaces?: readonly string[] };
  kubeConfig: k8s.KubeConfig;
  runbooks: readonly Runbook[];
  store: IncidentStore;
  onIncident(event: IncidentEvent): void;
  onHealth?(health: StreamHealth): void;
  onError?(err: unknown): void;
  observer?: WatchObserver;
  /** After a batch of signals is stored (metrics: the benchmark measures detection latency here). */
  onRecorded?(signals: readonly SandboxSignal[]): void;
  flushIntervalMs?: number;
  /** How often to look again whether the cluster runs Flannel (default 60 s). */
  presenceRefreshMs?: number;
  streamOptions?: {
    idleTimeoutMs?: number;
    watchTimeoutSeconds?: number;
    backoff?: { baseMs: number; maxMs: number };
  };
}

/**
 * Detection for one cluster: its Warning events -> sandbox signals -> matching runbooks -> incidents.
 * Replays (relists, restarts, kubelet count bumps) are safe because the incident store counts by event uid.
 */
export class ClusterWatcher {
  private readonly stream: EventStream;
  private readonly batcher: SignalBatcher;
  private readonly ignored: ReadonlySet<string>;
  private readonly presence: FlannelPresence;
  private stopped = false;

  constructor(private readonly opts: ClusterWatcherOptions) {
    this.ignored = new Set(opts.cluster.ignoreNamespaces ?? []);
    this.presence = new FlannelPresence(opts.kubeConfig, {
      refreshMs: opts.presenceRefreshMs,
      onError: opts.onError,
    });
    this.batcher = new SignalBatcher({
      flushIntervalMs: opts.flushIntervalMs,
      write: (runbookId, signals) => this.record(runbookId, signals),
      onError: opts.onError,
    });
    this.stream = new EventStream({
      cluster: opts.cluster.name,
      kubeConfig: opts.kubeConfig,
      fieldSelector: 'type=Warning',
      ...opts.streamOptions,
      onEvent: (type, event) => {
        if (type !== 'DELETED') this.ingest(event);
      },
      onHealth: opts.onHealth,
      ...(opts.observer && this.observe(opts.observer)),
    });
  }

  private observe(o: WatchObserver) {
    let lists = 0;
    const cluster = this.opts.cluster.name;
    return {
      onListed: () => o.listed?.(cluster, lists++ > 0),
      onRestart: (reason: 'closed' | 'expired' | 'error') => o.restarted?.(cluster, reason),
    };
  }

  get health(): StreamHealth {
    return this.stream.status;
  }

  /**
   * Looks whether the cluster runs Flannel, then watches. The watch waits for that answer (at most a few
   * seconds): it lists the existing events first, so nothing is missed, and none is routed on a guess.
   */
  start(): void {
    const known = this.presence.start();
    const waited = new Promise<void>((resolve) => setTimeout(resolve, PRESENCE_WAIT_MS).unref());
    void Promise.race([known, waited]).then(() => {
      if (!this.stopped) this.stream.start();
    });
  }

  /** Stops watching and writes what was already detected. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.presence.stop();
    await this.stream.stop();
    await this.batcher.close();
  }

  /** Whether the cluster runs Flannel, as last seen (undefined before the first answer). */
  get runsFlannel(): boolean | undefined {
    return this.presence.current;
  }

  /** Pure routing of one event; exposed so benchmarks can drive the same path without a network. */
  ingest(event: k8s.CoreV1Event): void {
    const signal = signalFromEvent(event);
    this.opts.observer?.event?.(this.opts.cluster.name, signal ?? undefined);
    if (!signal || this.ignored.has(signal.namespace)) return;
    const cluster = { flannel: this.presence.current };
    for (const runbook of matchRunbooks(this.opts.runbooks, signal, cluster))
      this.batcher.add(runbook.id, signal);
  }

  flush(): Promise<void> {
    return this.batcher.flush();
  }

  private async record(runbookId: string, signals: SandboxSignal[]): Promise<void> {
    const result = await this.opts.store.recordSignals(this.opts.cluster.name, runbookId, signals);
    this.opts.onRecorded?.(signals);
    if (!result || result.change === 'unchanged') return;
    this.opts.onIncident({
      event: result.change,
      cluster: this.opts.cluster.name,
      incident: result.incident,
    });
  }
}
