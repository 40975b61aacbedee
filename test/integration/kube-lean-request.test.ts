/**
 * The bot's plain API requests against a real HTTP server: one connection serves many requests (client-node makes
 * a new agent, so a new connection and with a real API server a new TLS handshake, for every request), and the
 * credentials are still sent with each.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import { kubeGetJson, KubeStatusError } from '../../src/kube/lean-request.js';

let server: http.Server;
let connections = 0;
const auth: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    auth.push(req.headers.authorization ?? '');
    if (req.url?.startsWith('/api/v1/namespaces/missing')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ kind: 'Status', reason: 'NotFound', message: 'namespaces "missing" not found' }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'NodeList', items: [{ metadata: { name: 'n1' } }] }));
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

function kubeConfig(token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: 'c',
        server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        skipTLSVerify: true,
      },
    ],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
    currentContext: 'ctx',
  });
  return kc;
}

describe('plain API requests', () => {
  it('reuse one connection for a run of requests, each with its credentials', async () => {
    const kc = kubeConfig('token-a');
    const before = connections;
    auth.length = 0;
    for (let i = 0; i < 20; i++) {
      const list = await kubeGetJson<{ items: unknown[] }>(kc, '/api/v1/nodes');
      expect(list.items).toHaveLength(1);
    }
    expect(connections - before).toBe(1);
    expect(auth).toEqual(Array(20).fill('Bearer token-a'));
  });

  it('answer a 404 as an error carrying the code and the Status, as client-node does', async () => {
    const err = await kubeGetJson(kubeConfig('t'), '/api/v1/namespaces/missing').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeStatusError);
    expect((err as KubeStatusError).code).toBe(404);
    expect(JSON.parse((err as KubeStatusError).body)).toMatchObject({ reason: 'NotFound' });
  });
});
