import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/**
 * Plain JSON GETs against the API server for the watch path (the event list, Flannel's presence): the same
 * request client-node's typed APIs make (URL from the current cluster; auth headers, client certificates, exec
 * plugins and proxies from KubeConfig.applyToFetchOptions), answered as plain JSON. The typed APIs build model
 * objects for every item and are loaded only when a diagnosis or a remediation needs them (kube/clients.ts).
 */

/** An API answer other than 2xx: `statusCode` and `body` as readApiError and describeKubeError read them. */
export class KubeStatusError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: string,
    path: string,
  ) {
    super(
      `GET ${path} answered ${statusCode}${http.STATUS_CODES[statusCode] ? ` ${http.STATUS_CODES[statusCode]}` : ''}`,
    );
    this.name = 'KubeStatusError';
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
  return { url, headers, agent: init.agent as http.Agent | undefined };
}

/** GET `path` and parse the JSON answer; a non-2xx answer rejects with KubeStatusError. */
export async function kubeGetJson<T>(
  kubeConfig: KubeConfig,
  path: string,
  query: Record<string, string | number | boolean | undefined> = {},
  signal?: AbortSignal,
): Promise<T> {
  const { url, headers, agent } = await kubeConnection(kubeConfig, path, query);
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise<T>((resolve, reject) => {
    const req = transport.request(url, { method: 'GET', headers, agent, signal });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) req.destroy(new Error(`GET ${path}: answer larger than 64 MiB`));
        else chunks.push(chunk);
      });
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 299)
          return reject(new KubeStatusError(status, text.slice(0, 65_536), path));
        try {
          resolve(JSON.parse(text) as T);
        } catch (err) {
          reject(new Error(`GET ${path}: the answer is not JSON (${(err as Error).message})`));
        }
      });
    });
    req.end();
  });
}
