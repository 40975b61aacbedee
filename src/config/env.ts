import { isIP } from 'node:net';
import { z } from 'zod';
import {
  addLogSecrets,
  configureLogging,
  LOG_FORMATS,
  LOG_LEVELS,
  type LogFormat,
  type LogLevel,
} from '../util/log.js';
import { ConfigError, type Problem } from './issues.js';
import { effectiveKeyPrefix, isHaRedisUrl, parseHaRedisUrl } from './redis-url.js';

export const SLACK_MODES = ['socket', 'http'] as const;
export type SlackMode = (typeof SLACK_MODES)[number];

/** What the problems in the environment are reported against (the "file" of a Problem). */
export const ENV_SOURCE = 'environment';

/**
 * What a command needs beyond the defaults:
 * - `slack`: the bot token plus what SLACK_MODE needs (app token for socket, signing secret for http);
 * - `slack-web`: only the bot token (Web API calls, no receiver);
 * - `slack-http`: the bot token and the signing secret whatever SLACK_MODE says.
 */
export type EnvRequirement = 'slack' | 'slack-web' | 'slack-http';

export interface Env {
  slackBotToken?: string;
  slackAppToken?: string;
  slackSigningSecret?: string;
  slackMode: SlackMode;
  /** Web API base URL ending in `/`, e.g. the local emulator's `http://127.0.0.1:3100/api/`. */
  slackApiUrl?: string;
  /** Longest pause a Slack 429's Retry-After can cause (SLACK_MAX_RETRY_AFTER, s). */
  slackMaxRetryAfterMs: number;
  httpPort: number;
  /** Address the HTTP server (receiver in HTTP mode, health endpoints in Socket Mode) binds to. */
  httpHost: string;
  redisUrl: string;
  /** The database number from REDIS_URL's `/N` path (0 when absent). */
  redisDb: number;
  /** How long `run` retries an unreachable Redis at start-up before exiting (REDIS_STARTUP_TIMEOUT, s). */
  redisStartupTimeoutMs: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
  clustersFile: string;
  runbooksDir: string;
  probeImage: string;
  /** Opt-in: the runtime's socket directory on the nodes, mounted read-only into probes (crictl pods). */
  probeCriSocketDir?: string;
  /** Namespace of the node probe pods (the bot needs create/get/delete on pods there). */
  probeNamespace: string;
  /** FLANNEL_OPS_KEY_PREFIX; on a Redis Cluster wrapped in a hash tag (`{flannel-ops}`), see config/redis-url.ts. */
  keyPrefix: string;
  /** Basic-auth credentials of the queue board at /admin/queues; unset: the board is off. */
  admin?: { user: string; password: string };
}

/** The environment once any Slack requirement passed: the bot token is there. */
export type EnvWithSlack = Env & { slackBotToken: string };

// Messages about secrets describe the shape only: the value must never reach a terminal or a log.
const secretToken = (prefix: string, kind: string) =>
  z
    .string()
    .refine((value) => value.startsWith(prefix) && value.length > prefix.length && !/\s/.test(value), {
      message: `must be a Slack ${kind} starting with "${prefix}" (value not shown)`,
    });

/** Blank values (`FOO=` in a .env file) mean "not set", so defaults apply. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess(
    (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
    schema.optional(),
  );

const withDefault = <T extends z.ZodType>(schema: T, fallback: z.input<T>) =>
  z.preprocess(
    (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
    // prefault: the fallback goes through the schema like a user value (so "3000" becomes 3000).
    schema.prefault(fallback as never),
  );

const port = z
  .string()
  .regex(/^\d+$/, 'must be a port number (0-65535)')
  .transform(Number)
  .refine((n) => n <= 65535, 'must be a port number (0-65535)');

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

const slackApiUrl = z.string().transform((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `must be an http(s) URL, got "${value}"` });
    return z.NEVER;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: `must be an http(s) URL, got "${value}"` });
    return z.NEVER;
  }
  // The Web API client appends the method name to this URL; a bare origin means the emulator's /api/.
  if (url.pathname === '/') url.pathname = '/api/';
  else if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url.toString();
});

const redisUrl = z.string().superRefine((value, ctx) => {
  const reason = redisUrlProblem(value);
  if (reason) ctx.addIssue({ code: 'custom', message: reason });
});

const envSchema = z.object({
  SLACK_BOT_TOKEN: optional(secretToken('xoxb-', 'bot token')),
  SLACK_APP_TOKEN: optional(secretToken('xapp-', 'app-level token')),
  SLACK_SIGNING_SECRET: optional(
    z.string().refine((value) => value.length >= 8 && !/\s/.test(value), {
      message:
        'must be the app\'s signing secret (from "Basic Information", 8 or more characters, no spaces; value not shown)',
    }),
  ),
  SLACK_MODE: withDefault(z.enum(SLACK_MODES), 'socket'),
  SLACK_API_URL: optional(slackApiUrl),
  SLACK_MAX_RETRY_AFTER: withDefault(
    z
      .string()
      .regex(/^\d+$/, 'must be a whole number of seconds')
      .transform(Number)
      .refine((n) => n >= 1 && n <= 3600, 'must be from 1 to 3600 seconds'),
    '60',
  ),
  HTTP_PORT: withDefault(port, '3000'),
  HTTP_HOST: withDefault(
    z
      .string()
      .refine(
        (value) => isIP(value) !== 0 || HOSTNAME.test(value),
        'must be an IP address (e.g. 0.0.0.0, 127.0.0.1, ::) or a host name',
      ),
    '0.0.0.0',
  ),
  REDIS_URL: withDefault(redisUrl, 'redis://127.0.0.1:6379'),
  REDIS_STARTUP_TIMEOUT: withDefault(
    z
      .string()
      .regex(/^\d+$/, 'must be a whole number of seconds')
      .transform(Number)
      .refine((n) => n >= 1 && n <= 3600, 'must be from 1 to 3600 seconds'),
    '60',
  ),
  LOG_LEVEL: withDefault(z.enum(LOG_LEVELS), 'info'),
  LOG_FORMAT: withDefault(z.enum(LOG_FORMATS), 'auto'),
  FLANNEL_OPS_CLUSTERS: withDefault(z.string(), './clusters.yaml'),
  FLANNEL_OPS_RUNBOOKS: withDefault(z.string(), './runbooks'),
  FLANNEL_OPS_PROBE_IMAGE: withDefault(
    z.string().regex(/^[\w.\-/:@]+$/, 'must be a container image reference like busybox:1.36'),
    'busybox:1.36',
  ),
  FLANNEL_OPS_PROBE_CRI_SOCKET_DIR: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z
      .string()
      .regex(/^\/[A-Za-z0-9._/-]+$/, 'must be an absolute path on the nodes, like /run/containerd')
      .optional(),
  ),
  FLANNEL_OPS_PROBE_NAMESPACE: withDefault(
    z
      .string()
      .regex(
        /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
        'must be a Kubernetes namespace name (lowercase letters, digits and "-", at most 63 characters)',
      ),
    'kube-system',
  ),
  FLANNEL_OPS_ADMIN_USER: optional(
    z.string().regex(/^[^:\s]{1,64}$/, 'must be 1 to 64 characters, without ":" or spaces'),
  ),
  FLANNEL_OPS_ADMIN_PASSWORD: optional(
    z.string().refine((value) => value.length >= 12 && value.length <= 256, {
      message: 'must be 12 to 256 characters (value not shown)',
    }),
  ),
  FLANNEL_OPS_KEY_PREFIX: withDefault(
    // BullMQ joins prefix and queue name with ":"; keep the prefix itself free of separators and spaces.
    z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be letters, digits, ".", "_" or "-" (no ":" or spaces)'),
    'flannel-ops',
  ),
});

/** Every variable loadEnv reads (for docs, .env.example and messages). */
export const ENV_VARIABLES = Object.keys(envSchema.shape) as ReadonlyArray<keyof typeof envSchema.shape>;

/** Why a Redis URL is unusable, or undefined when it is fine. Never repeats the password. */
export function redisUrlProblem(value: string): string | undefined {
  if (isHaRedisUrl(value)) {
    const parsed = parseHaRedisUrl(value);
    return 'problem' in parsed ? parsed.problem : undefined;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be a URL like redis://127.0.0.1:6379 or redis://:PASSWORD@host:6379/2';
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    return `must use the redis://, rediss://, redis+sentinel:// or redis+cluster:// scheme, got "${url.protocol}"`;
  }
  if (!url.hostname) return 'must name a host, e.g. redis://127.0.0.1:6379';
  const path = url.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d+$/.test(path)) return `the path must be a database number like /2, got "/${path}"`;
  return undefined;
}

/** The `/N` database number of a Redis URL, 0 when absent. */
export function redisDbFromUrl(value: string): number {
  if (isHaRedisUrl(value)) {
    const parsed = parseHaRedisUrl(value);
    return 'target' in parsed && parsed.target.kind === 'sentinel' ? parsed.target.db : 0;
  }
  const path = new URL(value).pathname.replace(/^\//, '');
  return path === '' ? 0 : Number(path);
}

/** A Redis URL safe to print: the password replaced by `***`. */
export function redactRedisUrl(value: string): string {
  // Textual, so a value that is not even a valid URL can still be quoted in an error without its password.
  return value.replace(/\/\/([^:@/]*):([^@/]*)@/, '//$1:***@');
}

/**
 * Validates the environment and returns it typed. Every problem (wrong format, missing
 * requirement) is reported at once in a ConfigError whose entries name the variable.
 */
export function loadEnv(
  env: NodeJS.ProcessEnv,
  options: { require: [EnvRequirement, ...EnvRequirement[]] },
): EnvWithSlack;
export function loadEnv(env?: NodeJS.ProcessEnv, options?: { require?: EnvRequirement[] }): Env;
export function loadEnv(
  env: NodeJS.ProcessEnv = process.env,
  options: { require?: EnvRequirement[] } = {},
): Env {
  const result = envSchema.safeParse(env);
  const problems: Problem[] = [];
  if (!result.success) {
    for (const issue of result.error.issues) {
      const field = String(issue.path[0] ?? '(environment)');
      // Enums are never secrets, so the rejected value may be shown to help spot the typo.
      const message =
        issue.code === 'invalid_value'
          ? `must be one of ${issue.values.join(', ')}, got "${env[field]}"`
          : issue.message;
      problems.push({ file: ENV_SOURCE, field, message });
    }
    // Requirements are only meaningful once the formats are right; report formats first.
    throw new ConfigError(problems);
  }
  const v = result.data;
  const parsed: Env = {
    slackBotToken: v.SLACK_BOT_TOKEN,
    slackAppToken: v.SLACK_APP_TOKEN,
    slackSigningSecret: v.SLACK_SIGNING_SECRET,
    slackMode: v.SLACK_MODE,
    slackApiUrl: v.SLACK_API_URL,
    slackMaxRetryAfterMs: v.SLACK_MAX_RETRY_AFTER * 1000,
    httpPort: v.HTTP_PORT,
    httpHost: v.HTTP_HOST,
    redisUrl: v.REDIS_URL,
    redisDb: redisDbFromUrl(v.REDIS_URL),
    redisStartupTimeoutMs: v.REDIS_STARTUP_TIMEOUT * 1000,
    logLevel: v.LOG_LEVEL,
    logFormat: v.LOG_FORMAT,
    clustersFile: v.FLANNEL_OPS_CLUSTERS,
    runbooksDir: v.FLANNEL_OPS_RUNBOOKS,
    probeImage: v.FLANNEL_OPS_PROBE_IMAGE,
    probeNamespace: v.FLANNEL_OPS_PROBE_NAMESPACE,
    ...(v.FLANNEL_OPS_PROBE_CRI_SOCKET_DIR && { probeCriSocketDir: v.FLANNEL_OPS_PROBE_CRI_SOCKET_DIR }),
    keyPrefix: effectiveKeyPrefix(v.FLANNEL_OPS_KEY_PREFIX, v.REDIS_URL),
    ...(v.FLANNEL_OPS_ADMIN_USER &&
      v.FLANNEL_OPS_ADMIN_PASSWORD && {
        admin: { user: v.FLANNEL_OPS_ADMIN_USER, password: v.FLANNEL_OPS_ADMIN_PASSWORD },
      }),
  };
  // The queue board needs both; one alone is a mistake, not a request to leave it open or off silently.
  if (!v.FLANNEL_OPS_ADMIN_USER !== !v.FLANNEL_OPS_ADMIN_PASSWORD) {
    const [field, other] = v.FLANNEL_OPS_ADMIN_USER
      ? ['FLANNEL_OPS_ADMIN_PASSWORD', 'FLANNEL_OPS_ADMIN_USER']
      : ['FLANNEL_OPS_ADMIN_USER', 'FLANNEL_OPS_ADMIN_PASSWORD'];
    problems.push({
      file: ENV_SOURCE,
      field,
      message: `required when ${other} is set (the queue board at /admin/queues needs both)`,
    });
  }
  problems.push(...missingRequirements(parsed, options.require ?? []));
  if (problems.length > 0) throw new ConfigError(problems);
  return parsed;
}

/** Which required variables are unset, with the reason each one is needed. */
export function missingRequirements(env: Env, requirements: readonly EnvRequirement[]): Problem[] {
  const missing = new Map<string, string>();
  const need = (name: string, present: unknown, why: string) => {
    if (!present && !missing.has(name)) missing.set(name, `required ${why}`);
  };
  for (const requirement of requirements) {
    need('SLACK_BOT_TOKEN', env.slackBotToken, 'to talk to Slack (the bot token, xoxb-...)');
    if (requirement === 'slack' && env.slackMode === 'socket') {
      need('SLACK_APP_TOKEN', env.slackAppToken, 'for SLACK_MODE=socket (the app-level token, xapp-...)');
    }
    if ((requirement === 'slack' && env.slackMode === 'http') || requirement === 'slack-http') {
      need(
        'SLACK_SIGNING_SECRET',
        env.slackSigningSecret,
        'for the HTTP receiver, to verify requests come from Slack',
      );
    }
  }
  return [...missing].map(([field, message]) => ({ file: ENV_SOURCE, field, message }));
}

/** The secret values in an Env, for the logger's redaction list. */
export function envSecrets(env: Env): string[] {
  return [env.slackBotToken, env.slackAppToken, env.slackSigningSecret, env.admin?.password].filter(
    (s): s is string => !!s,
  );
}

/** Applies LOG_LEVEL/LOG_FORMAT to the process logger and registers the secrets it must redact. */
export function configureLoggingFromEnv(env: Env): void {
  configureLogging({ level: env.logLevel, format: env.logFormat });
  addLogSecrets(...envSecrets(env));
}
