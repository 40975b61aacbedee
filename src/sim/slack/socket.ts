/**
 * Socket Mode, as Slack runs it for an app with an app-level token (xapp-…): `apps.connections.open`
 * hands out a single-use WebSocket URL; the socket says `hello` at once, pings now and then, and carries
 * envelopes `{envelope_id, type, payload, accepts_response_payload}` the app must ack with
 * `{envelope_id, payload}` within 3 s. `disconnect` asks the app to reconnect; `drop()` cuts the sockets.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { z } from 'zod';
import type { Delivery } from './deliver.js';
import { APP_ID } from './seed.js';
import type { SocketEnvelopeRecord } from './types.js';

export const SOCKET_PATH = '/emulator/socket/';
/** A URL from apps.connections.open is good for one connection, for this long. */
const TICKET_TTL_MS = 30_000;
/** Slack pings every socket; @slack/socket-mode disconnects when pings stop for 30 s after the first. */
const PING_INTERVAL_MS = 10_000;

export type EnvelopeType = 'slash_commands' | 'interactive' | 'events_api';
export type DisconnectReason = 'refresh_requested' | 'warning' | 'link_disabled';

const ackSchema = z.object({
  envelope_id: z.string().min(1),
  payload: z.record(z.string(), z.unknown()).optional(),
});

interface Pending {
  record: SocketEnvelopeRecord;
  resolve(delivery: Delivery): void;
  timer: NodeJS.Timeout;
}

export interface SocketModeOptions {
  /** The ack window, counted from the moment the envelope is written to a socket (Slack: 3,000 ms). */
  ackTimeoutMs: number;
  /** How long an envelope waits for the app to (re)connect when no socket is open, then dispatch_failed. */
  holdMs: number;
  baseUrl(): string;
  /** Called when a socket opens or closes (the page shows whether the app is connected). */
  onConnections?(open: number): void;
}

export class SocketModeServer {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 2 * 1024 * 1024 });
  private readonly tickets = new Map<string, number>();
  private readonly sockets = new Set<WebSocket>();
  private readonly pending = new Map<string, Pending>();
  private readonly records: SocketEnvelopeRecord[] = [];
  private readonly waitingForSocket = new Set<() => void>();
  private readonly protocolErrors: string[] = [];
  private opens = 0;
  private accepted = 0;
  private next = 0;
  private readonly pinger: NodeJS.Timeout;

  constructor(private readonly opts: SocketModeOptions) {
    this.pinger = setInterval(() => {
      for (const ws of this.sockets) if (ws.readyState === WebSocket.OPEN) ws.ping('emulator');
    }, PING_INTERVAL_MS);
    this.pinger.unref();
  }

  /** apps.connections.open: a fresh single-use URL. */
  open(): string {
    const now = Date.now();
    for (const [t, at] of this.tickets) if (now - at > TICKET_TTL_MS) this.tickets.delete(t);
    const ticket = randomBytes(12).toString('hex');
    this.tickets.set(ticket, now);
    this.opens += 1;
    const base = this.opts.baseUrl().replace(/^http/, 'ws');
    return `${base}${SOCKET_PATH}${ticket}?app_id=${APP_ID}`;
  }

  /** The server's `upgrade` event; refuses unknown, used and expired tickets as Slack does (HTTP 401). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://emulator.invalid');
    const ticket = url.pathname.startsWith(SOCKET_PATH) ? url.pathname.slice(SOCKET_PATH.length) : '';
    const issued = this.tickets.get(ticket);
    this.tickets.delete(ticket);
    if (issued === undefined || Date.now() - issued > TICKET_TTL_MS) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
  }

  /** Sends one envelope and resolves with the app's ack (or why there was none); never rejects. */
  async deliver(type: EnvelopeType, payload: Record<string, unknown>): Promise<Delivery> {
    const record: SocketEnvelopeRecord = {
      envelope_id: randomBytes(16).toString('hex'),
      type,
      queuedAt: Date.now(),
      acks: 0,
    };
    this.records.push(record);
    const ws = await this.socketFor();
    if (!ws) {
      record.failed = 'dispatch_failed';
      return {
        status: 0,
        error: {
          code: 'dispatch_failed',
          detail: `the app has no open Socket Mode connection (waited ${this.opts.holdMs} ms)`,
        },
      };
    }
    return new Promise<Delivery>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(record.envelope_id);
        record.failed = 'operation_timeout';
        resolve({
          status: 0,
          error: {
            code: 'operation_timeout',
            detail: `the app did not ack envelope ${record.envelope_id} within ${this.opts.ackTimeoutMs} ms`,
          },
        });
      }, this.opts.ackTimeoutMs);
      this.pending.set(record.envelope_id, { record, resolve, timer });
      record.sentAt = Date.now();
      ws.send(
        JSON.stringify({
          envelope_id: record.envelope_id,
          type,
          payload,
          accepts_response_payload: type === 'slash_commands',
          ...(type === 'events_api' ? { retry_attempt: 0, retry_reason: '' } : {}),
        }),
      );
    });
  }

  /** Sends `{type: "disconnect", reason}` to every open socket; the app should reconnect. Returns how many. */
  disconnect(reason: DisconnectReason = 'refresh_requested'): number {
    let n = 0;
    for (const ws of this.sockets) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'slack-emulator' } }));
      n += 1;
    }
    return n;
  }

  /** Cuts every socket without a close frame (a network drop). Returns how many. */
  drop(): number {
    const n = this.sockets.size;
    for (const ws of this.sockets) ws.terminate();
    this.sockets.clear();
    if (n > 0) this.opts.onConnections?.(0);
    return n;
  }

  get connections(): number {
    return [...this.sockets].filter((ws) => ws.readyState === WebSocket.OPEN).length;
  }

  /** How many apps.connections.open calls succeeded, and how many sockets were accepted. */
  stats(): { opened: number; accepted: number; connections: number; protocolErrors: string[] } {
    return {
      opened: this.opens,
      accepted: this.accepted,
      connections: this.connections,
      protocolErrors: [...this.protocolErrors],
    };
  }

  envelopes(): SocketEnvelopeRecord[] {
    return this.records.map((r) => ({ ...r }));
  }

  /** Resolves until a socket opens (or an envelope's hold ends). */
  waitForConnection(timeoutMs: number): Promise<boolean> {
    if (this.connections > 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.waitingForSocket.delete(wake);
        resolve(ok);
      };
      const wake = () => done(true);
      const timer = setTimeout(() => done(this.connections > 0), timeoutMs);
      this.waitingForSocket.add(wake);
    });
  }

  close(): void {
    clearInterval(this.pinger);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.resolve({ status: 0, error: { code: 'dispatch_failed', detail: 'the emulator is closing' } });
    }
    this.pending.clear();
    for (const wake of [...this.waitingForSocket]) wake();
    for (const ws of this.sockets) ws.terminate();
    this.sockets.clear();
    this.wss.close();
  }

  private async socketFor(): Promise<WebSocket | undefined> {
    if (this.connections === 0 && !(await this.waitForConnection(this.opts.holdMs))) return undefined;
    const open = [...this.sockets].filter((ws) => ws.readyState === WebSocket.OPEN);
    if (open.length === 0) return undefined;
    // Slack spreads envelopes over an app's connections.
    return open[this.next++ % open.length];
  }

  private accept(ws: WebSocket): void {
    this.sockets.add(ws);
    this.accepted += 1;
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary));
    const gone = () => {
      if (this.sockets.delete(ws)) this.opts.onConnections?.(this.connections);
    };
    ws.on('close', gone);
    ws.on('error', gone);
    // Slack's first frame; @slack/socket-mode's start() resolves on it.
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.connections,
        debug_info: { host: 'slack-emulator', approximate_connection_time: 18060 },
        connection_info: { app_id: APP_ID },
      }),
    );
    for (const wake of [...this.waitingForSocket]) wake();
    this.opts.onConnections?.(this.connections);
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (isBinary) return void this.protocolErrors.push('binary frame');
    let json: unknown;
    try {
      json = JSON.parse(data.toString());
    } catch {
      return void this.protocolErrors.push('a frame that is not JSON');
    }
    const parsed = ackSchema.safeParse(json);
    if (!parsed.success) return void this.protocolErrors.push('a frame without envelope_id');
    const id = parsed.data.envelope_id;
    const record = this.records.find((r) => r.envelope_id === id);
    if (!record) return void this.protocolErrors.push(`ack of unknown envelope ${id}`);
    record.acks += 1;
    const pending = this.pending.get(id);
    if (!pending) {
      // Too late (Slack already told the person) or a second ack.
      if (record.acks > 1) this.protocolErrors.push(`envelope ${id} acked ${record.acks} times`);
      else record.lateAckAt = Date.now();
      return;
    }
    clearTimeout(pending.timer);
    this.pending.delete(id);
    record.ackedAt = Date.now();
    const payload = parsed.data.payload;
    const ack = payload && Object.keys(payload).length > 0 ? payload : undefined;
    record.ackPayload = ack;
    pending.resolve({ status: 200, ...(ack === undefined ? {} : { ack }) });
  }
}
