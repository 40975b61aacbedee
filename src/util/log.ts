/**
 * The structured logger, on pino: one record per line on stderr (stdout stays free for command output),
 * filtered by level, as JSON (the default when stderr is not a terminal), pino-pretty's coloured lines
 * (`pretty`, the default on a terminal) or one `key=value` line (`plain`). Every Slack token, bearer token, URL
 * password and registered secret is redacted wherever it appears (message, fields, error messages and
 * stacks) before pino sees the record, and text bound for a terminal is sanitised (src/util/sanitize.ts):
 * a value from a cluster cannot recolour the terminal or forge a line of its own.
 *
 * Modules keep the small interface below (`log.child({ module }).info(msg, fields)`); the process-wide root
 * is reconfigured in place at start-up (LOG_LEVEL, LOG_FORMAT, secrets) and its children follow.
 */
import { createRequire } from 'node:module';
import { pino, type Logger as PinoLogger } from 'pino';
import type { PrettyOptions } from 'pino-pretty';
import { sanitizeText, terminalJson } from './sanitize.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** `auto`: pretty when stderr is a terminal, else json. */
export const LOG_FORMATS = ['auto', 'json', 'pretty', 'plain'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` (e.g. `{ module: 'detect', cluster: 'prod' }`) to every record. */
  child(fields: LogFields): Logger;
  isLevelEnabled(level: LogLevel): boolean;
}

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  /** Exact values to hide (the signing secret has no recognisable shape, so it must be listed). */
  secrets: string[];
  /** Where lines go; defaults to stderr. Receives one line without the trailing newline. */
  write: (line: string) => void;
  now: () => Date;
}

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const REDACTED = '[REDACTED]';

const TOKEN_PATTERNS: Array<[RegExp, string]> = [
  // Slack tokens: bot, user, app-level, config/refresh (xoxb-, xoxp-, xoxa-, xoxe-, xapp-, ...).
  [/\b(xox[a-z]|xapp)-[A-Za-z0-9-]+/g, `$1-${REDACTED}`],
  [/\b(bearer)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${REDACTED}`],
  // Passwords in URLs (redis://:pw@host, https://user:pw@host).
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/]*):[^\s@/]+@/gi, `$1:${REDACTED}@`],
];

// Field names whose values are secrets whatever they look like (botToken, signingSecret, authorization...).
const SECRET_KEY = /(token|secret|password|passwd|authorization|cookie|signature|api[-_]?key)$/i;

/** Replaces every recognisable or registered secret in `text`. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    // Very short values would redact ordinary words; real secrets are long.
    if (secret.length >= 6) out = out.split(secret).join(REDACTED);
  }
  for (const [pattern, replacement] of TOKEN_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/** A JSON-safe copy of `value` with secrets redacted, errors expanded, cycles and depth bounded. */
export function redactValue(
  value: unknown,
  secrets: readonly string[] = [],
  depth = 0,
  seen = new WeakSet(),
): unknown {
  if (typeof value === 'string') return redact(value, secrets);
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') {
    return typeof value === 'function' || typeof value === 'symbol' ? String(value) : value;
  }
  if (seen.has(value)) return '[Circular]';
  if (depth >= 8) return '[Too deep]';
  seen.add(value);
  if (value instanceof Error) {
    const err = value as Error & { code?: unknown; cause?: unknown };
    return {
      name: err.name,
      message: redact(err.message, secrets),
      ...(err.code !== undefined && { code: redactValue(err.code, secrets, depth + 1, seen) }),
      ...(err.stack && { stack: redact(err.stack, secrets) }),
      ...(err.cause !== undefined && { cause: redactValue(err.cause, secrets, depth + 1, seen) }),
    };
  }
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((item) => redactValue(item, secrets, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] =
      SECRET_KEY.test(key) && item !== undefined && item !== null && item !== ''
        ? REDACTED
        : redactValue(item, secrets, depth + 1, seen);
  }
  return out;
}

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && value in LEVEL_ORDER;
}

function isLogFormat(value: unknown): value is LogFormat {
  return typeof value === 'string' && (LOG_FORMATS as readonly string[]).includes(value);
}

function defaultOptions(): LoggerOptions {
  const envLevel = process.env.LOG_LEVEL;
  const envFormat = process.env.LOG_FORMAT;
  return {
    level: isLogLevel(envLevel) ? envLevel : 'info',
    format: isLogFormat(envFormat) ? envFormat : 'auto',
    secrets: [],
    write: (line) => process.stderr.write(`${line}\n`),
    now: () => new Date(),
  };
}

/** Creates an independent logger (tests pass `write` to capture lines). */
export function createLogger(options: Partial<LoggerOptions> = {}, fields: LogFields = {}): Logger {
  return makeLogger({ options: { ...defaultOptions(), ...options } }, fields);
}

/** Options and the pino instance built from them (rebuilt after a change). */
interface LoggerState {
  options: LoggerOptions;
  pino?: PinoLogger;
}

// The process-wide root: configured once at start-up, shared (by reference) with all its children.
const rootState: LoggerState = { options: defaultOptions() };

/** The process-wide logger; modules take `log.child({ module: 'x' })`. */
export const log: Logger = makeLogger(rootState, {});

/** Reconfigures `log` and every child made from it (level, format, secrets, destination). */
export function configureLogging(options: Partial<LoggerOptions>): void {
  Object.assign(rootState.options, options);
  rootState.pino = undefined;
}

/** Adds values to redact on the root logger, e.g. the Slack tokens and signing secret at start-up. */
export function addLogSecrets(...secrets: Array<string | undefined>): void {
  const options = rootState.options;
  for (const secret of secrets) {
    if (secret && !options.secrets.includes(secret)) options.secrets = [...options.secrets, secret];
  }
}

/** The format `auto` stands for here: pretty on a terminal, JSON for collectors. */
export function resolveLogFormat(
  format: LogFormat,
  isTTY = !!process.stderr.isTTY,
): Exclude<LogFormat, 'auto'> {
  if (format !== 'auto') return format;
  return isTTY ? 'pretty' : 'json';
}

function pinoFor(state: LoggerState): PinoLogger {
  if (state.pino) return state.pino;
  const { options } = state;
  const format = resolveLogFormat(options.format);
  const toLine = lineFormatter(format);
  state.pino = pino(
    {
      level: options.level,
      base: undefined,
      messageKey: 'msg',
      // Errors arrive already expanded and redacted (redactValue): pino's own err serializer must not rework them.
      serializers: { err: (err: unknown) => err },
      timestamp: () => `,"time":"${options.now().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
    },
    { write: (chunk: string) => options.write(toLine(chunk.replace(/\n$/, ''))) },
  );
  return state.pino;
}

/** Turns pino's JSON line into the configured format. */
function lineFormatter(format: Exclude<LogFormat, 'auto'>): (json: string) => string {
  if (format === 'json') return terminalJson;
  if (format === 'plain') {
    return (json) => {
      const { time, level, msg, ...data } = JSON.parse(json) as LogFields;
      return formatPlain(String(time), String(level) as LogLevel, String(msg), data);
    };
  }
  // Loaded only when used: a JSON-logging process (production) never pays for it at start-up.
  const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as {
    prettyFactory(options: PrettyOptions): (json: string) => string;
  };
  const prettify = prettyFactory({
    colorize: !!process.stderr.isTTY,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
    singleLine: false,
  });
  return (json) => prettify(json).replace(/\n$/, '');
}

function makeLogger(state: LoggerState, bound: LogFields): Logger {
  const emit = (level: LogLevel, message: string, fields?: LogFields) => {
    const { options } = state;
    if (LEVEL_ORDER[level] < LEVEL_ORDER[options.level]) return;
    let data = redactValue({ ...bound, ...fields }, options.secrets) as LogFields;
    let msg = redact(message, options.secrets);
    if (resolveLogFormat(options.format) !== 'json') {
      // Bound for a terminal: no control, bidi or zero-width character, no forged line (stacks keep theirs).
      msg = sanitizeText(msg, { multiline: false });
      data = forTerminal(data) as LogFields;
    }
    pinoFor(state)[level](data, msg);
  };
  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
    child: (fields) => makeLogger(state, { ...bound, ...fields }),
    isLevelEnabled: (level) => LEVEL_ORDER[level] >= LEVEL_ORDER[state.options.level],
  };
}

/** Strings of a redacted (JSON-safe) value sanitised for a terminal; `stack` keeps its line breaks. */
function forTerminal(value: unknown, key = ''): unknown {
  if (typeof value === 'string') return sanitizeText(value, { multiline: key === 'stack' });
  if (Array.isArray(value)) return value.map((item) => forTerminal(item));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [sanitizeText(k, { multiline: false }), forTerminal(v, k)]),
    );
  }
  return value;
}

function formatPlain(time: string, level: LogLevel, message: string, data: LogFields): string {
  const pairs = Object.entries(data)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${plainValue(value)}`);
  return [time, level.toUpperCase().padEnd(5), message, ...pairs].join(' ');
}

function plainValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}
