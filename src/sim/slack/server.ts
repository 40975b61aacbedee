/** The emulator's HTTP server: routes to the Web API, the JSON interface, response URLs, SSE and the page. */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BodyTooLargeError, readBody, sendJson, sendText } from './http.js';
import type { Interactions } from './interactions.js';
import type { JsonApi } from './json-api.js';
import type { LiveUpdates } from './live.js';
import { renderPage } from './page/index.js';
import type { SocketModeServer } from './socket.js';
import type { SlackStore } from './store.js';
import type { WebApi } from './web-api.js';

export interface ServerDeps {
  store: SlackStore;
  webApi: WebApi;
  jsonApi: JsonApi;
  interactions: Interactions;
  live: LiveUpdates;
  /** Socket Mode (an appToken was given): WebSocket upgrades to /emulator/socket/<ticket>. */
  socket?: SocketModeServer;
}

/** Nothing outside this document may run or load: message text is hostile input (pod names, events). */
function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

async function route(deps: ServerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://emulator.invalid');
  const path = url.pathname;
  const method = req.method ?? 'GET';

  if (path.startsWith('/api/')) {
    const rawBody = method === 'GET' ? url.searchParams.toString() : await readBody(req);
    const contentType = method === 'GET' ? 'application/x-www-form-urlencoded' : req.headers['content-type'];
    const result = deps.webApi.handle(path.slice('/api/'.length), req.headers, contentType, rawBody);
    if (result.delayMs) await new Promise((r) => setTimeout(r, result.delayMs));
    return sendJson(res, result.status, result.body, result.headers);
  }
  if (path === '/emulator/api/events' && method === 'GET')
    return deps.live.open(req, res, deps.store.version);
  if (path.startsWith('/emulator/api/')) {
    const rawBody = method === 'POST' ? await readBody(req) : '';
    const result = await deps.jsonApi.handle(
      method,
      path.slice('/emulator/api/'.length),
      url.searchParams,
      rawBody,
    );
    return sendJson(res, result.status, result.body);
  }
  if (path.startsWith('/emulator/response/')) {
    if (method !== 'POST') return sendJson(res, 405, { ok: false, error: 'method_not_allowed' });
    const result = deps.interactions.respond(path.slice('/emulator/response/'.length), await readBody(req));
    return sendJson(res, result.status, result.body);
  }
  if (path === '/emulator/healthz') return sendText(res, 200, 'ok');
  const permalink = /^\/archives\/([A-Z0-9]+)\/p(\d{10})(\d{6})$/.exec(path);
  if (permalink && method === 'GET') {
    const [, channel, seconds, micros] = permalink;
    const thread = url.searchParams.get('thread_ts') ?? `${seconds}.${micros}`;
    const target = `/?channel=${encodeURIComponent(channel)}&thread=${encodeURIComponent(thread)}`;
    res.writeHead(302, { Location: target, 'Content-Length': 0 });
    return void res.end();
  }
  if ((path === '/' || path === '/index.html') && (method === 'GET' || method === 'HEAD')) {
    const nonce = randomBytes(16).toString('base64');
    return sendText(res, 200, renderPage(nonce), 'text/html; charset=utf-8', {
      'Content-Security-Policy': contentSecurityPolicy(nonce),
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
    });
  }
  if (path === '/favicon.ico') return void res.writeHead(204).end();
  return sendJson(res, 404, { ok: false, error: `not found: ${method} ${path}` });
}

export function createEmulatorServer(deps: ServerDeps): Server {
  const server = createServer((req, res) => {
    route(deps, req, res).catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (err instanceof BodyTooLargeError) return sendJson(res, 413, { ok: false, error: err.message });
      sendJson(res, 500, { ok: false, error: `internal error: ${(err as Error).message}` });
    });
  });
  server.on('upgrade', (req, socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (deps.socket) return deps.socket.upgrade(req, socket, head);
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  return server;
}

export function listen(server: Server, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address() as AddressInfo;
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      resolve(`http://${shownHost}:${address.port}`);
    });
  });
}
