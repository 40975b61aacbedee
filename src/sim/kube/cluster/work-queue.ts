import type { Activity } from './activity.js';

/**
 * A de-duplicating queue of keys processed in batches on the next turn of the event loop. Store
 * listeners only enqueue (they run inside a store write); the batch handler does the writes.
 */
export class WorkQueue {
  private readonly keys = new Set<string>();
  private endActivity: (() => void) | undefined;
  private stopped = false;

  constructor(
    private readonly activity: Activity,
    private readonly handle: (keys: string[]) => void,
    private readonly onError: (err: unknown) => void,
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    this.keys.add(key);
    if (this.endActivity) return;
    this.endActivity = this.activity.begin();
    setImmediate(() => this.flush());
  }

  private flush(): void {
    const end = this.endActivity;
    this.endActivity = undefined;
    const keys = [...this.keys];
    this.keys.clear();
    try {
      if (!this.stopped && keys.length > 0) this.handle(keys);
    } catch (err) {
      this.onError(err);
    } finally {
      end?.();
    }
  }

  stop(): void {
    this.stopped = true;
    this.keys.clear();
  }
}
