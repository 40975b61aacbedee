/**
 * Slack's default pacing of the write methods, so a bot that writes faster than Slack allows is answered
 * 429 + Retry-After here as it would be there (shared/domain/stack.md §1.6): chat.postMessage about one
 * message per second per channel with a short burst, chat.update Tier 3 (50/min), chat.postEphemeral
 * Tier 4 (100/min). GCRA per scope; only calls that were let through count.
 */

interface Limit {
  /** Average spacing of calls. */
  intervalMs: number;
  /** How many calls may come back to back. */
  burst: number;
}

export const SLACK_LIMITS: Record<string, { perChannel: boolean; limit: Limit }> = {
  'chat.postMessage': { perChannel: true, limit: { intervalMs: 1000, burst: 4 } },
  'chat.update': { perChannel: false, limit: { intervalMs: 1200, burst: 50 } },
  'chat.postEphemeral': { perChannel: false, limit: { intervalMs: 600, burst: 100 } },
};

export class RateLimits {
  /** Theoretical arrival time per scope. */
  private readonly tat = new Map<string, number>();

  constructor(
    private readonly enabled: boolean,
    private readonly now: () => number = Date.now,
  ) {}

  /** 0 when the call may go ahead (and is counted), else the Retry-After in whole seconds (≥ 1). */
  take(method: string, channel: string | undefined): number {
    const rule = SLACK_LIMITS[method];
    if (!this.enabled || !rule) return 0;
    const scope = rule.perChannel ? `${method}:${channel ?? ''}` : method;
    const now = this.now();
    const { intervalMs, burst } = rule.limit;
    const tat = Math.max(this.tat.get(scope) ?? now, now);
    const next = tat + intervalMs;
    const over = next - now - intervalMs * burst;
    if (over > 0) return Math.max(1, Math.ceil(over / 1000));
    this.tat.set(scope, next);
    return 0;
  }
}
