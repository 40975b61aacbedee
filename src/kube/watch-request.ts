import http from 'node:http';
import https from 'node:https';
import type * as k8s from '@kubernetes/client-node';
import { JsonLineSplitter } from './json-lines.js';
import { kubeConnection } from './lean-request.js';

export interface WatchRequestOptions {
  kubeConfig: k8s.KubeConfig;
  /** API path, e.g. `/api/v1/events`. */
  path: string;
  /** Query parameters besides `watch=true`; undefined values are left out. */
  query: Record<string, string | number | boolean | undefined>;
  signal: AbortSignal;
  /** One watch event (`type` ADDED/MODIFIED/DELETED/BOOKMARK/ERROR and its object). */
  onEvent(type: string, object: Record<string, unknown>): void;
  /** The stream ended: null for a clean end (server closed it, or the signal aborted it), else the error. */
  onClose(err: Error | null): void;
}

/** A watch the server refused (non-200), shaped like client-node's API errors for describeKubeError. */
export class WatchStatusError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: string,
  ) {
    super(
      `watch answered ${statusCode}${http.STATUS_CODES[statusCode] ? ` ${http.STATUS_CODES[statusCode]}` : ''}`,
    );
    this.name = 'WatchStatusError';
  }
}

const ERROR_BODY_MAX_BYTES = 64 * 1024;

/**
 * Opens a watch and streams its events; resolves once the server accepted it (200), rejects if it did not.
 *
 * The same request client-node's Watch makes (URL from the current cluster, auth headers and TLS agent from
 * KubeConfig.applyToFetchOptions via kubeConnection, so tokens, client certificates, exec plugins and proxies behave the same),
 * read with a Buffer line splitter instead of node-fetch + readline: at event-storm rates the stream reader
 * was a large share of the bot's CPU per event.
 */
export async function openWatch(opts: WatchRequestOptions): Promise<void> {
  // Asked for per watch: exec and OIDC credentials may have been refreshed since the last one.
  const { url, headers, agent } = await kubeConnection(opts.kubeConfig, opts.path, {
    watch: 'true',
    ...opts.query,
  });
  opts.signal.throwIfAborted();

  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let closed = false;
    const close = (err: Error | null) => {
      if (closed) return;
      closed = true;
      opts.onClose(err && err.name === 'AbortError' ? null : err);
    };
    const transport = url.protocol === 'https:' ? https : http;
    const req = transport.request(url, {
      method: 'GET',
      headers,
      agent,
      signal: opts.signal,
    });
    req.on('socket', (socket) => socket.setKeepAlive(true, 30_000));
    req.on('error', (err) => {
      if (!settled) {
        settled = true;
        reject(err);
      } else close(err);
    });
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < ERROR_BODY_MAX_BYTES) chunks.push(chunk);
          size += chunk.length;
        });
        res.on('end', () => {
          settled = true;
          reject(new WatchStatusError(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')));
        });
        return;
      }
      settled = true;
      resolve();
      const lines = new JsonLineSplitter((value) => {
        if (typeof value !== 'object' || value === null) return;
        const { type, object } = value as { type?: unknown; object?: unknown };
        if (typeof type !== 'string' || typeof object !== 'object' || object === null) return;
        opts.onEvent(type, object as Record<string, unknown>);
      });
      res.on('data', (chunk: Buffer) => {
        try {
          lines.push(chunk);
        } catch (err) {
          req.destroy(err as Error);
        }
      });
      res.on('end', () => {
        lines.end();
        close(null);
      });
      res.on('error', (err) => close(err));
      res.on('close', () =>
        close(opts.signal.aborted ? null : res.complete ? null : new Error('watch connection closed')),
      );
    });
    req.end();
  });
}
