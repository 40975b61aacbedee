/**
 * `flannel-ops diagnose` as a user runs it: the real CLI in a child process, a simulator started
 * here, real Redis under a unique key prefix.
 */
import { CHECK_ID_LIST } from '../../src/checks/catalog.js';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runCli, type CliRun } from '../helpers/bot-process.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startSimulator, type Simulator } from '../../src/sim/kube/simulator.js';

const PREFIX = `t-cli-diag-${randomUUID()}`;

type Run = CliRun;

let dir: string;
let healthy: Simulator;
let missing: Simulator;
let clustersFile: string;

function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return runCli(
    args,
    { HOME: dir, REDIS_URL: TEST_REDIS_URL, FLANNEL_OPS_KEY_PREFIX: PREFIX, ...env },
    { cwd: dir, timeoutMs: 90_000 },
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fo-diagnose-'));
  [healthy, missing] = await Promise.all([
    startSimulator({ scenario: 'healthy', port: 0, onError: () => undefined }),
    startSimulator({ scenario: 'flannel-missing', port: 0, onError: () => undefined }),
  ]);
  await Promise.all([healthy.settle(), missing.settle()]);
  clustersFile = join(dir, 'clusters.yaml');
  writeFileSync(
    clustersFile,
    `clusters:
  - name: demo
    kubeconfig: ${healthy.kubeconfigPath}
    channel: C0123DEMO
  - name: broken
    kubeconfig: ${missing.kubeconfigPath}
    channel: C0123BROKEN
`,
  );
}, 60_000);

afterAll(async () => {
  await Promise.all([healthy?.stop(), missing?.stop()]);
  const redis = new Redis(TEST_REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}:*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

describe('flannel-ops diagnose', () => {
  it('a healthy cluster: exit 0 and JSON with healthy true and every check', async () => {
    const result = await run(['diagnose', 'demo', '--clusters', clustersFile, '--json']);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.code).toBe(0);
    const doc = JSON.parse(result.stdout);
    expect(doc).toMatchObject({ cluster: 'demo', healthy: true, causes: [], plan: [] });
    expect(doc.checks.map((c: { id: string }) => c.id).sort()).toEqual([...CHECK_ID_LIST].sort());
    for (const check of doc.checks) {
      expect(Object.keys(check)).toEqual(expect.arrayContaining(['id', 'status', 'summary']));
    }
  }, 90_000);

  it('Flannel missing: exit 1, flannel-not-deployed first, with evidence and a plan', async () => {
    const result = await run(['diagnose', 'broken', '--clusters', clustersFile, '--json']);
    expect(result.code).toBe(1);
    const doc = JSON.parse(result.stdout);
    expect(doc.healthy).toBe(false);
    expect(doc.causes[0]).toMatchObject({ id: 'flannel-not-deployed' });
    expect(doc.causes[0].evidence.length).toBeGreaterThan(0);
    expect(typeof doc.causes[0].confidence).toBe('number');
    expect(doc.plan.map((s: { action: string }) => s.action)).toContain('reapply-flannel-manifest');
    // Progress went to stderr as plain lines (not a terminal), never to stdout.
    expect(result.stderr).toMatch(/diagnose: fail flannel-daemonset/);
  }, 90_000);

  it('prints a readable report with checks, verdict, network and plan', async () => {
    const result = await run(['diagnose', 'broken', '--clusters', clustersFile]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^Diagnosis \S+ of cluster broken/);
    expect(result.stdout).toMatch(/\n\s+FAIL\s+flannel-daemonset\s/);
    expect(result.stdout).toMatch(/\nVerdict\n\s+1\. flannel-not-deployed \(confidence \d\.\d\d\): /);
    expect(result.stdout).toMatch(/\nNetwork\n/);
    expect(result.stdout).toMatch(/\nPlan\n\s+1\. reapply-flannel-manifest \[risk high/);
  }, 90_000);

  it('an unknown cluster: exit 2, names the clusters, no stack trace', async () => {
    const result = await run(['diagnose', 'prod', '--clusters', clustersFile, '--json']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('unknown cluster "prod"');
    expect(result.stderr).toContain('demo, broken');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('Redis down: exit 2 with a clear message', async () => {
    const result = await run(['diagnose', 'demo', '--clusters', clustersFile], {
      REDIS_URL: 'redis://127.0.0.1:1',
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/could not diagnose: Redis at redis:\/\/127\.0\.0\.1:1 is not reachable/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('a --node the cluster does not have: exit 2 at once, naming the nodes it has', async () => {
    const started = Date.now();
    const result = await run(['diagnose', 'demo', '--node', 'ghost-node', '--clusters', clustersFile]);
    expect(result.code).toBe(2);
    expect(result.stderr.trimEnd()).toMatch(
      /^flannel-ops: no node "ghost-node" in cluster "demo"; nodes are [a-z0-9-]+(, [a-z0-9-]+)*$/,
    );
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(Date.now() - started).toBeLessThan(20_000); // not the probe's 90 s
  });
});
