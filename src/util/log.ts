/**
 * A small structured logger: one line per record (JSON or plain text) on stderr, filtered by level,
 * with every Slack token, bearer token, URL password and registered secret redacted wherever it
 * appears (message, fields, error messages and stacks). stdout stays free for command output.
 */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'plain'] as const;
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

function defaultOptions(): LoggerOptions {
  const envLevel = process.env.LOG_LEVEL;
  const envFormat = process.env.LOG_FORMAT;
  return {
    level: isLogLevel(envLevel) ? envLevel : 'info',
    format: envFormat === 'plain' ? 'plain' : 'json',
    secrets: [],
    write: (line) => process.stderr.write(`${line}\n`),
    now: () => new Date(),
  };
}

/** Creates an independent logger (tests pass `write` to capture lines). */
export function createLogger(options: Partial<LoggerOptions> = {}, fields: LogFields = {}): Logger {
  return makeLogger({ ...defaultOptions(), ...options }, fields);
}

// The process-wide root: configured once at start-up, shared (by reference) with all its children.
const rootOptions: LoggerOptions = defaultOptions();

/** The process-wide logger; modules take `log.child({ module: 'x' })`. */
export const log: Logger = makeLogger(rootOptions, {});

/** Reconfigures `log` and every child made from it (level, format, secrets, destination). */
export function configureLogging(options: Partial<LoggerOptions>): void {
  Object.assign(rootOptions, options);
}

/** Adds values to redact on the root logger, e.g. the Slack tokens and signing secret at start-up. */
export function addLogSecrets(...secrets: Array<string | undefined>): void {
  for (const secret of secrets) {
    if (secret && !rootOptions.secrets.includes(secret))
      rootOptions.secrets = [...rootOptions.secrets, secret];
  }
}

function makeLogger(options: LoggerOptions, bound: LogFields): Logger {
  const emit = (level: LogLevel, message: string, fields?: LogFields) => {
    if (LEVEL_ORDER[level] < LEVEL_ORDER[options.level]) return;
    const data = redactValue({ ...bound, ...fields }, options.secrets) as LogFields;
    const msg = redact(message, options.secrets);
    const time = options.now().toISOString();
    options.write(
      options.format === 'json'
        ? JSON.stringify({ time, level, msg, ...data })
        : formatPlain(time, level, msg, data),
    );
  };
  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
    child: (fields) => makeLogger(options, { ...bound, ...fields }),
    isLevelEnabled: (level) => LEVEL_ORDER[level] >= LEVEL_ORDER[options.level],
  };
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
