/**
 * `flannel-ops run` (and the other commands that read files) on a bad day, as the real CLI process: every
 * user error is one line naming what to fix, with exit code 2 and no stack trace; a Redis that is only
 * slow to come up is waited for (bounded) while /healthz says why.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type Simulator } from '../../src/sim/kube/simulator.js';
import { startSlackEmulator, type SlackEmulator } from '../../src/sim/slack/index.js';
import { freePort } from '../../src/util/net.js';
import { runCli, startCli } from '../helpers/bot-process.js';
import { deleteKeys, TEST_REDIS_URL, testRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const SECRET = 'run-errors-signing-secret';
const BOT_TOKEN = 'xoxb-run-errors';
const PREFIX = `t-run-errors-${randomUUID().slice(0, 8)}`;
const NO_STACK = /\n\s+at |internal error/;

let dir: string;
let sim: Simulator;
let slack: SlackEmulator;
let clusters: string;

/** A "billion laughs": a few lines that expand to 9^6 scalars. */
const ALIAS_BOMB = `a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fo-run-errors-'));
  sim = await startSimulator({ scenario: 'healthy', port: 0, onError: () => undefined });
  slack = await startSlackEmulator({ port: 0, signingSecret: SECRET, botToken: BOT_TOKEN });
  clusters = join(dir, 'clusters.yaml');
  writeFileSync(
    clusters,
    `clusters:\n  - name: demo\n    kubeconfig: ${sim.kubeconfigPath}\n    channel: C0ERR\n`,
  );
}, 60_000);

afterAll(async () => {
  await slack?.close();
  await sim?.stop();
  const redis = testRedis();
  await deleteKeys(redis, PREFIX);
  await redis.quit();
  rmSync(dir, { recursive: true, force: true });
});

function httpEnv(port: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_MODE: 'http',
    SLACK_API_URL: slack.apiUrl,
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: String(port),
    REDIS_URL: TEST_REDIS_URL,
    FLANNEL_OPS_KEY_PREFIX: PREFIX,
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'plain',
    ...extra,
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The one line a user error prints. */
function errorLine(stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  return lines[lines.length - 1] ?? '';
}

describe('YAML alias bombs are refused with one line', () => {
  it('in the clusters file (run and check-config)', async () => {
    const bomb = join(dir, 'bomb-clusters.yaml');
    writeFileSync(bomb, `${ALIAS_BOMB}clusters: *f\n`);
    const run = await runCli(['run', '--clusters', bomb], httpEnv(0));
    expect(run.code).toBe(1); // configuration errors exit 1, like check-config
    expect(run.stderr).toMatch(/bomb-clusters\.yaml.*too many YAML alias expansions/);
    expect(run.stderr).not.toMatch(NO_STACK);
    const check = await runCli(['check-config', '--offline', '--clusters', bomb], httpEnv(0));
    expect(check.code).toBe(1);
    expect(check.stderr).toMatch(/too many YAML alias expansions/);
    expect(check.stderr).not.toMatch(NO_STACK);
  });

  it('in a runbook', async () => {
    const runbooks = join(dir, 'runbooks-bomb');
    mkdirSync(runbooks, { recursive: true });
    writeFileSync(join(runbooks, 'bomb.yaml'), `${ALIAS_BOMB}id: bomb\n`);
    const run = await runCli(['run', '--clusters', clusters, '--runbooks', runbooks], httpEnv(0));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/bomb\.yaml.*too many YAML alias expansions/);
    expect(run.stderr).not.toMatch(NO_STACK);
  });

  it('in a scenario file', async () => {
    const scenario = join(dir, 'bomb-scenario.yaml');
    writeFileSync(scenario, `${ALIAS_BOMB}name: bomb\n`);
    const run = await runCli(['sim', '--scenario-file', scenario], {});
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/bomb-scenario\.yaml: too many YAML alias expansions/);
    expect(run.stderr).not.toMatch(NO_STACK);
  });
});

describe('flannel-ops run: start-up errors are one line and exit 2', () => {
  let busy: Server;
  let busyPort: number;
  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    busyPort = (busy.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => busy.close(() => r())));

  it('HTTP_PORT in use (HTTP receiver and Socket Mode health server)', async () => {
    const http = await runCli(['run', '--clusters', clusters], httpEnv(busyPort));
    expect(http.code).toBe(2);
    expect(errorLine(http.stderr)).toBe(
      `flannel-ops: HTTP_PORT ${busyPort} is in use on 127.0.0.1: stop the other process or set HTTP_PORT`,
    );
    expect(http.stderr).not.toMatch(NO_STACK);
    const socket = await runCli(
      ['run', '--clusters', clusters],
      httpEnv(busyPort, { SLACK_MODE: 'socket', SLACK_APP_TOKEN: 'xapp-1-run-errors' }),
    );
    expect(socket.code).toBe(2);
    expect(errorLine(socket.stderr)).toMatch(/HTTP_PORT \d+ is in use/);
  });

  it('a rejected app token (Socket Mode)', async () => {
    const run = await runCli(
      ['run', '--clusters', clusters],
      httpEnv(0, { SLACK_MODE: 'socket', SLACK_APP_TOKEN: 'xapp-1-not-accepted' }),
    );
    expect(run.code).toBe(2);
    expect(errorLine(run.stderr)).toBe(
      'flannel-ops: Slack refused the app-level token (apps.connections.open: invalid_auth): check SLACK_APP_TOKEN',
    );
    expect(run.stderr).not.toMatch(NO_STACK);
  });

  it('an unreachable Slack API is not reported as a refused token', async () => {
    const nowhere = `http://127.0.0.1:${await freePort()}/api/`;
    const run = await runCli(['run', '--clusters', clusters], httpEnv(0, { SLACK_API_URL: nowhere }));
    expect(run.code).toBe(2);
    expect(errorLine(run.stderr)).toMatch(
      new RegExp(
        `could not reach the Slack API at ${nowhere} \\(auth\\.test: ECONNREFUSED\\): check SLACK_API_URL`,
      ),
    );
    expect(run.stderr).not.toMatch(/refused the bot token/);
    expect(run.stderr).not.toMatch(NO_STACK);
  });

  it('a rejected bot token still says so', async () => {
    const run = await runCli(['run', '--clusters', clusters], httpEnv(0, { SLACK_BOT_TOKEN: 'xoxb-wrong' }));
    expect(run.code).toBe(2);
    expect(errorLine(run.stderr)).toBe(
      'flannel-ops: Slack refused the bot token (auth.test: invalid_auth): check SLACK_BOT_TOKEN',
    );
  });
});

describe('flannel-ops run: Redis at start-up', () => {
  const started: ChildProcess[] = [];
  afterAll(async () => {
    for (const child of started) {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    }
  });

  async function redisServer(port: number, args: string[] = []): Promise<ChildProcess> {
    const child = spawn(
      'redis-server',
      ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', ...args],
      { stdio: 'ignore', cwd: dir },
    );
    started.push(child);
    // Listening is enough (with --requirepass a PING without AUTH is refused).
    await waitFor('the test redis-server to listen', () => canConnect(port));
    return child;
  }

  it('a database index the server lacks fails at once', async () => {
    const t0 = Date.now();
    const run = await runCli(
      ['run', '--clusters', clusters],
      httpEnv(0, { REDIS_URL: `${TEST_REDIS_URL}/9999` }),
    );
    expect(run.code).toBe(2);
    expect(errorLine(run.stderr)).toMatch(
      /^flannel-ops: Redis at .*\/9999: ERR DB index is out of range; check REDIS_URL$/,
    );
    expect(run.stderr).not.toMatch(NO_STACK);
    expect(Date.now() - t0).toBeLessThan(15_000);
  });

  it('an unknown host fails at once', async () => {
    const run = await runCli(
      ['run', '--clusters', clusters],
      httpEnv(0, { REDIS_URL: 'redis://no-such-redis-host.invalid:6379' }),
    );
    expect(run.code).toBe(2);
    expect(errorLine(run.stderr)).toMatch(
      /Redis at redis:\/\/no-such-redis-host\.invalid:6379: unknown host/,
    );
    expect(run.stderr).not.toMatch(NO_STACK);
  });

  it('an authentication failure fails at once, without showing the password', async () => {
    const port = await freePort();
    await redisServer(port, ['--requirepass', 'right-password']);
    const run = await runCli(
      ['run', '--clusters', clusters],
      httpEnv(0, { REDIS_URL: `redis://:wrong-password@127.0.0.1:${port}` }),
    );
    expect(run.code).toBe(2);
    expect(errorLine(run.stderr)).toMatch(/Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: WRONGPASS/);
    expect(run.stderr).not.toContain('wrong-password');
  });

  it('nothing listening: waits (bounded) with /healthz saying why, then gives up with one line', async () => {
    const redisPort = await freePort();
    const httpPort = await freePort();
    const bot = startCli(
      ['run', '--clusters', clusters],
      httpEnv(httpPort, { REDIS_URL: `redis://127.0.0.1:${redisPort}`, REDIS_STARTUP_TIMEOUT: '4' }),
    );
    const health = await waitFor('/healthz while waiting for Redis', async () => {
      const res = await fetch(`http://127.0.0.1:${httpPort}/healthz`).catch(() => undefined);
      return res && { status: res.status, body: (await res.json()) as { reason: string } };
    });
    expect(health.status).toBe(503);
    expect(health.body.reason).toMatch(
      /waiting for Redis at redis:\/\/127\.0\.0\.1:\d+ \(attempt \d+: .*ECONNREFUSED/,
    );
    expect(await bot.exited).toBe(2);
    expect(errorLine(bot.stderr())).toMatch(/Redis at .* did not answer within 4 s .*ECONNREFUSED/);
    expect(bot.stderr()).not.toMatch(NO_STACK);
  });

  it('Redis coming up within the start-up wait: the bot starts and becomes ready', async () => {
    const redisPort = await freePort();
    const httpPort = await freePort();
    const bot = startCli(
      ['run', '--clusters', clusters],
      httpEnv(httpPort, { REDIS_URL: `redis://127.0.0.1:${redisPort}`, REDIS_STARTUP_TIMEOUT: '60' }),
    );
    try {
      await bot.waitForOutput(/waiting for Redis/);
      await redisServer(redisPort);
      await bot.waitForHttp(`http://127.0.0.1:${httpPort}/readyz`);
    } finally {
      expect(await bot.stop()).toBe(0);
    }
  }, 90_000);
});
