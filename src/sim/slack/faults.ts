/** Injected Web API failures: the next N calls are rate limited (429 + Retry-After) or fail with a 5xx. */
import type { SlackFaults } from './types.js';

export type InjectedFault =
  { kind: 'rate-limited'; retryAfterSeconds: number } | { kind: 'failed'; status: number };

export class FaultState implements SlackFaults {
  private queue: InjectedFault[] = [];
  private slow: Array<{ method?: string; ms: number }> = [];

  /**
   * The next `count` calls (of `method`, or any) are carried out — a post is stored — but their answer is
   * held back `ms`: what a caller sees when Slack is slow, or when the caller dies before the answer comes.
   */
  slowNext(count: number, ms: number, method?: string): void {
    const n = Math.max(0, Math.floor(count));
    this.slow.push(...Array.from({ length: n }, () => ({ ms: Math.max(0, ms), ...(method && { method }) })));
  }

  /** How long to hold back the answer of this call (0: at once). */
  takeDelay(method: string): number {
    const i = this.slow.findIndex((s) => s.method === undefined || s.method === method);
    if (i < 0) return 0;
    return this.slow.splice(i, 1)[0].ms;
  }

  rateLimitNext(count: number, retryAfterSeconds: number): void {
    const retry = Math.max(0, Math.floor(retryAfterSeconds));
    this.queue.push(...Array.from({ length: Math.max(0, Math.floor(count)) }, () => this.rl(retry)));
  }

  failNext(count: number, status = 500): void {
    const fault: InjectedFault = { kind: 'failed', status };
    this.queue.push(...Array.from({ length: Math.max(0, Math.floor(count)) }, () => fault));
  }

  reset(): void {
    this.queue = [];
    this.slow = [];
  }

  /** The fault for the call being answered now, if one is queued. */
  take(): InjectedFault | undefined {
    return this.queue.shift();
  }

  private rl(retryAfterSeconds: number): InjectedFault {
    return { kind: 'rate-limited', retryAfterSeconds };
  }
}
