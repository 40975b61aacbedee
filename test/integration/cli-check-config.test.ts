import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startSimulator } from '../../src/sim/kube/simulator.js';
import { freePort } from '../../src/util/net.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';

const ROOT = resolve(import.meta.dirname ?? '.', '../..');
const BIN = join(ROOT, 'bin/flannel-ops.js');
const RUNBOOKS = join(ROOT, 'runbooks');
const BOT = 'xoxb-1234-5678-integrationtoken';
const APP = 'xapp-1-A1234-5678-integrationapptoken';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI as a user would, with only the environment given here. */
function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', HOME: dir, REDIS_URL: TEST_REDIS_URL, ...env },
        timeout: 30000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

let dir: string;
const slackEnv = { SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP };

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fo-check-config-'));
  write(
    'kubeconfig',
    `apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster: { server: "https://10.0.0.1:6443", insecure-skip-tls-verify: true }
users:
- name: prod-admin
  user: { token: abc }
contexts:
- name: prod-admin
  context: { cluster: prod, user: prod-admin }
current-context: prod-admin
`,
  );
  write(
    'clusters.yaml',
    `clusters:
  - name: prod
    kubeconfig: kubeconfig
    context: prod-admin
    channel: C0123PROD
    approvals:
      approvers: { users: [UALICE, UBOB], groups: [oncall] }
    schedule: "*/30 * * * *"
    backups: { keep: 5 }
  - name: staging
    backups: { schedule: "off" }
    channel: C0456STG
`,
  );
  write(
    'broken.yaml',
    `clusters:
  - name: prod
    kubeconfig: missing-kubeconfig
    chanel: C0123PROD
  - name: prod
    channel: "#staging"
    approvals: { required: { high: 0 } }
`,
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('flannel-ops check-config', () => {
  it('prints a summary of a valid configuration and exits 0', async () => {
    const result = await run(
      ['check-config', '--offline', '--clusters', 'clusters.yaml', '--runbooks', RUNBOOKS],
      slackEnv,
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = result.stdout;
    expect(out).toMatch(/^configuration OK\n/);
    expect(out).toContain('Slack socket mode');
    expect(out).toMatch(
      /prod: channel C0123PROD, context prod-admin in .*kubeconfig \(https:\/\/10\.0\.0\.1:6443\)/,
    );
    expect(out).toContain('approvers UALICE, UBOB, @oncall');
    expect(out).toMatch(/staging: channel C0456STG, in-cluster/);
    expect(out).toMatch(/staging: .*no approvers/);
    // What runs on its own: each cluster's scheduled diagnosis and backups.
    expect(out).toMatch(
      /prod: .*\n\s+schedules \(UTC\): diagnosis "\*\/30 \* \* \* \*", backups "0 3 \* \* \*" \(keep 5\)/,
    );
    expect(out).toMatch(/staging: .*\n\s+schedules \(UTC\): no scheduled diagnosis, scheduled backups off/);
    expect(out).toMatch(/runbooks .*: \d+ runbooks? loaded \(.*flannel.*\)/);
    expect(out).toMatch(/Redis redis:\/\/.*: answers \(Redis \d+\.\d+\.\d+, db 0\)/);
    expect(out).not.toContain('API server answers'); // --offline
    expect(out).not.toContain(BOT);
  });

  it('reads the clusters file from FLANNEL_OPS_CLUSTERS when --clusters is not given', async () => {
    const result = await run(['check-config', '--offline', '--runbooks', RUNBOOKS], {
      ...slackEnv,
      FLANNEL_OPS_CLUSTERS: join(dir, 'clusters.yaml'),
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`clusters file ${join(dir, 'clusters.yaml')}: 2 clusters`);
  });

  it('lists every error with file, field and reason, exits 1, and prints no stack trace', async () => {
    const broken = join(dir, 'broken.yaml');
    const result = await run(['check-config', '--offline', '--clusters', broken, '--runbooks', RUNBOOKS], {
      SLACK_BOT_TOKEN: 'xoxp-9999-user-token-not-bot',
    });
    expect(result.code).toBe(1);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toEqual([
      'environment: SLACK_BOT_TOKEN: must be a Slack bot token starting with "xoxb-" (value not shown)',
      `${broken}:2:5: clusters[0].channel: required (expected string)`,
      `${broken}:4:5: clusters[0].chanel: unknown key (did you mean "channel"?)`,
      `${broken}:5:11: clusters[1].name: duplicate cluster name "prod" (also clusters[0].name)`,
      expect.stringMatching(
        new RegExp(
          `^${broken}:6:14: clusters\\[1\\]\\.channel: must be a Slack channel id like C0123PROD, got "#staging"`,
        ),
      ),
      `${broken}:7:36: clusters[1].approvals.required.high: must be at least 1`,
    ]);
    for (const line of lines) expect(line).toMatch(/^\S+: \S+: \S.*/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stderr).not.toContain('9999');
    expect(result.stdout).toBe('configuration invalid: 6 errors\n');
  });

  it('checks each kubeconfig: a missing file is named by the clusters file field that points to it', async () => {
    const file = write(
      'missing-kc.yaml',
      'clusters:\n  - name: prod\n    kubeconfig: nowhere/config\n    context: prod-admin\n    channel: C0123PROD\n',
    );
    const result = await run(
      ['check-config', '--offline', '--clusters', file, '--runbooks', RUNBOOKS],
      slackEnv,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `${file}: clusters[0].kubeconfig: kubeconfig not found: ${join(dir, 'nowhere/config')}\n`,
    );
  });

  it('names a missing clusters file and a missing runbooks directory', async () => {
    const result = await run(
      ['check-config', '--offline', '--clusters', 'nope.yaml', '--runbooks', 'no-runbooks'],
      slackEnv,
    );
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      `${join(dir, 'nope.yaml')}: (file): clusters file not found: write one (README.md, "clusters.yaml"), or point --clusters or FLANNEL_OPS_CLUSTERS at it`,
      expect.stringMatching(
        new RegExp(`^${join(dir, 'no-runbooks')}: \\(directory\\): runbook directory not found`),
      ),
    ]);
  });

  it('requires the Slack credentials unless --no-slack is given', async () => {
    const args = ['check-config', '--offline', '--clusters', 'clusters.yaml', '--runbooks', RUNBOOKS];
    const strict = await run(args);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain('environment: SLACK_BOT_TOKEN: required');
    expect(strict.stderr).toContain('environment: SLACK_APP_TOKEN: required for SLACK_MODE=socket');
    const relaxed = await run([...args, '--no-slack']);
    expect(relaxed.code).toBe(0);
    expect(relaxed.stdout).toContain('Slack not configured');
  });

  it('prints help for the program and for check-config', async () => {
    const program = await run(['--help']);
    expect(program.code).toBe(0);
    expect(program.stdout).toMatch(/Usage: flannel-ops/);
    expect(program.stdout).toMatch(/check-config/);
    const command = await run(['check-config', '--help']);
    expect(command.code).toBe(0);
    expect(command.stdout).toMatch(/Usage: flannel-ops check-config/);
    expect(command.stdout).toContain('--clusters <file>');
    expect(command.stdout).toContain('--runbooks <dir>');
    expect(command.stdout).toContain('FLANNEL_OPS_CLUSTERS');
  });

  it('tries Redis and reports what it found: a missing database and nothing listening are errors', async () => {
    const args = ['check-config', '--offline', '--clusters', 'clusters.yaml', '--runbooks', RUNBOOKS];
    const noDb = await run(args, { ...slackEnv, REDIS_URL: `${TEST_REDIS_URL}/9999` });
    expect(noDb.code).toBe(1);
    expect(noDb.stderr).toMatch(/^REDIS_URL: Redis .*\/9999 refused: ERR DB index is out of range$/m);
    const nowhere = `redis://127.0.0.1:${await freePort()}`;
    const down = await run(args, { ...slackEnv, REDIS_URL: nowhere });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`REDIS_URL: Redis ${nowhere} not reachable: connect ECONNREFUSED`);
    expect(down.stderr).not.toMatch(/\n\s+at /);
  });

  it("without --offline, asks each cluster's API server for its version", async () => {
    const sim = await startSimulator({ scenario: 'healthy', port: 0, onError: () => undefined });
    try {
      const deadPort = await freePort();
      const file = write(
        'online.yaml',
        `clusters:
  - name: sim
    kubeconfig: ${sim.kubeconfigPath}
    channel: C0123SIM
  - name: gone
    kubeconfig: gone-kubeconfig
    channel: C0123GONE
`,
      );
      write(
        'gone-kubeconfig',
        `apiVersion: v1
kind: Config
clusters:
- name: gone
  cluster: { server: "https://127.0.0.1:${deadPort}", insecure-skip-tls-verify: true }
users:
- name: u
  user: { token: abc }
contexts:
- name: gone
  context: { cluster: gone, user: u }
current-context: gone
`,
      );
      const result = await run(['check-config', '--clusters', file, '--runbooks', RUNBOOKS], slackEnv);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^cluster gone: API server not reachable: .*ECONNREFUSED/m);
      expect(result.stderr).not.toMatch(/cluster sim/);
      const simOnly = write(
        'online-sim.yaml',
        `clusters:\n  - name: sim\n    kubeconfig: ${sim.kubeconfigPath}\n    channel: C0123SIM\n`,
      );
      const ok = await run(['check-config', '--clusters', simOnly, '--runbooks', RUNBOOKS], slackEnv);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(/sim: channel C0123SIM, .*\n.*\n\s+API server answers: Kubernetes v\d+\.\d+/);
    } finally {
      await sim.stop();
    }
  });
});
