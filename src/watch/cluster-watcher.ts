import type * as k8s from '@kubernetes/client-node';
import { signalFromEvent, type SandboxSignal } from '../detect/classify.js';
import { matchRunbooks, type Runbook } from '../runbooks/load.js';
import type { IncidentStore } from '../incidents/store.js';
import type { Incident } from '../incidents/types.js';
import { EventStream, type StreamHealth } from '../kube/event-stream.js';
import { SignalBatcher } from './signal-batcher.js';

export type IncidentEventKind = 'opened' | 'reopened' | 'updated' | 'resolved';

/** What the watcher reports to its sinks (the `watch` printer, later the Slack layer). */
export interface IncidentEvent {
  event: IncidentEventKind;
  cluster: string;
  incident: Incident;
}

export interface ClusterWatcherOptions {
  cluster: { name: string; ignoreNamespaces?: readonly string[] };
  kubeConfig: k8s.KubeConfig;
  runbooks: readonly Runbook[];
  store: IncidentStore;
  onIncident(event: IncidentEvent): void;
  onHealth?(health: StreamHealth): void;
  onError?(err: unknown): void;
  /** After a batch of signals is stored (metrics: the benchmark measures detection latency here). */
  onRecorded?(signals: readonly SandboxSignal[]): void;
  flushIntervalMs?: number;
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

  constructor(private readonly opts: ClusterWatcherOptions) {
    this.ignored = new Set(opts.cluster.ignoreNamespaces ?? []);
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
    });
  }

  get health(): StreamHealth {
    return this.stream.status;
  }

  start(): void {
    this.stream.start();
  }

  /** Stops watching and writes what was already detected. */
  async stop(): Promise<void> {
    await this.stream.stop();
    await this.batcher.close();
  }

  /** Pure routing of one event; exposed so benchmarks can drive the same path without a network. */
  ingest(event: k8s.CoreV1Event): void {
    const signal = signalFromEvent(event);
    if (!signal || this.ignored.has(signal.namespace)) return;
    for (const runbook of matchRunbooks(this.opts.runbooks, signal)) this.batcher.add(runbook.id, signal);
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
