import http from 'node:http';
import https from 'node:https';
import { createHash } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';

/**
 * Plain JSON requests against the API server: the same request client-node's typed APIs make (URL from the
 * current cluster; auth headers, client certificates, exec plugins and proxies from
 * KubeConfig.applyToFetchOptions), answered as plain JSON. The typed APIs build model objects for every item (a
 * second copy of every list, and ~50 MB of generated code once loaded); the watch path and the diagnosis' reads
 * use these instead (kube/lean-api.ts), and the typed APIs load only for what has no lean form.
 */

/**
 * An API answer other than 2xx, shaped like client-node's ApiException (`code` + `body`) and our watch errors
 * (`statusCode`), so readApiError, describeKubeError and every 404 test read it the same way.
 */
export class KubeStatusError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: string,
    path: string,
    method = 'GET',
  ) {
    super(
      `${method} ${path} answered ${statusCode}${http.STATUS_CODES[statusCode] ? ` ${http.STATUS_CODES[statusCode]}` : ''}`,
    );
    this.name = 'KubeStatusError';
  }

  /** The HTTP status, under the name client-node's ApiException gives it. */
  get code(): number {
    return this.statusCode;
  }
}

const MAX_BODY_BYTES = 64 * 2 ** 20;

export interface KubeConnection {
  url: URL;
  headers: Record<string, string>;
  agent: http.Agent | undefined;
}

/** URL, headers and agent for one request to `path` (asked for each time: credentials may be refreshed). */
export async function kubeConnection(
  kubeConfig: KubeConfig,
  path: string,
  query: Record<string, string | number | boolean | undefined>,
): Promise<KubeConnection> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('No currently active cluster');
  const url = new URL(cluster.server + path);
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) url.searchParams.set(key, String(value));
  }
  const init = await kubeConfig.applyToFetchOptions({});
  const headers: Record<string, string> = { accept: 'application/json' };
  (init.headers as unknown as { forEach(fn: (value: string, key: string) => void): void }).forEach(
    (value, key) => (headers[key] = value),
  );
  return { url, headers, agent: reusableAgent(kubeConfig, init.agent as http.Agent | undefined) };
}

/** TLS settings an agent is made for: while they stay the same, one agent serves the cluster. */
const AGENT_SETTINGS = [
  'ca',
  'cert',
  'key',
  'pfx',
  'passphrase',
  'rejectUnauthorized',
  'servername',
] as const;
const agents = new WeakMap<KubeConfig, { settings: string; agent: http.Agent }>();

/**
 * client-node makes a new agent for every request (KubeConfig.applyToFetchOptions), so every request opened a
 * new connection (a TLS handshake with a real API server) and building the agent was a large share of a
 * diagnosis' CPU (probe pods are polled). One keep-alive agent per cluster is reused while its TLS settings
 * (certificates, CA, server name) stay the same; an exec plugin that rotates a client certificate gets a new one
 * (the old one is left to its open requests, a watch among them).
 * A proxy agent (a cluster's proxy-url) is used as client-node made it.
 */
function reusableAgent(kubeConfig: KubeConfig, fresh: http.Agent | undefined): http.Agent | undefined {
  if (!fresh || (fresh.constructor !== https.Agent && fresh.constructor !== http.Agent)) return fresh;
  const options = (fresh as { options?: Record<string, unknown> }).options ?? {};
  const hash = createHash('sha256').update(fresh.constructor === https.Agent ? 'https' : 'http');
  for (const name of AGENT_SETTINGS) {
    const value = options[name];
    hash.update(`\0${name}=`);
    if (value !== undefined) hash.update(Buffer.isBuffer(value) ? value : String(value));
  }
  const settings = hash.digest('base64');
  const cached = agents.get(kubeConfig);
  if (cached?.settings === settings) return cached.agent;
  const Agent = fresh.constructor as typeof http.Agent;
  const agent = new Agent({ ...options, keepAlive: true });
  agents.set(kubeConfig, { settings, agent });
  return agent;
}

export type KubeQuery = Record<string, string | number | boolean | undefined>;

export interface KubeRequest {
  method?: 'GET' | 'POST' | 'DELETE';
  path: string;
  query?: KubeQuery;
  /** Sent as JSON. */
  body?: unknown;
  /** `text` for plain-text answers (pod logs); JSON otherwise. */
  answer?: 'json' | 'text';
  signal?: AbortSignal;
}

/** GET `path` and parse the JSON answer; a non-2xx answer rejects with KubeStatusError. */
export function kubeGetJson<T>(
  kubeConfig: KubeConfig,
  path: string,
  query: KubeQuery = {},
  signal?: AbortSignal,
): Promise<T> {
  return kubeRequest<T>(kubeConfig, { path, query, signal });
}

/** One API request, its answer parsed as JSON (or kept as text); a non-2xx answer rejects with KubeStatusError. */
export async function kubeRequest<T>(kubeConfig: KubeConfig, request: KubeRequest): Promise<T> {
  const { path, signal } = request;
  const method = request.method ?? 'GET';
  const { url, headers, agent } = await kubeConnection(kubeConfig, path, request.query ?? {});
  if (request.answer === 'text') headers.accept = '*/*';
  const payload = request.body === undefined ? undefined : Buffer.from(JSON.stringify(request.body));
  if (payload) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(payload.length);
  }
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise<T>((resolve, reject) => {
    const req = transport.request(url, { method, headers, agent, signal });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) req.destroy(new Error(`${method} ${path}: answer larger than 64 MiB`));
        else chunks.push(chunk);
      });
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 299)
          return reject(new KubeStatusError(status, text.slice(0, 65_536), path, method));
        if (request.answer === 'text') return resolve(text as T);
        try {
          resolve(JSON.parse(text) as T);
        } catch (err) {
          reject(new Error(`${method} ${path}: the answer is not JSON (${(err as Error).message})`));
        }
      });
    });
    req.end(payload);
  });
}
