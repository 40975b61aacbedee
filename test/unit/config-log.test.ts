import { afterEach, describe, expect, it } from '@jest/globals';
import { configureLoggingFromEnv, loadEnv } from '../../src/config/env.js';
import {
  configureLogging,
  createLogger,
  log,
  redact,
  resolveLogFormat,
  type LoggerOptions,
} from '../../src/util/log.js';

const BOT = 'xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp';
const APP = 'xapp-1-A0123456789-1234567890123-abcdef0123456789';
const USER = 'xoxp-1111-2222-3333-deadbeef';
const SIGNING = '8f742231b10e8888abcd99yyyzzz85a5';
const FIXED_TIME = new Date('2025-01-02T03:04:05.000Z');

function capture(options: Partial<LoggerOptions> = {}) {
  const lines: string[] = [];
  const logger = createLogger({
    format: 'json',
    level: 'debug',
    now: () => FIXED_TIME,
    write: (l) => lines.push(l),
    ...options,
  });
  return { logger, lines };
}

describe('logger', () => {
  it('writes one JSON object per line with time, level, message and fields', () => {
    const { logger, lines } = capture();
    logger.child({ module: 'detect' }).info('incident opened', { cluster: 'prod', events: 3 });
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      {
        time: '2025-01-02T03:04:05.000Z',
        level: 'info',
        msg: 'incident opened',
        module: 'detect',
        cluster: 'prod',
        events: 3,
      },
    ]);
  });

  it('drops records below LOG_LEVEL', () => {
    const { logger, lines } = capture({ level: 'warn' });
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(lines.map((l) => JSON.parse(l).level)).toEqual(['warn', 'error']);
    expect(logger.isLevelEnabled('info')).toBe(false);
  });

  it('prints plain lines when asked', () => {
    const { logger, lines } = capture({ format: 'plain' });
    logger.warn('slack rate limited', { channel: 'C0123PROD', retryAfter: 3, note: 'two words' });
    expect(lines).toEqual([
      '2025-01-02T03:04:05.000Z WARN  slack rate limited channel=C0123PROD retryAfter=3 note="two words"',
    ]);
  });

  it('redacts Slack tokens, bearer tokens and URL passwords in messages, fields, nested values and errors', () => {
    const { logger, lines } = capture();
    const err = new Error(`auth failed for ${BOT}`);
    logger.error(`posting with ${BOT} and ${USER} failed`, {
      request: { headers: { Authorization: `Bearer ${BOT}`, 'x-note': `app token ${APP}` } },
      url: 'redis://:hunter2@redis.internal:6379/2',
      list: [`Bearer abc.def.ghi`],
      err,
    });
    const [line] = lines;
    for (const secret of [BOT, USER, APP, 'hunter2', 'abc.def.ghi', '1234567890'])
      expect(line).not.toContain(secret);
    const record = JSON.parse(line);
    expect(record.msg).toBe('posting with xoxb-[REDACTED] and xoxp-[REDACTED] failed');
    expect(record.request.headers.Authorization).toBe('[REDACTED]');
    expect(record.request.headers['x-note']).toBe('app token xapp-[REDACTED]');
    expect(record.url).toBe('redis://:[REDACTED]@redis.internal:6379/2');
    expect(record.list).toEqual(['Bearer [REDACTED]']);
    expect(record.err.message).toBe('auth failed for xoxb-[REDACTED]');
    expect(record.err.stack).toContain('auth failed for xoxb-[REDACTED]');
  });

  it('redacts secret-named fields whatever their value, and registered secrets anywhere', () => {
    const { logger, lines } = capture({ secrets: [SIGNING] });
    logger.info(`verifying with ${SIGNING}`, {
      signingSecret: 'anything',
      botToken: 'x',
      tokenCount: 2,
      raw: `v0:${SIGNING}`,
    });
    const record = JSON.parse(lines[0]);
    expect(record).toMatchObject({
      msg: 'verifying with [REDACTED]',
      signingSecret: '[REDACTED]',
      botToken: '[REDACTED]',
      tokenCount: 2,
      raw: 'v0:[REDACTED]',
    });
  });

  it('survives circular fields', () => {
    const { logger, lines } = capture();
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    logger.info('cycle', { a });
    expect(JSON.parse(lines[0]).a).toEqual({ name: 'a', self: '[Circular]' });
  });

  it('pretty-prints through pino-pretty, redacted, with cluster text made inert for a terminal', () => {
    const { logger, lines } = capture({ format: 'pretty' });
    const hostile = 'web-\u001b[2J\u001b]0;pwned\u0007-x\nFAKE 03:04:05 INFO forged line';
    logger
      .child({ module: 'detect' })
      .warn(`pod ${hostile} stuck`, { pod: hostile, token: BOT, note: `via ${BOT}` });
    const out = lines.join('\n');
    expect(out).toContain('WARN');
    expect(out).toContain(
      'pod web-\\u001B[2J\\u001B]0;pwned\\u0007-x\\u000AFAKE 03:04:05 INFO forged line stuck',
    );
    expect(out).toMatch(/module: "detect"/);
    expect(out).not.toContain(BOT);
    expect(out).toContain('xoxb-[REDACTED]');
    expect(out).not.toContain('\u001b');
    expect(out).not.toMatch(/^FAKE/m);
  });

  it('escapes C1, bidi and zero-width characters in JSON lines too', () => {
    const { logger, lines } = capture();
    logger.info('name', { pod: 'a\u202Eb\u009Bc\u200Bd' });
    expect(lines[0]).not.toMatch(/[\u202E\u009B\u200B]/);
    expect(JSON.parse(lines[0]).pod).toBe('a\u202Eb\u009Bc\u200Bd');
  });

  it('LOG_FORMAT=auto means pretty on a terminal and JSON otherwise', () => {
    expect(resolveLogFormat('auto', true)).toBe('pretty');
    expect(resolveLogFormat('auto', false)).toBe('json');
    expect(resolveLogFormat('plain', true)).toBe('plain');
    expect(resolveLogFormat('json', true)).toBe('json');
  });

  it('redact() is usable on its own', () => {
    expect(redact(`token=${BOT}`)).toBe('token=xoxb-[REDACTED]');
  });
});

describe('process logger configured from the environment', () => {
  afterEach(() =>
    configureLogging({
      level: 'info',
      format: 'json',
      secrets: [],
      write: (l) => process.stderr.write(`${l}\n`),
    }),
  );

  it('takes level and format from the env and never writes the signing secret', () => {
    const lines: string[] = [];
    configureLogging({ write: (l) => lines.push(l) });
    const env = loadEnv({ LOG_LEVEL: 'warn', LOG_FORMAT: 'plain', SLACK_SIGNING_SECRET: SIGNING });
    configureLoggingFromEnv(env);
    const child = log.child({ module: 'receiver' });
    child.info('not shown');
    child.warn(`bad signature; expected HMAC with ${SIGNING}`);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/ WARN {2}bad signature; expected HMAC with \[REDACTED\] module=receiver$/);
  });
});
