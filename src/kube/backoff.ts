/**
 * Capped exponential backoff with full jitter: attempt 1 waits up to `baseMs`, each further attempt doubles the
 * ceiling up to `maxMs`. Jitter keeps many bot replicas (or many clusters) from reconnecting in lockstep.
 */
export function backoffDelay(
  attempt: number,
  { baseMs, maxMs }: { baseMs: number; maxMs: number } = { baseMs: 500, maxMs: 30_000 },
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  // Never less than a tenth of the ceiling, so a failing API is not hammered.
  return Math.round(ceiling * (0.1 + 0.9 * random()));
}
