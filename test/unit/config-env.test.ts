import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ENV_VARIABLES, loadEnv, redactRedisUrl } from '../../src/config/env.js';
import { ConfigError } from '../../src/config/issues.js';
import { resolveClustersPath, resolveRunbooksDir } from '../../src/cli/options.js';

const BOT = 'xoxb-1111-2222-abcdefghijkl';
const APP = 'xapp-1-A111-2222-abcdefghijkl';
const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';

function problemsOf(fn: () => unknown): Array<{ file: string; field: string; message: string }> {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('loadEnv', () => {
  it('applies every documented default to an empty environment', () => {
    expect(loadEnv({})).toEqual({
      slackBotToken: undefined,
      slackAppToken: undefined,
      slackSigningSecret: undefined,
      slackMode: 'socket',
      slackApiUrl: undefined,
      slackMaxRetryAfterMs: 60_000,
      httpPort: 3000,
      httpHost: '0.0.0.0',
      redisUrl: 'redis://127.0.0.1:6379',
      redisDb: 0,
      redisStartupTimeoutMs: 60_000,
      logLevel: 'info',
      logFormat: 'auto',
      clustersFile: './clusters.yaml',
      runbooksDir: './runbooks',
      probeImage: 'busybox:1.36',
      probeNamespace: 'kube-system',
      keyPrefix: 'flannel-ops',
    });
  });

  it('treats blank values (FOO= in a .env file) as unset', () => {
    const env = loadEnv({ HTTP_PORT: '', SLACK_MODE: ' ', SLACK_BOT_TOKEN: '' });
    expect(env.httpPort).toBe(3000);
    expect(env.slackMode).toBe('socket');
    expect(env.slackBotToken).toBeUndefined();
  });

  it('parses the port, the Redis database number and normalises the Slack API URL', () => {
    const env = loadEnv({
      HTTP_PORT: '8080',
      REDIS_URL: 'redis://:pw@redis.internal:6380/3',
      SLACK_API_URL: 'http://127.0.0.1:3100',
      LOG_LEVEL: 'debug',
    });
    expect(env.httpPort).toBe(8080);
    expect(env.redisDb).toBe(3);
    expect(env.slackApiUrl).toBe('http://127.0.0.1:3100/api/');
    expect(env.logLevel).toBe('debug');
    expect(loadEnv({ SLACK_API_URL: 'http://127.0.0.1:3100/api' }).slackApiUrl).toBe(
      'http://127.0.0.1:3100/api/',
    );
  });

  it('socket mode with require slack needs the bot token and the app token', () => {
    expect(problemsOf(() => loadEnv({}, { require: ['slack'] })).map((p) => p.field)).toEqual([
      'SLACK_BOT_TOKEN',
      'SLACK_APP_TOKEN',
    ]);
    const env = loadEnv({ SLACK_BOT_TOKEN: BOT, SLACK_APP_TOKEN: APP }, { require: ['slack'] });
    expect(env.slackBotToken).toBe(BOT);
  });

  it('http mode with require slack needs the signing secret, not the app token', () => {
    const problems = problemsOf(() =>
      loadEnv({ SLACK_MODE: 'http', SLACK_BOT_TOKEN: BOT }, { require: ['slack'] }),
    );
    expect(problems).toEqual([
      expect.objectContaining({
        file: 'environment',
        field: 'SLACK_SIGNING_SECRET',
        message: expect.stringMatching(/HTTP receiver/),
      }),
    ]);
    expect(
      loadEnv(
        { SLACK_MODE: 'http', SLACK_BOT_TOKEN: BOT, SLACK_SIGNING_SECRET: SECRET },
        { require: ['slack'] },
      ).slackMode,
    ).toBe('http');
  });

  it('reports every malformed variable at once, by name, with the reason', () => {
    const problems = problemsOf(() =>
      loadEnv({
        HTTP_PORT: '70000',
        REDIS_URL: 'http://localhost:6379',
        LOG_LEVEL: 'verbose',
        SLACK_MODE: 'ws',
        REDIS_X: 'y',
      }),
    );
    const byField = Object.fromEntries(problems.map((p) => [p.field, p.message]));
    expect(Object.keys(byField).sort()).toEqual(['HTTP_PORT', 'LOG_LEVEL', 'REDIS_URL', 'SLACK_MODE']);
    expect(byField.HTTP_PORT).toMatch(/port number/);
    expect(byField.REDIS_URL).toMatch(/redis:\/\//);
    expect(byField.LOG_LEVEL).toBe('must be one of debug, info, warn, error, got "verbose"');
    expect(byField.SLACK_MODE).toMatch(/socket, http/);
  });

  it('takes the HTTP bind address and the probe namespace, and names what is wrong with them', () => {
    const env = loadEnv({ HTTP_HOST: '127.0.0.1', FLANNEL_OPS_PROBE_NAMESPACE: 'flannel-ops-probes' });
    expect(env.httpHost).toBe('127.0.0.1');
    expect(env.probeNamespace).toBe('flannel-ops-probes');
    expect(loadEnv({ HTTP_HOST: '::' }).httpHost).toBe('::');
    expect(loadEnv({ HTTP_HOST: 'bot.internal' }).httpHost).toBe('bot.internal');
    const problems = problemsOf(() =>
      loadEnv({ HTTP_HOST: 'http://0.0.0.0', FLANNEL_OPS_PROBE_NAMESPACE: 'Kube_System' }),
    );
    const byField = Object.fromEntries(problems.map((p) => [p.field, p.message]));
    expect(Object.keys(byField).sort()).toEqual(['FLANNEL_OPS_PROBE_NAMESPACE', 'HTTP_HOST']);
    expect(byField.HTTP_HOST).toMatch(/IP address .* or a host name/);
    expect(byField.FLANNEL_OPS_PROBE_NAMESPACE).toMatch(/Kubernetes namespace name/);
  });

  it('rejects a non-numeric Redis database path', () => {
    const [problem] = problemsOf(() => loadEnv({ REDIS_URL: 'redis://127.0.0.1:6379/cache' }));
    expect(problem.field).toBe('REDIS_URL');
    expect(problem.message).toMatch(/database number/);
  });

  it('never echoes a token or secret in its errors', () => {
    const userToken = 'xoxp-9999-8888-secretsecretsecret';
    const err = (() => {
      try {
        loadEnv({
          SLACK_BOT_TOKEN: userToken,
          SLACK_APP_TOKEN: BOT,
          SLACK_SIGNING_SECRET: 'has space secret',
        });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(err.problems.map((p) => p.field).sort()).toEqual([
      'SLACK_APP_TOKEN',
      'SLACK_BOT_TOKEN',
      'SLACK_SIGNING_SECRET',
    ]);
    expect(err.message).toMatch(/SLACK_BOT_TOKEN: must be a Slack bot token starting with "xoxb-"/);
    expect(err.message).not.toContain('secretsecret');
    expect(err.message).not.toContain('9999');
    expect(err.message).not.toContain(BOT);
    expect(err.message).not.toContain('has space');
  });

  it('turns the queue board on only with both admin variables, and never echoes the password', () => {
    expect(loadEnv({}).admin).toBeUndefined();
    const password = 'a long admin password';
    expect(loadEnv({ FLANNEL_OPS_ADMIN_USER: 'ops', FLANNEL_OPS_ADMIN_PASSWORD: password }).admin).toEqual({
      user: 'ops',
      password,
    });
    expect(problemsOf(() => loadEnv({ FLANNEL_OPS_ADMIN_USER: 'ops' }))).toEqual([
      expect.objectContaining({
        field: 'FLANNEL_OPS_ADMIN_PASSWORD',
        message: expect.stringMatching(/required/),
      }),
    ]);
    expect(problemsOf(() => loadEnv({ FLANNEL_OPS_ADMIN_PASSWORD: password }))).toEqual([
      expect.objectContaining({ field: 'FLANNEL_OPS_ADMIN_USER' }),
    ]);
    const short = problemsOf(() =>
      loadEnv({ FLANNEL_OPS_ADMIN_USER: 'a:b', FLANNEL_OPS_ADMIN_PASSWORD: 'short-pw' }),
    );
    expect(short.map((p) => p.field).sort()).toEqual([
      'FLANNEL_OPS_ADMIN_PASSWORD',
      'FLANNEL_OPS_ADMIN_USER',
    ]);
    expect(JSON.stringify(short)).not.toContain('short-pw');
  });

  it('hides the Redis password when printing the URL', () => {
    expect(redactRedisUrl('redis://:hunter2@redis:6379/1')).toBe('redis://:***@redis:6379/1');
  });
});

describe('--clusters / --runbooks resolution', () => {
  it('prefers the flag, then the environment, then the default', () => {
    expect(resolveClustersPath({ clusters: 'a.yaml' }, { FLANNEL_OPS_CLUSTERS: 'b.yaml' })).toBe(
      resolve('a.yaml'),
    );
    expect(resolveClustersPath({}, { FLANNEL_OPS_CLUSTERS: '/etc/fo/c.yaml' })).toBe('/etc/fo/c.yaml');
    expect(resolveClustersPath({}, { FLANNEL_OPS_CLUSTERS: '' })).toBe(resolve('clusters.yaml'));
    expect(resolveRunbooksDir({}, {})).toBe(resolve('runbooks'));
    expect(resolveRunbooksDir({ runbooks: '/rb' }, { FLANNEL_OPS_RUNBOOKS: '/x' })).toBe('/rb');
  });
});

describe('.env.example', () => {
  const text = readFileSync(join(import.meta.dirname ?? '.', '../../.env.example'), 'utf8');
  const lines = text.split('\n');
  const assignments = new Map<string, { value: string; line: number }>();
  lines.forEach((line, index) => {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (match) assignments.set(match[1], { value: match[2], line: index });
  });

  it('lists every variable loadEnv reads, each with a comment and its default', () => {
    expect([...assignments.keys()].sort()).toEqual([...ENV_VARIABLES].sort());
    for (const [name, { line }] of assignments) {
      expect([name, lines[line - 1]]).toEqual([name, expect.stringMatching(/^# /)]);
    }
    const commentBlocks = text.split(/\n(?=[A-Z0-9_]+=)/);
    for (const name of ENV_VARIABLES) {
      const block = commentBlocks.find((b, i) => commentBlocks[i + 1]?.startsWith(`${name}=`)) ?? '';
      expect([name, block]).toEqual([name, expect.stringMatching(/Default: \S+/)]);
    }
  });

  it('loads as is, and its values are the defaults', () => {
    const fromExample = Object.fromEntries([...assignments].map(([name, { value }]) => [name, value]));
    expect(loadEnv(fromExample)).toEqual(loadEnv({}));
  });
});
