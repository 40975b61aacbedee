/**
 * Slash commands and button clicks delivered to the bot's request URL, and the response_url each
 * one carries (its posts land in the channel as Slack would show them).
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { blockProblems, buttonsOf } from './blocks.js';
import { deliverSigned, type Delivery } from './deliver.js';
import type { EnvelopeType, SocketModeServer } from './socket.js';
import {
  blockActionsForm,
  blockActionsPayload,
  commandForm,
  escapeTyped,
  parseCommandLine,
} from './payloads.js';
import { BOT_USER_ID, SLACKBOT_USER_ID } from './seed.js';
import type { SlackStore } from './store.js';
import type { ClickInput, CommandInput, EmulatorAnswer, EmulatorChannel, EmulatorUser } from './types.js';

/** A command or click the emulator refuses to send (unknown user, channel, message or button). */
export class EmulatorInputError extends Error {
  constructor(
    message: string,
    readonly httpStatus = 400,
  ) {
    super(message);
    this.name = 'EmulatorInputError';
  }
}

export interface InteractionDeps {
  store: SlackStore;
  signingSecret: string;
  requestUrl(): string | undefined;
  baseUrl(): string;
  responseWindowMs: number;
  ackTimeoutMs: number;
  /** Socket Mode: commands and clicks go over the app's WebSocket instead of to the request URL. */
  socket?: SocketModeServer;
}

/** Slack's limits for a response_url: 5 uses within 30 minutes. */
export const RESPONSE_URL_MAX_USES = 5;
export const RESPONSE_URL_TTL_MS = 30 * 60 * 1000;
/** A command/click answer stops waiting this long after the last response_url post. */
const QUIET_AFTER_RESPONSE_MS = 750;

interface ResponseTarget {
  kind: 'command' | 'block_actions';
  channel: string;
  user: string;
  /** The line the person typed (echoed into the channel before an in_channel answer). */
  typed?: string;
  echoed: boolean;
  /** The clicked message. */
  messageTs?: string;
  threadTs?: string;
  createdAt: number;
  uses: number;
  collected: unknown[];
  onResponse?: () => void;
}

const flag = z
  .union([z.boolean(), z.enum(['true', 'false'])])
  .transform((v) => v === true || v === 'true')
  .optional();

export const responseBodySchema = z.object({
  text: z.string().optional(),
  blocks: z.array(z.unknown()).optional(),
  response_type: z.enum(['ephemeral', 'in_channel']).optional(),
  replace_original: flag,
  delete_original: flag,
  thread_ts: z.string().optional(),
});
export type ResponseBody = z.infer<typeof responseBodySchema>;

export interface ResponseUrlResult {
  status: number;
  body: { ok: boolean; error?: string; errors?: string[] };
}

export class Interactions {
  private readonly targets = new Map<string, ResponseTarget>();
  private readonly waiting = new Set<() => void>();

  constructor(private readonly deps: InteractionDeps) {}

  async command(input: CommandInput): Promise<EmulatorAnswer> {
    const user = this.person(input.user);
    const channel = this.channel(input.channel);
    const parsed = parseCommandLine(input.text);
    if (!parsed)
      throw new EmulatorInputError(
        `text must start with a slash command such as "/flannel help": "${input.text}"`,
      );
    if (input.thread_ts !== undefined)
      // Slack's composer in a thread does not run slash commands; it says so and sends nothing.
      throw new EmulatorInputError(
        `${parsed.command} is not supported in threads. Sorry! (Slack runs slash commands only from a channel's composer)`,
      );
    const { id, target } = this.newTarget({
      kind: 'command',
      channel: channel.id,
      user: user.id,
      typed: input.text,
    });
    const form = commandForm({ ...parsed, user, channel, responseUrl: this.responseUrl(id) });
    const started = Date.now();
    const delivery = await this.deliver(form, 'slash_commands');
    if (delivery.error) {
      // What Slack shows the person when an app does not acknowledge a command.
      this.deps.store.post({
        channel: channel.id,
        user: SLACKBOT_USER_ID,
        text: `${parsed.command} failed with the error "${delivery.error.code}"`,
        ephemeral_to: user.id,
      });
      return answer(delivery, target);
    }
    const answered = this.applyCommandAck(delivery.ack, target);
    await this.collect(target, started, answered);
    return answer(delivery, target);
  }

  async click(input: ClickInput): Promise<EmulatorAnswer> {
    const user = this.person(input.user);
    const channel = this.channel(input.channel);
    const message = this.deps.store.get(channel.id, input.ts);
    if (!message) throw new EmulatorInputError(`no message ${input.ts} in channel ${channel.id}`, 404);
    if (message.ephemeral_to !== undefined && message.ephemeral_to !== user.id)
      throw new EmulatorInputError(`message ${input.ts} is only visible to ${message.ephemeral_to}`, 404);
    const buttons = buttonsOf(message.blocks).filter(
      (b) =>
        b.action_id === input.action_id && (input.block_id === undefined || b.block_id === input.block_id),
    );
    if (buttons.length === 0) {
      const known = buttonsOf(message.blocks).map((b) => b.action_id);
      throw new EmulatorInputError(
        `message ${input.ts} has no button with action_id "${input.action_id}"` +
          ` (its buttons: ${known.length > 0 ? known.join(', ') : 'none'})`,
        404,
      );
    }
    const { id, target } = this.newTarget({
      kind: 'block_actions',
      channel: channel.id,
      user: user.id,
      messageTs: message.ts,
      threadTs: message.thread_ts,
    });
    const payload = blockActionsPayload({
      user,
      channel,
      message,
      button: buttons[0],
      value: input.value,
      responseUrl: this.responseUrl(id),
    });
    const started = Date.now();
    const delivery = await this.deliver(blockActionsForm(payload), 'interactive', payload);
    if (delivery.error) {
      // What Slack shows when an app does not acknowledge a click in time.
      this.deps.store.post({
        channel: channel.id,
        user: SLACKBOT_USER_ID,
        text: `"${buttonLabel(buttons[0])}" failed with the error "${delivery.error.code}"`,
        ephemeral_to: user.id,
        ...(message.thread_ts ? { thread_ts: message.thread_ts } : {}),
      });
    } else await this.collect(target, started);
    return answer(delivery, target);
  }

  /** A POST to /emulator/response/<id>: validate, apply to the channel, record for the waiting answer. */
  respond(id: string, rawBody: string): ResponseUrlResult {
    const target = this.targets.get(id);
    if (!target || Date.now() - target.createdAt > RESPONSE_URL_TTL_MS)
      return { status: 404, body: { ok: false, error: 'expired_url' } };
    if (target.uses >= RESPONSE_URL_MAX_USES) return { status: 404, body: { ok: false, error: 'used_url' } };
    let json: unknown;
    try {
      json = JSON.parse(rawBody);
    } catch {
      return { status: 400, body: { ok: false, error: 'invalid_json' } };
    }
    const parsed = responseBodySchema.safeParse(json);
    if (!parsed.success)
      return {
        status: 400,
        body: { ok: false, error: 'invalid_payload', errors: parsed.error.issues.map((i) => i.message) },
      };
    const problems = parsed.data.blocks ? blockProblems(parsed.data.blocks) : [];
    if (problems.length > 0)
      return { status: 400, body: { ok: false, error: 'invalid_blocks', errors: problems } };
    const error = this.apply(parsed.data, target);
    if (error) return { status: 404, body: { ok: false, error } };
    target.uses += 1;
    target.collected.push(json);
    target.onResponse?.();
    return { status: 200, body: { ok: true } };
  }

  /** Lets every pending command/click answer return at once (the emulator is closing). */
  releaseAll(): void {
    for (const release of [...this.waiting]) release();
  }

  private apply(body: ResponseBody, target: ResponseTarget): string | undefined {
    const { store } = this.deps;
    const original = target.messageTs === undefined ? undefined : store.get(target.channel, target.messageTs);
    if (body.delete_original) {
      if (!original) return 'message_not_found';
      store.delete(target.channel, original.ts);
      return undefined;
    }
    if (body.text === undefined && body.blocks === undefined) return 'no_text';
    if (body.replace_original) {
      if (!original) return 'message_not_found';
      store.update(target.channel, original.ts, {
        text: body.text ?? '',
        blocks: body.blocks ?? [],
        editedBy: BOT_USER_ID,
      });
      return undefined;
    }
    const inChannel = body.response_type === 'in_channel';
    const threadTs = body.thread_ts ?? target.threadTs;
    if (inChannel && target.typed !== undefined && !target.echoed) {
      // Slack shares the person's command in the channel along with an in_channel answer.
      target.echoed = true;
      store.post({
        channel: target.channel,
        user: target.user,
        text: escapeTyped(target.typed),
        thread_ts: threadTs,
      });
    }
    store.post({
      channel: target.channel,
      user: BOT_USER_ID,
      text: body.text ?? '',
      blocks: body.blocks,
      thread_ts: threadTs,
      ...(inChannel ? {} : { ephemeral_to: target.user }),
    });
    return undefined;
  }

  /** A command's ack body is shown like a response (ephemeral unless it says in_channel); true when shown. */
  private applyCommandAck(ack: unknown, target: ResponseTarget): boolean {
    if (ack === undefined) return false;
    if (typeof ack === 'string') {
      this.apply({ text: ack }, target);
      return true;
    }
    const parsed = responseBodySchema.safeParse(ack);
    if (!parsed.success || (parsed.data.text === undefined && parsed.data.blocks === undefined)) return false;
    this.apply(parsed.data, target);
    return true;
  }

  private deliver(form: string, type: EnvelopeType, payload?: Record<string, unknown>): Promise<Delivery> {
    if (this.deps.socket)
      return this.deps.socket.deliver(type, payload ?? Object.fromEntries(new URLSearchParams(form)));
    const url = this.deps.requestUrl();
    if (!url)
      return Promise.resolve({
        status: 0,
        error: { code: 'dispatch_failed', detail: 'no request URL is set (setRequestUrl or --request-url)' },
      });
    return deliverSigned(url, form, this.deps.signingSecret, this.deps.ackTimeoutMs);
  }

  /**
   * Waits until the response window ends, or shortly after the bot's last answer (a response_url post, or the
   * ack itself when it carried one: `answered`).
   */
  private collect(target: ResponseTarget, started: number, answered = false): Promise<void> {
    return new Promise((resolve) => {
      let quiet: NodeJS.Timeout | undefined;
      const finish = () => {
        clearTimeout(hard);
        clearTimeout(quiet);
        target.onResponse = undefined;
        this.waiting.delete(finish);
        resolve();
      };
      const hard = setTimeout(finish, Math.max(0, started + this.deps.responseWindowMs - Date.now()));
      const arm = () => {
        clearTimeout(quiet);
        quiet = setTimeout(finish, QUIET_AFTER_RESPONSE_MS);
      };
      target.onResponse = arm;
      this.waiting.add(finish);
      if (answered || target.collected.length > 0) arm();
    });
  }

  private newTarget(init: Omit<ResponseTarget, 'createdAt' | 'uses' | 'collected' | 'echoed'>): {
    id: string;
    target: ResponseTarget;
  } {
    this.forgetExpired();
    const id = randomBytes(12).toString('hex');
    const target: ResponseTarget = { ...init, echoed: false, createdAt: Date.now(), uses: 0, collected: [] };
    this.targets.set(id, target);
    return { id, target };
  }

  private forgetExpired(): void {
    const now = Date.now();
    for (const [id, t] of this.targets) if (now - t.createdAt > RESPONSE_URL_TTL_MS) this.targets.delete(id);
  }

  private responseUrl(id: string): string {
    return `${this.deps.baseUrl()}/emulator/response/${id}`;
  }

  private person(id: string): EmulatorUser {
    const user = this.deps.store.user(id);
    if (!user || user.isBot) {
      const people = this.deps.store.users.filter((u) => !u.isBot).map((u) => u.id);
      throw new EmulatorInputError(
        `unknown user "${id}"; the people of this workspace: ${people.join(', ')}`,
      );
    }
    return user;
  }

  private channel(idOrName: string): EmulatorChannel {
    const channel = this.deps.store.findChannel(idOrName);
    if (!channel) {
      const known = this.deps.store.channels().map((c) => `${c.id} (#${c.name})`);
      throw new EmulatorInputError(`unknown channel "${idOrName}"; channels: ${known.join(', ')}`, 404);
    }
    return channel;
  }
}

function buttonLabel(button: { text: unknown; action_id: string }): string {
  const t = button.text as { text?: unknown } | undefined;
  return typeof t?.text === 'string' ? t.text : button.action_id;
}

function answer(delivery: Delivery, target: ResponseTarget): EmulatorAnswer {
  return {
    status: delivery.status,
    ...(delivery.ack === undefined ? {} : { ack: delivery.ack }),
    responses: [...target.collected],
    ...(delivery.error ? { error: `${delivery.error.code}: ${delivery.error.detail}` } : {}),
  };
}
