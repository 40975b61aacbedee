import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { parseClustersConfig, type ClusterConfig } from '../../src/config/clusters.js';
import { ConfigError } from '../../src/config/issues.js';
import { inspectKubeconfig, kubeConfigForCluster } from '../../src/kube/kubeconfig.js';

let dir: string;
let clustersFile: string;
const servers: Server[] = [];
const seen: Array<{ server: string; auth: string | undefined }> = [];

/** A stand-in API server that answers any list with an empty NamespaceList and records who asked. */
async function fakeApiServer(label: string): Promise<string> {
  const server = createServer((req, res) => {
    seen.push({ server: label, auth: req.headers.authorization });
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ kind: 'NamespaceList', apiVersion: 'v1', metadata: {}, items: [] }));
  });
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function kubeconfigYaml(prodServer: string, stagingServer: string): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster: { server: "${prodServer}", insecure-skip-tls-verify: true }
- name: staging
  cluster: { server: "${stagingServer}", insecure-skip-tls-verify: true }
users:
- name: prod-admin
  user: { token: prod-token }
- name: staging-admin
  user: { token: staging-token }
- name: cert-user
  user: { client-certificate: certs/missing.crt, client-key: /nonexistent/key.pem }
contexts:
- name: prod-admin
  context: { cluster: prod, user: prod-admin }
- name: staging-admin
  context: { cluster: staging, user: staging-admin }
- name: dangling
  context: { cluster: gone, user: nobody }
- name: certs
  context: { cluster: prod, user: cert-user }
current-context: staging-admin
`;
}

function clusters(entries: object[]): ClusterConfig[] {
  return parseClustersConfig({ clusters: entries }, clustersFile).clusters;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fo-kubeconfig-'));
  clustersFile = join(dir, 'clusters.yaml');
  writeFileSync(
    join(dir, 'kubeconfig'),
    kubeconfigYaml(await fakeApiServer('prod'), await fakeApiServer('staging')),
  );
  writeFileSync(join(dir, 'broken'), 'clusters:\n- name: x\n  cluster: {server: [\n');
  writeFileSync(
    join(dir, 'no-current'),
    'apiVersion: v1\nkind: Config\ncontexts:\n- name: a\n  context: { cluster: a }\n',
  );
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
  rmSync(dir, { recursive: true, force: true });
});

describe('kubeConfigForCluster', () => {
  it('gives each cluster its own instance and context, so each server gets its own credentials', async () => {
    const [prod, staging] = clusters([
      { name: 'prod', kubeconfig: 'kubeconfig', context: 'prod-admin', channel: 'C0PROD' },
      { name: 'staging', kubeconfig: './kubeconfig', channel: 'C0STAGING' }, // the file's current-context
    ]);
    const prodKc = kubeConfigForCluster(prod);
    const stagingKc = kubeConfigForCluster(staging);
    expect(prodKc).not.toBe(stagingKc);
    expect(prodKc.getCurrentContext()).toBe('prod-admin');
    expect(stagingKc.getCurrentContext()).toBe('staging-admin');

    seen.length = 0;
    await prodKc.makeApiClient(CoreV1Api).listNamespace();
    await stagingKc.makeApiClient(CoreV1Api).listNamespace();
    await prodKc.makeApiClient(CoreV1Api).listNamespace();
    expect(seen).toEqual([
      { server: 'prod', auth: 'Bearer prod-token' },
      { server: 'staging', auth: 'Bearer staging-token' },
      { server: 'prod', auth: 'Bearer prod-token' },
    ]);
  });

  it('names the clusters file field when the kubeconfig file is missing', () => {
    const [cluster] = clusters([{ name: 'prod', kubeconfig: 'missing/kubeconfig', channel: 'C0PROD' }]);
    expect(() => kubeConfigForCluster(cluster)).toThrow(ConfigError);
    expect(() => kubeConfigForCluster(cluster)).toThrow(
      `${clustersFile}: clusters[0].kubeconfig: kubeconfig not found: ${join(dir, 'missing/kubeconfig')}`,
    );
    try {
      kubeConfigForCluster(cluster);
    } catch (err) {
      expect((err as ConfigError).exitCode).toBe(2); // "could not diagnose"
    }
  });

  it('lists the available contexts when the context does not exist', () => {
    const [cluster] = clusters([
      { name: 'prod', kubeconfig: 'kubeconfig', context: 'prod', channel: 'C0PROD' },
    ]);
    expect(() => kubeConfigForCluster(cluster)).toThrow(
      `${clustersFile}: clusters[0].context: no context "prod" in ${join(dir, 'kubeconfig')} (it has: prod-admin, staging-admin, dangling, certs)`,
    );
  });

  it('refuses in-cluster mode outside a pod with a message that says what to set', () => {
    const [cluster] = clusters([{ name: 'prod', channel: 'C0PROD' }]);
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    delete process.env.KUBERNETES_SERVICE_HOST;
    delete process.env.KUBERNETES_SERVICE_PORT;
    try {
      expect(() => kubeConfigForCluster(cluster)).toThrow(
        /clusters\[0\]\.kubeconfig: cluster "prod" is configured in-cluster but KUBERNETES_SERVICE_HOST/,
      );
    } finally {
      if (saved.host !== undefined) process.env.KUBERNETES_SERVICE_HOST = saved.host;
      if (saved.port !== undefined) process.env.KUBERNETES_SERVICE_PORT = saved.port;
    }
  });
});

describe('inspectKubeconfig', () => {
  it('points into the kubeconfig for dangling references and missing certificate files', () => {
    const [dangling, certs] = clusters([
      { name: 'a', kubeconfig: 'kubeconfig', context: 'dangling', channel: 'C0A' },
      { name: 'b', kubeconfig: 'kubeconfig', context: 'certs', channel: 'C0B' },
    ]);
    const file = join(dir, 'kubeconfig');
    expect(inspectKubeconfig(dangling).problems).toEqual([
      {
        file,
        field: 'contexts[2].context.cluster',
        message: 'context "dangling" refers to cluster "gone", which is not in clusters',
      },
      {
        file,
        field: 'contexts[2].context.user',
        message: 'context "dangling" refers to user "nobody", which is not in users',
      },
    ]);
    expect(inspectKubeconfig(certs).problems).toEqual([
      {
        file,
        field: 'users[2].user.client-certificate',
        message: `file not found: ${join(dir, 'certs/missing.crt')}`,
      },
      { file, field: 'users[2].user.client-key', message: 'file not found: /nonexistent/key.pem' },
    ]);
  });

  it('reports YAML errors of the kubeconfig itself with line numbers, and a missing current-context', () => {
    const [broken, noCurrent] = clusters([
      { name: 'a', kubeconfig: 'broken', channel: 'C0A' },
      { name: 'b', kubeconfig: 'no-current', channel: 'C0B' },
    ]);
    const [syntax] = inspectKubeconfig(broken).problems;
    expect(syntax).toMatchObject({ file: join(dir, 'broken'), field: '(syntax)' });
    expect(syntax.line).toBeGreaterThanOrEqual(3);
    expect(inspectKubeconfig(noCurrent).problems).toEqual([
      {
        file: clustersFile,
        field: 'clusters[1].context',
        message: `required: ${join(dir, 'no-current')} sets no current-context, so name the context to use (it has: a)`,
      },
    ]);
  });

  it('describes a usable target', () => {
    const [prod] = clusters([
      { name: 'prod', kubeconfig: 'kubeconfig', context: 'prod-admin', channel: 'C0PROD' },
    ]);
    const { problems, target } = inspectKubeconfig(prod);
    expect(problems).toEqual([]);
    expect(target).toMatchObject({
      kind: 'kubeconfig',
      file: join(dir, 'kubeconfig'),
      context: 'prod-admin',
    });
  });
});
