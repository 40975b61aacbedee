/**
 * Runs one diagnosis check (gather, then evaluate) so that it always yields a CheckResult: a thrown
 * error, an API error or a timeout becomes status 'error' with a reason a person can act on. The
 * `retryable` flag tells the queue whether trying again could help (API 5xx/429, connection resets,
 * timeouts); the rest of the diagnosis never depends on a check succeeding.
 */
import type { CheckContext, CheckDefinition, CheckResult } from '../checks/types.js';
import { readApiError } from '../kube/api-error.js';

export const DEFAULT_CHECK_TIMEOUT_MS = 30_000;

export interface RunCheckOptions {
  /** Gather and evaluate together must finish within this (default 30 s). */
  timeoutMs?: number;
  /** Cancels the check from outside (e.g. the worker is shutting down). */
  signal?: AbortSignal;
  now?: () => number;
}

export interface CheckRun {
  result: CheckResult;
  /** True when the check errored for a reason that may go away on its own, so a retry is worthwhile. */
  retryable: boolean;
}

// Node/undici network errors that mean "the connection broke", not "the request was wrong".
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

class CheckTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`timed out after ${formatSeconds(timeoutMs)}`);
    this.name = 'CheckTimeoutError';
  }
}

export async function runCheck<F>(
  check: CheckDefinition<F>,
  ctx: CheckContext,
  opts: RunCheckOptions = {},
): Promise<CheckRun> {
  const now = opts.now ?? Date.now;
  const started = now();
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const controller = new AbortController();
  const abortFromOutside = () => controller.abort(opts.signal?.reason);
  if (opts.signal?.aborted) abortFromOutside();
  else opts.signal?.addEventListener('abort', abortFromOutside, { once: true });

  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new CheckTimeoutError(timeoutMs);
      reject(err);
      controller.abort(err);
    }, timeoutMs);
  });
  const cancelled = new Promise<never>((_, reject) => {
    const onAbort = () => {
      const reason: unknown = controller.signal.reason;
      reject(reason instanceof CheckTimeoutError ? reason : new Error('cancelled'));
    };
    if (controller.signal.aborted) onAbort();
    else controller.signal.addEventListener('abort', onAbort, { once: true });
  });
  // The losing promises must not surface as unhandled rejections.
  timedOut.catch(() => undefined);
  cancelled.catch(() => undefined);

  const work = (async () => {
    const facts = await check.gather({ ...ctx, signal: controller.signal });
    return check.evaluate(facts, ctx.params);
  })();
  work.catch(() => undefined);

  try {
    const evaluated = await Promise.race([work, timedOut, cancelled]);
    return {
      result: { ...evaluated, id: check.id, durationMs: now() - started },
      retryable: false,
    };
  } catch (err) {
    const failure = describeCheckFailure(err);
    return {
      result: {
        id: check.id,
        status: 'error',
        summary: `${check.title}: could not run (${failure.reason})`,
        evidence: [failure.reason],
        findings: [],
        durationMs: now() - started,
      },
      retryable: failure.retryable,
    };
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', abortFromOutside);
  }
}

/** Why a check could not run, in one line, and whether it is worth another attempt. */
export function describeCheckFailure(err: unknown): { reason: string; retryable: boolean } {
  if (err instanceof CheckTimeoutError) return { reason: err.message, retryable: true };
  const api = readApiError(err);
  if (api.code !== undefined) {
    const detail = oneLine(api.message ?? api.reason ?? api.rawBody ?? '').slice(0, 300);
    return {
      reason: `API answered ${api.code}${detail ? `: ${detail}` : ''}`,
      retryable: api.code >= 500 || api.code === 429,
    };
  }
  const networkCode = networkErrorCode(err);
  if (networkCode) {
    const message = err instanceof Error ? err.message : String(err);
    return {
      reason: message.includes(networkCode) ? message : `${networkCode}: ${message}`,
      retryable: TRANSIENT_NETWORK_CODES.has(networkCode),
    };
  }
  if (err instanceof Error) {
    if (err.name === 'AbortError' || err.message === 'cancelled')
      return { reason: 'cancelled', retryable: false };
    return { reason: oneLine(err.message || err.name), retryable: false };
  }
  return { reason: oneLine(String(err)), retryable: false };
}

function networkErrorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z_]+$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}
