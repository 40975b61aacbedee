import type { ObjectStore, StoreChange } from '../store.js';

/**
 * kube-apiserver's --event-ttl: an Event disappears (DELETED) a fixed time after its last write,
 * whoever wrote it (domain/kubernetes-api.md §4.3).
 */
export class EventExpiry {
  private readonly lastWrite = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: ObjectStore,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    for (const ev of store.list('Event'))
      this.lastWrite.set(key(ev.metadata.namespace, ev.metadata.name), now());
    this.unsubscribe = store.subscribe((change) => this.observe(change));
    this.timer = setInterval(() => this.sweep(), Math.max(50, Math.min(ttlMs / 4, 30_000)));
    this.timer.unref();
  }

  private observe(change: StoreChange): void {
    if (change.object.kind !== 'Event') return;
    const k = key(change.object.metadata.namespace, change.object.metadata.name);
    if (change.type === 'DELETED') this.lastWrite.delete(k);
    else this.lastWrite.set(k, this.now());
  }

  /** Deletes every Event whose last write is older than the TTL. */
  sweep(): void {
    const cutoff = this.now() - this.ttlMs;
    for (const [k, written] of this.lastWrite) {
      if (written > cutoff) continue;
      this.lastWrite.delete(k);
      const [namespace, name] = k.split('/');
      try {
        this.store.delete('Event', namespace, name);
      } catch {
        // already gone
      }
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.unsubscribe();
  }
}

function key(namespace: string | undefined, name: string): string {
  return `${namespace ?? 'default'}/${name}`;
}
