/**
 * `flannel-ops watch` as a user runs it: a real process per replica against the simulator and Redis.
 * Killing the leading replica (SIGKILL: no clean release) must hand the cluster to the standby.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startSimulator, type Simulator } from '../../src/sim/kube/simulator.js';
import { waitFor } from '../helpers/wait.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';

const prefix = `t-cliwatch-${process.pid}`;
let sim: Simulator;
let dir: string;
let clustersFile: string;
const procs: ChildProcessWithoutNullStreams[] = [];

interface Replica {
  proc: ChildProcessWithoutNullStreams;
  stdout: string[];
  stderr: string[];
}

function startReplica(extraArgs: string[] = []): Replica {
  const proc = spawn(
    'node',
    ['bin/flannel-ops.js', 'watch', '--json', '--clusters', clustersFile, ...extraArgs],
    {
      env: { ...process.env, FLANNEL_OPS_KEY_PREFIX: prefix, LOG_LEVEL: 'warn' },
    },
  );
  procs.push(proc);
  const replica: Replica = { proc, stdout: [], stderr: [] };
  proc.stdout.on('data', (d: Buffer) => replica.stdout.push(...d.toString().split('\n').filter(Boolean)));
  proc.stderr.on('data', (d: Buffer) => replica.stderr.push(...d.toString().split('\n').filter(Boolean)));
  return replica;
}

const isLeader = (r: Replica) => {
  const roles = r.stderr.filter((l) => l.startsWith('cluster demo: '));
  return roles.length > 0 && roles[roles.length - 1].startsWith('cluster demo: leader');
};

beforeAll(async () => {
  sim = await startSimulator({
    scenario: 'flannel-missing',
    port: 0,
    retryIntervalMs: 3_600_000,
    startDelayMs: 10,
  });
  await sim.settle();
  dir = mkdtempSync(join(tmpdir(), 'cli-watch-'));
  clustersFile = join(dir, 'clusters.yaml');
  writeFileSync(
    clustersFile,
    `clusters:\n  - name: demo\n    kubeconfig: ${sim.kubeconfigPath}\n    channel: C0DEMO\n`,
  );
});

afterAll(async () => {
  for (const p of procs) p.kill('SIGKILL');
  await sim.stop();
  rmSync(dir, { recursive: true, force: true });
  const redis = new Redis(TEST_REDIS_URL);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe('flannel-ops watch', () => {
  it('prints JSON lines, and a SIGKILLed leader hands the cluster to the standby', async () => {
    const a = startReplica();
    const b = startReplica();
    const leader = await waitFor('a leading replica', () => [a, b].find(isLeader), { timeoutMs: 30_000 });
    const standby = leader === a ? b : a;

    const opened = await waitFor('the opened line', () =>
      leader.stdout.map((l) => JSON.parse(l)).find((e) => e.event === 'opened'),
    );
    expect(opened).toMatchObject({ cluster: 'demo', runbook: 'flannel', state: 'open' });
    expect(opened.id).toMatch(/^inc-/);
    for (const key of ['events', 'pods', 'nodes', 'namespaces', 'occurrences']) {
      expect(opened[key]).toBeGreaterThan(0);
    }
    expect(standby.stdout).toHaveLength(0);

    leader.proc.kill('SIGKILL');
    await waitFor('the standby to lead', () => isLeader(standby), { timeoutMs: 30_000 });
    await sim.storm(5);
    const update = await waitFor('the new leader to report the same incident', () =>
      standby.stdout.map((l) => JSON.parse(l)).find((e) => e.event === 'updated'),
    );
    expect(update.id).toBe(opened.id);
  }, 90_000);

  it('rejects an unknown --cluster with the configured names and no stack trace', async () => {
    const r = startReplica(['--cluster', 'prod']);
    const code = await new Promise<number | null>((resolve) => r.proc.on('exit', resolve));
    expect(code).toBe(2);
    const err = r.stderr.join('\n');
    expect(err).toContain('unknown cluster "prod"');
    expect(err).toContain('demo');
    expect(err).not.toMatch(/\n\s+at /);
  }, 30_000);
});
