/**
 * Queue inspection: Bull Board (read-only) under /admin/queues on the health server, behind HTTP basic auth.
 * Off unless FLANNEL_OPS_ADMIN_USER and FLANNEL_OPS_ADMIN_PASSWORD are both set. Read-only because a job of
 * the lifecycle queue is an approved step or a verification: retrying or removing one by hand would bypass
 * the approval policy and the one-run-only guarantees.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';

export const QUEUE_BOARD_PATH = '/admin/queues';

export interface AdminCredentials {
  user: string;
  password: string;
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * Whether an Authorization header carries these credentials. Digests of equal length are compared in
 * constant time, so neither the length nor a common prefix of the password shows in the timing.
 */
export function basicAuthMatches(header: string | undefined, expected: AdminCredentials): boolean {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) return false;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  const userOk = timingSafeEqual(digest(decoded.slice(0, colon)), digest(expected.user));
  const passwordOk = timingSafeEqual(digest(decoded.slice(colon + 1)), digest(expected.password));
  return userOk && passwordOk;
}

/** A handler for every request under QUEUE_BOARD_PATH: 401 without the credentials, else Bull Board. */
export function queueBoardHandler(
  queues: readonly Queue[],
  credentials: AdminCredentials,
): (req: IncomingMessage, res: ServerResponse) => void {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(QUEUE_BOARD_PATH);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: true })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'flannel-ops queues' } },
  });
  // An Express application: called as a function, with paths relative to where it is mounted.
  const board = serverAdapter.getRouter() as (
    req: IncomingMessage,
    res: ServerResponse,
    next: (err?: unknown) => void,
  ) => void;
  return (req, res) => {
    if (!basicAuthMatches(req.headers.authorization, credentials)) {
      res.writeHead(401, {
        'www-authenticate': 'Basic realm="flannel-ops queues", charset="UTF-8"',
        'content-type': 'application/json',
        'cache-control': 'no-store',
      });
      res.end(JSON.stringify({ ok: false, reason: 'authentication required' }));
      return;
    }
    const url = req.url ?? '/';
    req.url = url.slice(QUEUE_BOARD_PATH.length) || '/';
    if (!req.url.startsWith('/')) req.url = `/${req.url}`;
    board(req, res, (err?: unknown) => {
      if (res.headersSent) return res.end();
      res.writeHead(err ? 500 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: false, reason: err ? 'queue board error' : 'not found' }));
    });
  };
}
