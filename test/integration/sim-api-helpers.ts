/** Shared setup for the sim-api integration tests: a seeded store, the server, a kubeconfig, kubectl. */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ObjectStore, type KubeObject } from '../../src/sim/kube/store.js';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../../src/sim/kube/server.js';

export interface SimFixture {
  store: ObjectStore;
  api: ApiServer;
  dir: string;
  kubeconfig: string;
  close(): Promise<void>;
}

export function writeKubeconfig(path: string, url: string, token: string): void {
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: sim, cluster: {server: "${url}", insecure-skip-tls-verify: true}}]`,
      `users: [{name: u, user: {token: "${token}"}}]`,
      'contexts: [{name: sim, context: {cluster: sim, user: u, namespace: default}}]',
      'current-context: sim',
      '',
    ].join('\n'),
  );
}

export async function startFixture(
  seed: (store: ObjectStore) => void,
  opts: Partial<ApiServerOptions> = {},
): Promise<SimFixture> {
  const store = new ObjectStore();
  seed(store);
  const api = await startApiServer({ store, port: 0, ...opts });
  const dir = mkdtempSync(join(tmpdir(), 'sim-api-test-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeKubeconfig(kubeconfig, api.url, 'admin');
  return {
    store,
    api,
    dir,
    kubeconfig,
    close: async () => {
      await api.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function namespace(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

export function pod(
  name: string,
  ns: string,
  node: string | undefined,
  status: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels: { app: name.split('-')[0] } },
    spec: { ...(node ? { nodeName: node } : {}), containers: [{ name: 'app', image: 'busybox' }] },
    status,
  };
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real kubectl with the fixture's kubeconfig and a fresh discovery cache. */
export function kubectl(fx: SimFixture, args: string[], input?: string): Promise<KubectlResult> {
  const cacheDir = mkdtempSync(join(fx.dir, 'cache-'));
  return new Promise((resolve) => {
    const child = execFile(
      '/usr/bin/kubectl',
      ['--kubeconfig', fx.kubeconfig, '--cache-dir', cacheDir, ...args],
      { env: { ...process.env, HOME: fx.dir }, timeout: 30000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

export function spawnKubectl(fx: SimFixture, args: string[]): ChildProcessWithoutNullStreams {
  const cacheDir = mkdtempSync(join(fx.dir, 'cache-'));
  return spawn('/usr/bin/kubectl', ['--kubeconfig', fx.kubeconfig, '--cache-dir', cacheDir, ...args], {
    env: { ...process.env, HOME: fx.dir },
  });
}

/** Resolves once `predicate` holds (polling), or rejects after `timeoutMs` with `what` in the message. */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 15000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
