/**
 * The emulator's own JSON interface (SPEC, Local stand-ins): scripts and the page read messages,
 * send commands and clicks as a person, and inject faults. Every body is validated with zod.
 */
import { z } from 'zod';
import type { FaultState } from './faults.js';
import { EmulatorInputError, type Interactions } from './interactions.js';
import { escapeTyped } from './payloads.js';
import { APP_ID, BOT_ID, BOT_NAME, BOT_USER_ID, PEOPLE, TEAM_ID } from './seed.js';
import type { SocketModeServer } from './socket.js';
import { type SlackStore, StoreError } from './store.js';
import type { EmulatorMessage } from './types.js';
import type { WebApi } from './web-api.js';

export interface JsonApiDeps {
  store: SlackStore;
  interactions: Interactions;
  webApi: WebApi;
  faults: FaultState;
  workspaceName: string;
  requestUrl(): string | undefined;
  setRequestUrl(url: string): void;
  socket?: SocketModeServer;
}

export interface JsonResult {
  status: number;
  body: unknown;
}

const id = (what: string) =>
  z
    .string({
      error: (issue) => (issue.input === undefined ? `${what} is required` : `${what} must be a string`),
    })
    .min(1, `${what} must not be empty`);

export const commandBodySchema = z.object({
  user: id('user'),
  channel: id('channel'),
  text: id('text'),
  thread_ts: z.string().optional(),
});
const socketBodySchema = z
  .object({
    disconnect: z.enum(['refresh_requested', 'warning', 'link_disabled']).optional(),
    drop: z.literal(true).optional(),
  })
  .refine((b) => b.disconnect !== undefined || b.drop !== undefined, {
    message: 'give "disconnect" (refresh_requested | warning | link_disabled) or "drop": true',
  });
export const clickBodySchema = z.object({
  user: id('user'),
  channel: id('channel'),
  ts: id('ts'),
  action_id: id('action_id'),
  value: z.string().optional(),
  block_id: z.string().optional(),
});
export const postBodySchema = z.object({
  user: id('user'),
  channel: id('channel'),
  text: id('text').max(40_000, 'text must be at most 40000 characters'),
  thread_ts: z.string().optional(),
});
const faultsBodySchema = z.object({
  rate_limit_next: z
    .object({ count: z.number().int().min(0), retry_after: z.number().int().min(0) })
    .optional(),
  fail_next: z
    .object({ count: z.number().int().min(0), status: z.number().int().min(400).max(599) })
    .optional(),
  slow_next: z
    .object({
      count: z.number().int().min(0),
      ms: z.number().int().min(0).max(600_000),
      method: z
        .string()
        .regex(/^[a-z]+(\.[a-zA-Z]+)+$/)
        .optional(),
    })
    .optional(),
  reset: z.boolean().optional(),
});
const requestUrlBodySchema = z.object({
  url: z.url({ protocol: /^https?$/, error: 'url must be an http(s) URL' }),
});

function parseJson<T>(schema: z.ZodType<T>, rawBody: string, route: string): T {
  let json: unknown;
  try {
    json = JSON.parse(rawBody);
  } catch (err) {
    throw new EmulatorInputError(`${route}: the body is not valid JSON (${(err as Error).message})`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const reasons = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`);
    throw new EmulatorInputError(`${route}: ${reasons.join('; ')}`);
  }
  return parsed.data;
}

/** Posts what a person typed (escaped as Slack escapes it) as that person. */
export function postAsPerson(
  store: SlackStore,
  input: { user: string; channel: string; text: string; thread_ts?: string },
): EmulatorMessage {
  const user = store.user(input.user);
  if (!user || user.isBot) throw new EmulatorInputError(`unknown user "${input.user}"`);
  const channel = store.findChannel(input.channel);
  if (!channel) throw new EmulatorInputError(`unknown channel "${input.channel}"`, 404);
  try {
    return store.post({
      channel: channel.id,
      user: user.id,
      text: escapeTyped(input.text),
      thread_ts: input.thread_ts,
    });
  } catch (err) {
    if (err instanceof StoreError) throw new EmulatorInputError(`${err.code}: ${input.thread_ts}`, 404);
    throw err;
  }
}

export class JsonApi {
  constructor(private readonly deps: JsonApiDeps) {}

  /** Answers /emulator/api/<route>; never throws. */
  async handle(method: string, route: string, query: URLSearchParams, rawBody: string): Promise<JsonResult> {
    try {
      return await this.route(method, route, query, rawBody);
    } catch (err) {
      if (err instanceof EmulatorInputError)
        return { status: err.httpStatus, body: { ok: false, error: err.message } };
      return { status: 500, body: { ok: false, error: `internal error: ${(err as Error).message}` } };
    }
  }

  private async route(
    method: string,
    route: string,
    query: URLSearchParams,
    rawBody: string,
  ): Promise<JsonResult> {
    const { store, interactions } = this.deps;
    const key = `${method} ${route}`;
    switch (key) {
      case 'GET messages': {
        const channelParam = query.get('channel');
        if (!channelParam) throw new EmulatorInputError('messages: the channel query parameter is required');
        const channel = store.findChannel(channelParam);
        if (!channel) throw new EmulatorInputError(`messages: unknown channel "${channelParam}"`, 404);
        return {
          status: 200,
          body: {
            ok: true,
            channel: channel.id,
            messages: store.messages(channel.id),
            version: store.version,
          },
        };
      }
      case 'POST command':
        return {
          status: 200,
          body: await interactions.command(parseJson(commandBodySchema, rawBody, 'command')),
        };
      case 'POST click':
        return { status: 200, body: await interactions.click(parseJson(clickBodySchema, rawBody, 'click')) };
      case 'POST post':
        return {
          status: 200,
          body: { ok: true, message: postAsPerson(store, parseJson(postBodySchema, rawBody, 'post')) },
        };
      case 'GET info':
        return { status: 200, body: this.info() };
      case 'GET calls':
        return { status: 200, body: { ok: true, calls: this.deps.webApi.calls() } };
      case 'POST faults': {
        const body = parseJson(faultsBodySchema, rawBody, 'faults');
        if (body.reset) this.deps.faults.reset();
        if (body.rate_limit_next)
          this.deps.faults.rateLimitNext(body.rate_limit_next.count, body.rate_limit_next.retry_after);
        if (body.fail_next) this.deps.faults.failNext(body.fail_next.count, body.fail_next.status);
        if (body.slow_next)
          this.deps.faults.slowNext(body.slow_next.count, body.slow_next.ms, body.slow_next.method);
        return { status: 200, body: { ok: true } };
      }
      case 'GET socket':
        return { status: 200, body: this.socketState() };
      case 'POST socket': {
        const socket = this.requireSocket();
        const body = parseJson(socketBodySchema, rawBody, 'socket');
        const disconnected = body.disconnect ? socket.disconnect(body.disconnect) : 0;
        const dropped = body.drop ? socket.drop() : 0;
        return { status: 200, body: { ...this.socketState(), disconnected, dropped } };
      }
      case 'POST request-url': {
        const body = parseJson(requestUrlBodySchema, rawBody, 'request-url');
        this.deps.setRequestUrl(body.url);
        return { status: 200, body: { ok: true, request_url: body.url } };
      }
      default:
        throw new EmulatorInputError(`no such emulator endpoint: ${method} /emulator/api/${route}`, 404);
    }
  }

  private requireSocket(): SocketModeServer {
    if (!this.deps.socket)
      throw new EmulatorInputError('socket: Socket Mode is off (start the emulator with an app token)', 409);
    return this.deps.socket;
  }

  private socketState(): Record<string, unknown> {
    const socket = this.requireSocket();
    return { ok: true, ...socket.stats(), envelopes: socket.envelopes() };
  }

  private info(): Record<string, unknown> {
    const { store } = this.deps;
    return {
      ok: true,
      workspace: { id: TEAM_ID, name: this.deps.workspaceName },
      bot: { user_id: BOT_USER_ID, bot_id: BOT_ID, app_id: APP_ID, name: BOT_NAME },
      users: store.users.map((u) => ({ id: u.id, name: u.name, real_name: u.realName, is_bot: u.isBot })),
      people: PEOPLE.map((u) => u.id),
      groups: store.groups.map((g) => ({ id: g.id, handle: g.handle, name: g.name, users: [...g.users] })),
      channels: store.channels(),
      mode: this.deps.socket ? 'socket' : 'http',
      ...(this.deps.socket && { socket: { connections: this.deps.socket.connections } }),
      request_url: this.deps.requestUrl() ?? null,
      version: store.version,
    };
  }
}
