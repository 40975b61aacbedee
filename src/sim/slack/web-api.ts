/**
 * The Web API methods the bot calls, answering with Slack's real shapes and error codes. HTTP-free:
 * the server hands it the method, headers and raw body, and writes back the result.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { MAX_BLOCKS, MAX_MESSAGE_TEXT, blockProblems } from './blocks.js';
import type { FaultState } from './faults.js';
import type { RateLimits } from './rate-limits.js';
import type { SocketModeServer } from './socket.js';
import { APP_ID, BOT_ID, BOT_NAME, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID } from './seed.js';
import { type SlackStore, StoreError } from './store.js';
import type { EmulatorMessage, EmulatorUser, WebApiCall } from './types.js';

export interface WebApiResult {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  /** Hold the answer back this long (an injected slow answer). */
  delayMs?: number;
}

export interface WebApiDeps {
  store: SlackStore;
  faults: FaultState;
  botToken: string;
  /** Socket Mode's app-level token: the only token apps.connections.open takes. */
  appToken?: string;
  socket?: SocketModeServer;
  rateLimits: RateLimits;
  /** The bot token's scopes. */
  scopes: ReadonlySet<string>;
  workspaceName: string;
  /** The emulator's base URL (known only once the server listens). */
  baseUrl(): string;
}

type Params = Record<string, unknown>;

/** A Slack `ok: false` answer; thrown inside method handlers. */
class SlackApiError extends Error {
  constructor(
    readonly code: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(code);
  }
}

/** Scopes a method needs (any one of them), as Slack's method pages list them. */
const METHOD_SCOPES: Record<string, string[]> = {
  'chat.postMessage': ['chat:write'],
  'chat.postEphemeral': ['chat:write'],
  'chat.update': ['chat:write'],
  'chat.delete': ['chat:write'],
  'conversations.history': ['channels:history', 'groups:history', 'im:history'],
  'conversations.replies': ['channels:history', 'groups:history', 'im:history'],
  'usergroups.list': ['usergroups:read'],
  'usergroups.users.list': ['usergroups:read'],
};

const JSON_HEADERS = { 'Content-Type': 'application/json; charset=utf-8' };

/** Form bodies carry every value as a string; JSON bodies may carry real arrays and objects. */
export function parseParams(contentType: string | undefined, rawBody: string): Params {
  if (rawBody.trim() === '') return {};
  if ((contentType ?? '').includes('application/json')) {
    try {
      const parsed: unknown = JSON.parse(rawBody);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Params;
    } catch {
      // fall through: Slack answers invalid_json below
    }
    throw new SlackApiError('invalid_json');
  }
  return Object.fromEntries(new URLSearchParams(rawBody));
}

function bearer(headers: Record<string, string | string[] | undefined>, params: Params): string | undefined {
  const header = headers.authorization;
  const value = Array.isArray(header) ? header[0] : header;
  const m = value ? /^Bearer\s+(\S+)$/i.exec(value) : null;
  if (m) return m[1];
  return typeof params.token === 'string' ? params.token : undefined;
}

const optionalString = z
  .union([z.string(), z.number()])
  .transform((v) => String(v))
  .optional();

function parseArgs<T extends z.ZodRawShape>(shape: T, params: Params): z.infer<z.ZodObject<T>> {
  const parsed = z.object(shape).safeParse(params);
  if (parsed.success) return parsed.data;
  const messages = parsed.error.issues.map((i) => `[ERROR] ${i.message} [json-pointer:/${i.path.join('/')}]`);
  throw new SlackApiError('invalid_arguments', { response_metadata: { messages } });
}

/** `blocks` arrives as a JSON string (form) or an array (JSON body); Slack checks it before anything else. */
function readBlocks(value: unknown): unknown[] | undefined {
  if (value === undefined || value === '') return undefined;
  let blocks = value;
  if (typeof value === 'string') {
    try {
      blocks = JSON.parse(value);
    } catch {
      throw new SlackApiError('invalid_blocks_format');
    }
  }
  if (!Array.isArray(blocks)) throw new SlackApiError('invalid_blocks_format');
  if (blocks.length > MAX_BLOCKS || blockTextLength(blocks) > MAX_TOTAL_BLOCK_TEXT)
    throw new SlackApiError('msg_blocks_too_long');
  const problems = blockProblems(blocks);
  if (problems.length > 0)
    throw new SlackApiError('invalid_blocks', {
      errors: problems,
      response_metadata: { messages: problems.map((p) => `[ERROR] ${p}`) },
    });
  return withBlockIds(blocks);
}

/** Slack refuses messages whose blocks hold more than about this much text in all (stack.md §1.3). */
export const MAX_TOTAL_BLOCK_TEXT = 13_200;

/** The characters of every `text` string inside the blocks. */
function blockTextLength(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + blockTextLength(v), 0);
  if (typeof value !== 'object' || value === null) return 0;
  let n = 0;
  for (const [k, v] of Object.entries(value))
    n += k === 'text' && typeof v === 'string' ? v.length : blockTextLength(v);
  return n;
}

/** Slack gives every block without a block_id a random one, and payloads carry it. */
function withBlockIds(blocks: unknown[]): unknown[] {
  return blocks.map((b) =>
    typeof b === 'object' && b !== null && !('block_id' in b)
      ? { ...b, block_id: randomBytes(3).toString('base64url') }
      : b,
  );
}

function readText(value: string | undefined): string | undefined {
  if (value !== undefined && value.length > MAX_MESSAGE_TEXT) throw new SlackApiError('msg_too_long');
  return value;
}

/** A message as the Web API returns it. */
function apiMessage(m: EmulatorMessage, byBot: boolean): Record<string, unknown> {
  return {
    type: 'message',
    ...(byBot ? { bot_id: BOT_ID, app_id: APP_ID } : {}),
    user: m.user,
    text: m.text,
    ts: m.ts,
    team: TEAM_ID,
    ...(m.blocks ? { blocks: m.blocks } : {}),
    ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
    ...(m.edited ? { edited: m.edited } : {}),
    ...(m.replies.length > 0 ? { thread_ts: m.ts, reply_count: m.replies.length } : {}),
  };
}

function apiUser(u: EmulatorUser): Record<string, unknown> {
  return {
    id: u.id,
    team_id: TEAM_ID,
    name: u.name,
    real_name: u.realName,
    deleted: false,
    is_bot: u.isBot,
    is_admin: false,
    tz: 'Etc/UTC',
    profile: { real_name: u.realName, display_name: u.realName, team: TEAM_ID },
  };
}

export class WebApi {
  private readonly received: WebApiCall[] = [];

  constructor(private readonly deps: WebApiDeps) {}

  calls(): WebApiCall[] {
    return this.received.map((c) => ({ ...c }));
  }

  handle(
    method: string,
    headers: Record<string, string | string[] | undefined>,
    contentType: string | undefined,
    rawBody: string,
  ): WebApiResult {
    let params: Params = {};
    let result: WebApiResult;
    const delayMs = this.deps.faults.takeDelay(method);
    try {
      params = parseParams(contentType, rawBody);
      result = this.answer(method, headers, params);
    } catch (err) {
      result = this.errorResult(err);
    }
    if (delayMs > 0) result = { ...result, delayMs };
    const body = result.body as { ok?: boolean; error?: string } | undefined;
    this.received.push({
      method,
      ...(typeof params.channel === 'string' ? { channel: params.channel } : {}),
      at: Date.now(),
      status: result.status,
      ...(body?.ok === false && body.error ? { error: body.error } : {}),
    });
    return result;
  }

  private answer(
    method: string,
    headers: Record<string, string | string[] | undefined>,
    params: Params,
  ): WebApiResult {
    const fault = this.deps.faults.take();
    if (fault?.kind === 'rate-limited')
      return {
        status: 429,
        headers: { ...JSON_HEADERS, 'Retry-After': String(fault.retryAfterSeconds) },
        body: { ok: false, error: 'ratelimited' },
      };
    if (fault?.kind === 'failed')
      return { status: fault.status, headers: JSON_HEADERS, body: { ok: false, error: 'internal_error' } };

    const token = bearer(headers, params);
    if (token === undefined) throw new SlackApiError('not_authed');
    const { appToken, botToken, socket } = this.deps;
    if (method === 'apps.connections.open') {
      if (appToken !== undefined && token === appToken && socket)
        return { status: 200, headers: JSON_HEADERS, body: { ok: true, url: socket.open() } };
      // A bot token here (or an app whose Socket Mode is off) is refused as Slack refuses it.
      throw new SlackApiError(token === botToken ? 'not_allowed_token_type' : 'invalid_auth');
    }
    if (appToken !== undefined && token === appToken) throw new SlackApiError('not_allowed_token_type');
    if (token !== botToken) throw new SlackApiError('invalid_auth');
    const handler = this.methods[method];
    if (!handler) throw new SlackApiError('unknown_method', { req_method: method });
    const needed = METHOD_SCOPES[method];
    if (needed && !needed.some((s) => this.deps.scopes.has(s)))
      throw new SlackApiError('missing_scope', {
        needed: needed.join(','),
        provided: [...this.deps.scopes].join(','),
      });
    const channelParam = typeof params.channel === 'string' ? params.channel : undefined;
    const retryAfter = this.deps.rateLimits.take(
      method,
      channelParam && (this.deps.store.findChannel(channelParam)?.id ?? channelParam),
    );
    if (retryAfter > 0)
      return {
        status: 429,
        headers: { ...JSON_HEADERS, 'Retry-After': String(retryAfter) },
        body: { ok: false, error: 'ratelimited' },
      };
    return { status: 200, headers: JSON_HEADERS, body: { ok: true, ...handler(params) } };
  }

  private errorResult(err: unknown): WebApiResult {
    if (err instanceof SlackApiError)
      return { status: 200, headers: JSON_HEADERS, body: { ok: false, error: err.code, ...err.extra } };
    if (err instanceof StoreError)
      return { status: 200, headers: JSON_HEADERS, body: { ok: false, error: err.code } };
    return {
      status: 500,
      headers: JSON_HEADERS,
      body: { ok: false, error: 'internal_error', detail: (err as Error).message },
    };
  }

  /**
   * The channel a call names, as the bot may use it. A private channel or DM the bot is not in does not
   * exist for it (`channel_not_found`); in a public channel it is not in, it may look (`info`) but not
   * read or write (`not_in_channel`). `channel=U…` is the bot's DM with that person (chat.postMessage).
   */
  private channelId(value: unknown, use: 'info' | 'read' | 'write' = 'write'): string {
    const { store } = this.deps;
    let channel = typeof value === 'string' ? store.findChannel(value) : undefined;
    if (!channel && use === 'write' && typeof value === 'string' && /^[UW][A-Z0-9]+$/.test(value))
      channel = store.imWith(value);
    if (!channel) throw new SlackApiError('channel_not_found');
    if (channel.botMember === false) {
      if (channel.kind === 'private' || channel.kind === 'im') throw new SlackApiError('channel_not_found');
      // chat:write.public lets a bot write (not read) in public channels it has not joined.
      const publicWrite = use === 'write' && this.deps.scopes.has('chat:write.public');
      if (use !== 'info' && !publicWrite) throw new SlackApiError('not_in_channel');
    }
    return channel.id;
  }

  /** chat.postMessage and chat.postEphemeral: blocks are checked first, then text; one must be given. */
  private postAsBot(
    channel: string,
    params: Params,
    args: { text?: string; thread_ts?: string },
    ephemeralTo?: string,
  ): EmulatorMessage {
    const blocks = readBlocks(params.blocks);
    const text = readText(args.text);
    if ((text === undefined || text === '') && blocks === undefined) throw new SlackApiError('no_text');
    return this.deps.store.post({
      channel,
      user: BOT_USER_ID,
      text: text ?? '',
      blocks,
      thread_ts: args.thread_ts || undefined,
      // Slack accepts a thread_ts that names no message (the reply is lost from view); so does the emulator.
      allowOrphan: true,
      ...(ephemeralTo !== undefined ? { ephemeral_to: ephemeralTo } : {}),
    });
  }

  private readonly methods: Record<string, (params: Params) => Record<string, unknown>> = {
    'api.test': (params) => ({ args: params }),

    'auth.test': () => ({
      url: `${this.deps.baseUrl()}/`,
      team: this.deps.workspaceName,
      user: BOT_NAME,
      team_id: TEAM_ID,
      user_id: BOT_USER_ID,
      bot_id: BOT_ID,
      is_enterprise_install: false,
    }),

    'chat.postMessage': (params) => {
      const channel = this.channelId(params.channel);
      const args = parseArgs({ text: optionalString, thread_ts: optionalString }, params);
      const message = this.postAsBot(channel, params, args);
      return { channel, ts: message.ts, message: apiMessage(message, true) };
    },

    'chat.postEphemeral': (params) => {
      const channel = this.channelId(params.channel);
      const args = parseArgs(
        { user: z.string().optional(), text: optionalString, thread_ts: optionalString },
        params,
      );
      const user = args.user === undefined ? undefined : this.deps.store.user(args.user);
      if (!user) throw new SlackApiError('user_not_found');
      const message = this.postAsBot(channel, params, args, user.id);
      return { message_ts: message.ts };
    },

    'chat.update': (params) => {
      const channel = this.channelId(params.channel);
      const args = parseArgs({ ts: optionalString, text: optionalString }, params);
      const blocks = readBlocks(params.blocks);
      const text = readText(args.text);
      const existing = args.ts === undefined ? undefined : this.deps.store.get(channel, args.ts);
      if (!existing || existing.ephemeral_to !== undefined) throw new SlackApiError('message_not_found');
      if (existing.user !== BOT_USER_ID) throw new SlackApiError('cant_update_message');
      if (text === undefined && blocks === undefined) throw new SlackApiError('no_text');
      const message = this.deps.store.update(channel, existing.ts, { text, blocks, editedBy: BOT_USER_ID });
      return { channel, ts: message.ts, text: message.text, message: apiMessage(message, true) };
    },

    'chat.delete': (params) => {
      const channel = this.channelId(params.channel);
      const args = parseArgs({ ts: optionalString }, params);
      const existing = args.ts === undefined ? undefined : this.deps.store.get(channel, args.ts);
      if (!existing || existing.ephemeral_to !== undefined) throw new SlackApiError('message_not_found');
      if (existing.user !== BOT_USER_ID) throw new SlackApiError('cant_delete_message');
      this.deps.store.delete(channel, existing.ts);
      return { channel, ts: existing.ts };
    },

    'chat.getPermalink': (params) => {
      const channel = this.channelId(params.channel, 'info');
      const args = parseArgs({ message_ts: optionalString }, params);
      const message =
        args.message_ts === undefined ? undefined : this.deps.store.get(channel, args.message_ts);
      if (!message) throw new SlackApiError('message_not_found');
      const base = `${this.deps.baseUrl()}/archives/${channel}/p${message.ts.replace('.', '')}`;
      const thread = message.thread_ts ? `?thread_ts=${message.thread_ts}&cid=${channel}` : '';
      return { channel, permalink: base + thread };
    },

    'conversations.info': (params) => {
      const channel = this.deps.store.findChannel(this.channelId(params.channel, 'info'));
      const kind = channel?.kind ?? 'public';
      return {
        channel: {
          id: channel?.id,
          name: channel?.name,
          is_channel: kind === 'public',
          is_group: kind === 'private',
          is_im: kind === 'im',
          is_private: kind !== 'public',
          is_archived: false,
          is_member: channel?.botMember !== false,
          created: 1700000000,
          topic: { value: channel?.topic ?? '', creator: '', last_set: 0 },
          purpose: { value: '', creator: '', last_set: 0 },
        },
      };
    },

    'conversations.history': (params) => {
      const channel = this.channelId(params.channel, 'read');
      const messages = this.deps.store
        .messages(channel)
        .filter((m) => m.ephemeral_to === undefined)
        .reverse()
        .map((m) => apiMessage(m, m.user === BOT_USER_ID));
      return { messages, has_more: false, pin_count: 0 };
    },

    'conversations.replies': (params) => {
      const channel = this.channelId(params.channel, 'read');
      const args = parseArgs({ ts: optionalString }, params);
      const root = args.ts === undefined ? undefined : this.deps.store.rootOf(channel, args.ts);
      if (!root) throw new SlackApiError('thread_not_found');
      const all = [root, ...root.replies.filter((r) => r.ephemeral_to === undefined)];
      return { messages: all.map((m) => apiMessage(m, m.user === BOT_USER_ID)), has_more: false };
    },

    'users.info': (params) => {
      const user = typeof params.user === 'string' ? this.deps.store.user(params.user) : undefined;
      if (!user) throw new SlackApiError('user_not_found');
      return { user: apiUser(user) };
    },

    'usergroups.list': (params) => {
      const includeUsers = params.include_users === true || params.include_users === 'true';
      return {
        usergroups: this.deps.store.groups.map((g) => ({
          id: g.id,
          team_id: TEAM_ID,
          is_usergroup: true,
          name: g.name,
          handle: g.handle,
          description: '',
          user_count: g.users.length,
          ...(includeUsers ? { users: [...g.users] } : {}),
        })),
      };
    },

    'usergroups.users.list': (params) => {
      const group = this.deps.store.groups.find((g) => g.id === params.usergroup);
      if (!group) throw new SlackApiError('no_such_subteam');
      return { users: [...group.users] };
    },

    'team.info': () => ({ team: { id: TEAM_ID, name: this.deps.workspaceName, domain: TEAM_DOMAIN } }),
  };
}
