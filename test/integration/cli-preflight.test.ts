/**
 * `flannel-ops preflight`: every built-in scenario through the same code the command runs (runPreflight: a
 * diagnosis on real Redis and BullMQ, probe pods against the simulator over HTTP), then the real CLI in a child
 * process for the exit codes and the JSON an init script or CI reads.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BIN, runCli, type CliRun } from '../helpers/bot-process.js';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { Redis } from 'ioredis';
import { runPreflight, PREFLIGHT_REQUIREMENTS } from '../../src/diagnosis/preflight.js';
import { DiagnosisService } from '../../src/diagnosis/service.js';
import { IncidentStore } from '../../src/incidents/store.js';
import { kubeClients } from '../../src/kube/clients.js';
import { loadRunbooks, shippedRunbooksDir } from '../../src/runbooks/load.js';
import { BUILTIN_SCENARIOS } from '../../src/sim/kube/scenario/builtin-names.js';
import { startSimulator, type Simulator } from '../../src/sim/kube/simulator.js';
import { deleteKeys, TEST_REDIS_URL, testRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const PREFIX = `t-preflight-${randomUUID()}`;

let redis: Redis;
let store: IncidentStore;
let service: DiagnosisService;
const clients = new Map<string, ReturnType<typeof kubeClients>>();

beforeAll(async () => {
  redis = testRedis();
  store = new IncidentStore({ redis, prefix: PREFIX });
  service = new DiagnosisService({
    redis,
    prefix: PREFIX,
    store,
    runbooks: loadRunbooks(shippedRunbooksDir()),
    clients: (cluster) => {
      const c = clients.get(cluster);
      if (!c) throw new Error(`no simulator for ${cluster}`);
      return c;
    },
    probe: { namespace: 'kube-system', image: 'busybox:1.36', concurrency: 4, deadlineSeconds: 30 },
    retry: { attempts: 2, backoffMs: 20 },
  });
  await service.waitUntilReady();
});

afterAll(async () => {
  await service?.close();
  await deleteKeys(redis, `${PREFIX}:`);
  await deleteKeys(redis, `${PREFIX}-cli:`);
  await store?.close();
  redis?.disconnect();
});

// Every built-in scenario: a new scenario file is covered as soon as it is listed.
describe.each(BUILTIN_SCENARIOS)('preflight on scenario %s', (scenario) => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ scenario, port: 0, retryIntervalMs: 200, onError: () => undefined });
    await sim.settle();
    const kc = new KubeConfig();
    kc.loadFromFile(sim.kubeconfigPath);
    clients.set(scenario, kubeClients(kc));
  }, 60_000);
  afterAll(async () => {
    await sim?.stop();
  });

  it('is ready exactly when the scenario is healthy', async () => {
    const report = await runPreflight({
      service,
      kube: clients.get(scenario)!,
      cluster: scenario,
      timeoutMs: 60_000,
    });
    const healthy = sim.scenario.rootCause === 'none';
    const failing = report.requirements.filter((r) => r.status === 'fail').map((r) => r.id);
    expect({
      verdict: report.verdict,
      exitCode: report.exitCode,
      causes: report.causes.map((c) => c.id),
    }).toEqual(
      healthy
        ? { verdict: 'ready', exitCode: 0, causes: [] }
        : { verdict: 'not-ready', exitCode: 1, causes: expect.arrayContaining([sim.scenario.rootCause]) },
    );
    if (!healthy) expect(failing.length + report.causes.length).toBeGreaterThan(0);
    expect(report.requirements.map((r) => r.id)).toEqual(PREFLIGHT_REQUIREMENTS.map((r) => r.id));
  }, 90_000);
});

describe('flannel-ops preflight (the command)', () => {
  let dir: string;
  let clustersFile: string;
  let healthy: Simulator;
  let missing: Simulator;

  function run(args: string[]): Promise<CliRun> {
    // Not the prefix of the in-process service above: its workers know only the scenario clusters.
    return runCli(
      args,
      { HOME: dir, REDIS_URL: TEST_REDIS_URL, FLANNEL_OPS_KEY_PREFIX: `${PREFIX}-cli` },
      { cwd: dir, timeoutMs: 90_000 },
    );
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fo-preflight-'));
    [healthy, missing] = await Promise.all([
      startSimulator({ scenario: 'healthy', port: 0, onError: () => undefined }),
      startSimulator({ scenario: 'flannel-missing', port: 0, onError: () => undefined }),
    ]);
    await Promise.all([healthy.settle(), missing.settle()]);
    // A cluster whose API server is gone: the simulator's kubeconfig pointing at a closed port.
    const gone = await startSimulator({ scenario: 'healthy', port: 0, onError: () => undefined });
    const goneKubeconfig = join(dir, 'gone.kubeconfig');
    writeFileSync(goneKubeconfig, readFileSync(gone.kubeconfigPath, 'utf8'));
    await gone.stop();
    clustersFile = join(dir, 'clusters.yaml');
    writeFileSync(
      clustersFile,
      `clusters:
  - name: ready
    kubeconfig: ${healthy.kubeconfigPath}
    channel: C0123READY
  - name: broken
    kubeconfig: ${missing.kubeconfigPath}
    channel: C0123BROKEN
  - name: gone
    kubeconfig: ${goneKubeconfig}
    channel: C0123GONE
`,
    );
  }, 60_000);

  afterAll(async () => {
    await Promise.all([healthy?.stop(), missing?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a ready cluster: exit 0, every requirement listed', async () => {
    const result = await run(['preflight', 'ready', '--clusters', clustersFile]);
    expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 0, stdout: expect.any(String) });
    expect(result.stdout).toMatch(/^READY: Flannel is deployed and ready on cluster ready\n/);
    for (const req of PREFLIGHT_REQUIREMENTS) expect(result.stdout).toContain(`OK      ${req.title}`);
  }, 90_000);

  it('Flannel missing (the seed): exit 1, --json names the failed requirements and the cause', async () => {
    const result = await run(['preflight', 'broken', '--clusters', clustersFile, '--json']);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.code).toBe(1);
    const doc = JSON.parse(result.stdout);
    expect(doc).toMatchObject({ cluster: 'broken', verdict: 'not-ready', exitCode: 1 });
    expect(doc.causes[0]).toMatchObject({ id: 'flannel-not-deployed' });
    const deployed = doc.requirements.find((r: { id: string }) => r.id === 'flannel-deployed');
    expect(deployed.status).toBe('fail');
    expect(deployed.checks).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: 'flannel-daemonset', status: 'fail' })]),
    );
    expect(doc.nodesProbed.length).toBeGreaterThan(0);
  }, 90_000);

  it('an unreachable API server: exit 2 ("could not tell"), with the reason, also as JSON', async () => {
    const text = await run(['preflight', 'gone', '--clusters', clustersFile]);
    expect(text.code).toBe(2);
    expect(text.stdout).toMatch(/^UNKNOWN: could not tell whether cluster gone is ready\n.*unreachable/);
    const json = await run(['preflight', 'gone', '--clusters', clustersFile, '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ cluster: 'gone', verdict: 'unknown', exitCode: 2 });
  }, 90_000);

  it('--wait: an API server not up yet is checked again until it answers and Flannel is ready (exit 0)', async () => {
    // A cluster whose API server comes up later, on the address its kubeconfig names.
    const placeholder = await startSimulator({ scenario: 'healthy', port: 0, onError: () => undefined });
    const port = Number(new URL(placeholder.url).port);
    const kubeconfig = join(dir, 'later.kubeconfig');
    writeFileSync(kubeconfig, readFileSync(placeholder.kubeconfigPath, 'utf8'));
    await placeholder.stop();
    const file = join(dir, 'later.yaml');
    writeFileSync(
      file,
      `clusters:\n  - name: later\n    kubeconfig: ${kubeconfig}\n    channel: C0123LATER\n`,
    );
    const child = spawn(process.execPath, [BIN, 'preflight', 'later', '--clusters', file, '--wait', '240'], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        REDIS_URL: TEST_REDIS_URL,
        FLANNEL_OPS_KEY_PREFIX: `${PREFIX}-cli`,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    await waitFor(
      'the first attempt to fail',
      () => /attempt 1: unknown; checking again in 10s/.test(stderr),
      {
        timeoutMs: 60_000,
        intervalMs: 100,
      },
    );
    const later = await startSimulator({ scenario: 'healthy', port, onError: () => undefined });
    try {
      await later.settle();
      expect(await exited).toBe(0);
      expect(stdout).toMatch(/^READY: Flannel is deployed and ready on cluster later\n/);
    } finally {
      child.kill('SIGKILL');
      await later.stop();
    }
  }, 240_000);

  it('an unknown cluster or a bad flag: exit 2 with one line, no stack trace', async () => {
    const unknown = await run(['preflight', 'nope', '--clusters', clustersFile]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown cluster "nope".*ready, broken, gone/);
    const bad = await run(['preflight', 'ready', '--clusters', clustersFile, '--sample', 'lots']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--sample must be a whole number/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});
