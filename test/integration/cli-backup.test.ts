/**
 * `flannel-ops backup list|create|restore` as an operator runs them: the real CLI in a child process, a
 * simulator started here (over HTTP, server-side apply and dry run), real Redis under a unique key prefix.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runCli, type CliRun } from '../helpers/bot-process.js';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { mergePatch } from '../../src/remediations/actions/common.js';
import { startSimulator, type Simulator } from '../../src/sim/kube/simulator.js';
import { deleteKeys, TEST_REDIS_URL, testRedis } from '../helpers/redis.js';

const PREFIX = `t-cli-backup-${randomUUID()}`;

let dir: string;
let sim: Simulator;
let clustersFile: string;
let core: CoreV1Api;

function run(args: string[]): Promise<CliRun> {
  return runCli(
    [...args, '--clusters', clustersFile],
    { HOME: dir, REDIS_URL: TEST_REDIS_URL, FLANNEL_OPS_KEY_PREFIX: PREFIX },
    { cwd: dir, timeoutMs: 60_000 },
  );
}

const netConf = async () =>
  (await core.readNamespacedConfigMap({ namespace: 'kube-flannel', name: 'kube-flannel-cfg' })).data?.[
    'net-conf.json'
  ];

async function setNetConf(value: string): Promise<void> {
  await core.patchNamespacedConfigMap(
    { namespace: 'kube-flannel', name: 'kube-flannel-cfg', body: { data: { 'net-conf.json': value } } },
    mergePatch(),
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fo-backup-'));
  sim = await startSimulator({ scenario: 'healthy', port: 0, onError: () => undefined });
  await sim.settle();
  const kc = new KubeConfig();
  kc.loadFromFile(sim.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
  clustersFile = join(dir, 'clusters.yaml');
  writeFileSync(
    clustersFile,
    `clusters:
  - name: prod
    kubeconfig: ${sim.kubeconfigPath}
    channel: C0123PROD
    backups: { keep: 3 }
`,
  );
}, 60_000);

afterAll(async () => {
  await sim?.stop();
  const redis = testRedis();
  await deleteKeys(redis, `${PREFIX}:`);
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

describe('flannel-ops backup', () => {
  let good: string;

  it('lists nothing at first, then the backup `create` took of the ConfigMap and the DaemonSet', async () => {
    const empty = await run(['backup', 'list', 'prod']);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toMatch(/^no backups of cluster prod yet/);
    const created = await run(['backup', 'create', 'prod', '--reason', 'before the upgrade']);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(
      /^backup (b-\S+) of cluster prod: ConfigMap kube-flannel\/kube-flannel-cfg, DaemonSet kube-flannel\/kube-flannel-ds\n$/,
    );
    good = /^backup (b-\S+)/.exec(created.stdout)![1];
    const list = await run(['backup', 'list', 'prod', '--json']);
    const doc = JSON.parse(list.stdout);
    expect(doc.backups).toHaveLength(1);
    expect(doc.backups[0]).toMatchObject({ id: good, cluster: 'prod', reason: 'before the upgrade' });
    expect(doc.backups[0].objects[0].data['net-conf.json']).toBe(await netConf());
  }, 60_000);

  it('restore without --yes shows the change (a server-side dry run) and changes nothing', async () => {
    const saved = await netConf();
    await setNetConf('{"Network": "10.99.0.0/16"}');
    const dry = await run(['backup', 'restore', 'prod', good]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('change ConfigMap kube-flannel/kube-flannel-cfg: data.net-conf.json');
    expect(dry.stdout).toContain('unchanged DaemonSet kube-flannel/kube-flannel-ds');
    expect(dry.stdout).toMatch(/nothing changed \(dry run\); add --yes/);
    expect(await netConf()).toBe('{"Network": "10.99.0.0/16"}');

    const applied = await run(['backup', 'restore', 'prod', good, '--yes', '--json']);
    expect(applied.code).toBe(0);
    const doc = JSON.parse(applied.stdout);
    expect(doc).toMatchObject({ cluster: 'prod', backup: good, applied: true });
    expect(await netConf()).toBe(saved);
    // What it replaced is a backup of its own: the restore can be undone.
    const list = JSON.parse((await run(['backup', 'list', 'prod', '--json'])).stdout);
    expect(list.backups[0]).toMatchObject({ id: doc.before, reason: `before restoring backup ${good}` });
    expect(list.backups[0].objects[0].data['net-conf.json']).toBe('{"Network": "10.99.0.0/16"}');
  }, 90_000);

  it('keeps only backups.keep versions, newest first', async () => {
    for (let i = 0; i < 3; i++)
      expect((await run(['backup', 'create', 'prod', '--reason', `r${i}`])).code).toBe(0);
    const list = JSON.parse((await run(['backup', 'list', 'prod', '--json'])).stdout);
    expect(list.backups.map((b: { reason: string }) => b.reason)).toEqual(['r2', 'r1', 'r0']);
  }, 90_000);

  it('an unknown backup id or cluster: exit 2 with one line, no stack trace', async () => {
    const unknown = await run(['backup', 'restore', 'prod', 'b-nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no backup "b-nope" of cluster "prod" \(newest: b-/);
    expect(unknown.stderr).not.toMatch(/\n\s+at /);
    const cluster = await run(['backup', 'list', 'staging']);
    expect(cluster.code).toBe(2);
    expect(cluster.stderr).toMatch(/unknown cluster "staging"/);
  }, 60_000);
});
