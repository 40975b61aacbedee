/**
 * What a Kubernetes API error says, whatever shape it arrives in: client-node's ApiException (`code` + `body`),
 * our watch reader's WatchStatusError (`statusCode` + `body`), with the body a Status object or its JSON text.
 * Each caller words the result for its own audience; the reading lives here once.
 */
export interface ApiErrorInfo {
  /** The HTTP status, when the error is an API answer. */
  code?: number;
  /** Status.reason, e.g. Forbidden, NotFound. */
  reason?: string;
  /** Status.message, e.g. `pods "x" is forbidden: ...`. */
  message?: string;
  /** The body as sent when it is not a JSON Status (trimmed). */
  rawBody?: string;
}

export function readApiError(err: unknown): ApiErrorInfo {
  const e = (err ?? {}) as { code?: unknown; statusCode?: unknown; body?: unknown };
  const status =
    typeof e.code === 'number' ? e.code : typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const info: ApiErrorInfo = status !== undefined && status >= 100 && status < 600 ? { code: status } : {};
  let body = e.body;
  if (typeof body === 'string') {
    const text = body.trim();
    try {
      body = JSON.parse(text);
    } catch {
      if (text) info.rawBody = text;
      return info;
    }
  }
  if (body && typeof body === 'object') {
    const { reason, message } = body as { reason?: unknown; message?: unknown };
    if (typeof reason === 'string' && reason) info.reason = reason;
    if (typeof message === 'string' && message) info.message = message;
  }
  return info;
}
