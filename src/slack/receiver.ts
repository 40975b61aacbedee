/**
 * The Slack HTTP receiver with a guard in front of Bolt's request handling.
 *
 * Bolt 5.1.0's HTTPReceiver reads `body.ssl_check` outside any try: a correctly signed request whose body
 * is JSON `null` (or the form `payload=null`) throws inside a detached promise and the process exits with
 * every watcher and worker. Bolt also refuses only *old* timestamps; a request dated in the future stays
 * replayable until that time has passed. The guard buffers the body (Bolt reuses the buffer), refuses a
 * timestamp more than 5 minutes away in either direction or a bad signature with 401, and a signed body
 * that is not a JSON object with 400; everything else goes to Bolt unchanged.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  defaultBodyLimit,
  HTTPModuleFunctions,
  HTTPReceiver,
  isValidSlackRequest,
  LogLevel,
} from '@slack/bolt';
import type { HTTPReceiverOptions } from '@slack/bolt';
import { parse as parseQuery } from 'node:querystring';
import { log } from '../util/log.js';

const logger = log.child({ module: 'slack-receiver' });

/** Slack's replay window (https://api.slack.com/authentication/verifying-requests-from-slack). */
export const MAX_CLOCK_SKEW_SECONDS = 5 * 60;

export interface GuardedReceiverOptions {
  signingSecret: string;
  /** Default '/slack/events'. */
  endpoint?: string;
  customRoutes?: HTTPReceiverOptions['customRoutes'];
  /** Default 4 MB, Bolt's own limit. */
  bodyLimit?: number;
  /** For tests of the clock rules. */
  now?(): number;
}

type Verdict = { ok: true } | { ok: false; status: 400 | 401 | 413; reason: string };

/** An HTTPReceiver whose POSTs to the Slack endpoint pass the guard before Bolt sees them. */
export function createSlackReceiver(opts: GuardedReceiverOptions): HTTPReceiver {
  const endpoint = opts.endpoint ?? '/slack/events';
  const bodyLimit = opts.bodyLimit ?? defaultBodyLimit;
  const receiver = new HTTPReceiver({
    signingSecret: opts.signingSecret,
    endpoints: endpoint,
    ...(opts.customRoutes && { customRoutes: opts.customRoutes }),
    bodyLimit,
    logLevel: LogLevel.ERROR,
  });
  // requestListener is what the receiver's server calls for every request (HTTPReceiver.start).
  const bolt = receiver.requestListener;
  const now = opts.now ?? Date.now;
  receiver.requestListener = (req: IncomingMessage, res: ServerResponse) => {
    const path = safePath(req.url);
    if (path !== endpoint || req.method?.toUpperCase() !== 'POST') return bolt(req, res);
    void guard(req, opts.signingSecret, bodyLimit, now()).then(
      (verdict) => {
        if (verdict.ok) return bolt(req, res);
        logger.warn('slack request refused', { status: verdict.status, reason: verdict.reason });
        refuse(res, verdict.status);
      },
      (err: unknown) => {
        logger.warn('slack request could not be handled', { err });
        refuse(res, 400);
      },
    );
  };
  return receiver;
}

async function guard(
  req: IncomingMessage,
  signingSecret: string,
  bodyLimit: number,
  nowMs: number,
): Promise<Verdict> {
  let raw: Buffer;
  try {
    raw = (await HTTPModuleFunctions.bufferIncomingMessage(req, bodyLimit)).rawBody;
  } catch (err) {
    const tooLarge =
      HTTPModuleFunctions.isRawBodyError(err) && (err as { statusCode: number }).statusCode === 413;
    return tooLarge
      ? { ok: false, status: 413, reason: `body over ${bodyLimit} bytes` }
      : { ok: false, status: 400, reason: 'body could not be read' };
  }
  const text = raw.toString('utf8');
  const form = isForm(req);
  // Slack's ssl_check needs no signature; Bolt answers it and strips anything else from the body.
  if (form && parseQuery(text).ssl_check === '1') return { ok: true };

  const timestamp = Number(header(req, 'x-slack-request-timestamp'));
  const signature = header(req, 'x-slack-signature');
  if (!Number.isFinite(timestamp) || signature === undefined) {
    return { ok: false, status: 401, reason: 'signature headers missing' };
  }
  if (Math.abs(Math.floor(nowMs / 1000) - timestamp) > MAX_CLOCK_SKEW_SECONDS) {
    return { ok: false, status: 401, reason: 'timestamp more than 5 minutes away from now' };
  }
  const signed = isValidSlackRequest({
    signingSecret,
    body: text,
    headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': timestamp },
    nowMilliseconds: nowMs,
  });
  if (!signed) return { ok: false, status: 401, reason: 'signature mismatch' };

  const body = parseSlackBody(text, form);
  if (!body.ok) return { ok: false, status: 400, reason: body.reason };
  return { ok: true };
}

/**
 * The body as Bolt will parse it (HTTPModuleFunctions.parseHTTPRequestBody: JSON, or a form whose `payload`
 * field is JSON), accepted only when it is a JSON object. Never throws.
 */
export function parseSlackBody(
  text: string,
  form: boolean,
): { ok: true; body: Record<string, unknown> } | { ok: false; reason: string } {
  let body: unknown;
  try {
    if (form) {
      const query = parseQuery(text);
      body = typeof query.payload === 'string' ? JSON.parse(query.payload) : query;
    } else {
      body = JSON.parse(text);
    }
  } catch {
    return { ok: false, reason: form ? 'form payload is not JSON' : 'body is not JSON' };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, reason: 'body is not a JSON object' };
  }
  return { ok: true, body: body as Record<string, unknown> };
}

/** Bolt compares the content type exactly; so does the guard, so both read the body the same way. */
function isForm(req: IncomingMessage): boolean {
  return req.headers['content-type'] === 'application/x-www-form-urlencoded';
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
}

function safePath(url: string | undefined): string | undefined {
  try {
    return new URL(url ?? '/', 'http://localhost').pathname;
  } catch {
    return undefined;
  }
}

function refuse(res: ServerResponse, status: number): void {
  if (res.headersSent) return;
  res.writeHead(status);
  res.end();
}
