/**
 * Counts the simulator's in-flight work (queued reconciles, pod start-ups, running probe processes) so
 * `settle()` can wait until the cluster has nothing left to do except wait for retry timers.
 */
export class Activity {
  private pending = 0;
  private waiters: Array<() => void> = [];

  begin(): () => void {
    this.pending++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.pending--;
      if (this.pending === 0) this.wakeIfStillIdle();
    };
  }

  /** Runs `fn` as tracked work; the returned promise never rejects (errors go to `onError`). */
  track(fn: () => Promise<void> | void, onError: (err: unknown) => void): Promise<void> {
    const end = this.begin();
    return (async () => {
      try {
        await fn();
      } catch (err) {
        onError(err);
      } finally {
        end();
      }
    })();
  }

  get busy(): boolean {
    return this.pending > 0;
  }

  /** Resolves once no work has been pending across a full turn of the event loop. */
  idle(): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      if (this.pending === 0) this.wakeIfStillIdle();
    });
  }

  private wakeIfStillIdle(): void {
    // Work is often enqueued synchronously by the store listener right after other work ends:
    // look again after I/O callbacks and immediates have run.
    setImmediate(() =>
      setTimeout(() => {
        if (this.pending > 0) return;
        const waiters = this.waiters;
        this.waiters = [];
        for (const w of waiters) w();
      }, 5),
    );
  }
}
