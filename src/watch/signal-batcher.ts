import type { SandboxSignal } from '../detect/classify.js';

/** Signals waiting to be written, per runbook, keyed by event uid so a storm of re-deliveries stays small. */
export type PendingBatch = Map<string, Map<string, SandboxSignal>>;

export interface SignalBatcherOptions {
  /**
   * Write at most this long after the first pending signal (detection latency budget); in practice signals
   * are written sooner (see SignalBatcher). Also the floor of the retry delay after a failed write (≥ 1 s).
   */
  flushIntervalMs?: number;
  /** Write at once when this many distinct events are pending. */
  maxBatch?: number;
  /** Writes one runbook's signals; throws to keep them pending (e.g. Redis unreachable). */
  write(runbookId: string, signals: SandboxSignal[]): Promise<void>;
  onError?(err: unknown): void;
}

/**
 * Coalesces signals into few incident-store writes: one Redis round trip per runbook per flush instead of one
 * per event, which is what lets ingest keep up with an event storm. Re-deliveries of one event inside a batch
 * collapse to the latest (highest count) copy. A failed write keeps the signals for the next flush, so nothing
 * detected is dropped while Redis is briefly away.
 *
 * Batches size themselves: with no write in flight, pending signals are written on the next turn of the event
 * loop (after the rest of the socket data they arrived with); while a write is in flight they accumulate and
 * go out as soon as it completes. A storm thus makes a few large writes, and a lone event is written at once
 * instead of waiting out a fixed interval.
 */
export class SignalBatcher {
  private pending: PendingBatch = new Map();
  private pendingCount = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private flushing: Promise<void> | undefined;
  /** The last write failed: the next one waits for the retry delay instead of going out at once. */
  private failing = false;
  private readonly flushIntervalMs: number;
  private readonly maxBatch: number;

  constructor(private readonly opts: SignalBatcherOptions) {
    this.flushIntervalMs = opts.flushIntervalMs ?? 50;
    this.maxBatch = opts.maxBatch ?? 2000;
  }

  get size(): number {
    return this.pendingCount;
  }

  add(runbookId: string, signal: SandboxSignal): void {
    let byEvent = this.pending.get(runbookId);
    if (!byEvent) this.pending.set(runbookId, (byEvent = new Map()));
    const previous = byEvent.get(signal.eventUid);
    if (!previous) this.pendingCount++;
    if (!previous || signal.count >= previous.count) byEvent.set(signal.eventUid, signal);
    // While a write is in flight, its completion schedules the next one (no pile of waiting flushes).
    if (this.pendingCount >= this.maxBatch && !this.flushing) void this.flush();
    else this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.immediate || this.flushing) return;
    if (this.failing) {
      this.timer = setTimeout(() => void this.flush(), Math.max(this.flushIntervalMs, 1000));
    } else {
      this.immediate = setImmediate(() => void this.flush());
    }
  }

  private cancelScheduled(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  /** Writes everything pending; resolves once written (or once a failed write has been put back). */
  async flush(): Promise<void> {
    this.cancelScheduled();
    // One write at a time keeps the store's view ordered; signals that arrive meanwhile wait for the next.
    while (this.flushing) await this.flushing;
    if (this.pendingCount === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.pendingCount = 0;
    this.flushing = this.writeBatch(batch).finally(() => {
      this.flushing = undefined;
      if (this.pendingCount > 0) this.schedule();
    });
    await this.flushing;
  }

  private async writeBatch(batch: PendingBatch): Promise<void> {
    let failed = false;
    for (const [runbookId, byEvent] of batch) {
      try {
        await this.opts.write(runbookId, [...byEvent.values()]);
      } catch (err) {
        failed = true;
        this.opts.onError?.(err);
        for (const signal of byEvent.values()) this.requeue(runbookId, signal);
      }
    }
    this.failing = failed;
  }

  private requeue(runbookId: string, signal: SandboxSignal): void {
    let byEvent = this.pending.get(runbookId);
    if (!byEvent) this.pending.set(runbookId, (byEvent = new Map()));
    const newer = byEvent.get(signal.eventUid);
    if (!newer) {
      byEvent.set(signal.eventUid, signal);
      this.pendingCount++;
    }
  }

  async close(): Promise<void> {
    await this.flush();
    this.cancelScheduled();
  }
}
