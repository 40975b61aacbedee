/** Injected Web API failures: the next N calls are rate limited (429 + Retry-After) or fail with a 5xx. */
import type { SlackFaults } from './types.js';

export type InjectedFault =
  { kind: 'rate-limited'; retryAfterSeconds: number } | { kind: 'failed'; status: number };

export class FaultState implements SlackFaults {
  private queue: InjectedFault[] = [];

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
  }

  /** The fault for the call being answered now, if one is queued. */
  take(): InjectedFault | undefined {
    return this.queue.shift();
  }

  private rl(retryAfterSeconds: number): InjectedFault {
    return { kind: 'rate-limited', retryAfterSeconds };
  }
}
