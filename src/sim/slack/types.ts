/** Public types of the Slack emulator (a stand-in used by `demo` and the tests; product code never imports it). */

export interface EmulatorChannel {
  id: string;
  name: string;
  topic?: string;
  /** `public` (default), `private` (a private channel, id G…/C…) or `im` (a direct message, id D…). */
  kind?: 'public' | 'private' | 'im';
  /** Whether the bot is a member (default true). Slack answers `not_in_channel` (public) or
   * `channel_not_found` (private, im) when a bot writes where it is not. */
  botMember?: boolean;
}

export interface EmulatorUser {
  id: string;
  /** Slack's `name` (handle), e.g. `alice`. */
  name: string;
  realName: string;
  isBot: boolean;
}

export interface EmulatorUserGroup {
  id: string;
  handle: string;
  name: string;
  users: string[];
}

/**
 * A message as the emulator shows it. `thread_ts` is set on thread replies only (the root's own ts);
 * `replies` holds a root's replies (always empty on a reply). Ephemeral messages carry `ephemeral_to`.
 */
export interface EmulatorMessage {
  ts: string;
  thread_ts?: string;
  channel: string;
  user: string;
  text: string;
  blocks?: unknown[];
  edited?: { user: string; ts: string };
  replies: EmulatorMessage[];
  ephemeral_to?: string;
}

/** What the bot's receiver answered to a delivered slash command or click. */
export interface EmulatorAnswer {
  /** HTTP status of the bot's answer; 0 when it could not be reached (see `error`). */
  status: number;
  /** The body the receiver answered with (parsed JSON, else the text); absent when empty. */
  ack?: unknown;
  /** Bodies the bot posted to the interaction's response_url within the response window. */
  responses: unknown[];
  error?: string;
}

export interface SlackEmulatorOptions {
  host?: string;
  /** 0 = ephemeral. */
  port?: number;
  signingSecret: string;
  botToken: string;
  /** The bot's HTTP receiver endpoint, e.g. http://127.0.0.1:3000/slack/events; settable later. */
  requestUrl?: string;
  /** Default: C0DEMO "flannel-demo". */
  channels?: EmulatorChannel[];
  workspaceName?: string;
  /** How long a command/click waits for response_url posts after the ack (default 3000 ms). */
  responseWindowMs?: number;
  /** How long to wait for the bot's ack before reporting operation_timeout (default 3000 ms, Slack's). */
  ackTimeoutMs?: number;
  /**
   * The app-level token (xapp-…): turns Socket Mode on. `apps.connections.open` then answers a WebSocket
   * URL the emulator serves, and commands and clicks travel as envelopes over it instead of HTTP.
   */
  appToken?: string;
  /** Socket Mode: how long a command or click waits for the app to (re)connect (default 10,000 ms). */
  socketHoldMs?: number;
  /**
   * Slack's default pacing (chat.postMessage ~1/s per channel with a short burst, chat.update Tier 3,
   * chat.postEphemeral Tier 4), answered with 429 + Retry-After. Default true; `false` only for tests
   * whose bot is configured to write faster than Slack allows.
   */
  rateLimits?: boolean;
  /**
   * The bot token's scopes (default: the README manifest's `commands`, `chat:write`, `chat:write.public`,
   * `usergroups:read`, `channels:history`, `groups:history`). A method needing one it lacks answers
   * `missing_scope`; without `chat:write.public` a post to a public channel the bot is not in answers
   * `not_in_channel`.
   */
  scopes?: string[];
}

/** One Socket Mode envelope as the emulator sent it, and what became of it. */
export interface SocketEnvelopeRecord {
  envelope_id: string;
  type: 'slash_commands' | 'interactive' | 'events_api';
  queuedAt: number;
  sentAt?: number;
  ackedAt?: number;
  /** An ack that came after the window (Slack had already shown the person an error). */
  lateAckAt?: number;
  /** How many acks arrived for it (1 is right). */
  acks: number;
  ackPayload?: Record<string, unknown>;
  failed?: 'operation_timeout' | 'dispatch_failed';
}

/** Socket Mode controls (present when the emulator was started with an appToken). */
export interface SlackSocketControls {
  /** Sends `{type: "disconnect", reason}` on every open socket; returns how many got it. */
  disconnect(reason?: 'refresh_requested' | 'warning' | 'link_disabled'): number;
  /** Cuts every socket without a close frame; returns how many. */
  drop(): number;
  /** Resolves true once a socket is open (false after timeoutMs). */
  waitForConnection(timeoutMs: number): Promise<boolean>;
  /** apps.connections.open calls answered, sockets accepted, sockets open now, frames the app got wrong. */
  stats(): { opened: number; accepted: number; connections: number; protocolErrors: string[] };
  envelopes(): SocketEnvelopeRecord[];
}

export interface WebApiCall {
  method: string;
  channel?: string;
  at: number;
  /** HTTP status the emulator answered with (200 also for `ok: false`). */
  status: number;
  /** Slack's `error` code when the answer was `ok: false`. */
  error?: string;
}

export interface SlackFaults {
  /** The next `count` Web API calls answer 429 with `Retry-After: retryAfterSeconds`. */
  rateLimitNext(count: number, retryAfterSeconds: number): void;
  /** The next `count` Web API calls answer HTTP `status` (default 500). */
  failNext(count: number, status?: number): void;
  /** The next `count` calls (of `method`, or any) happen, but their answer comes `ms` later. */
  slowNext(count: number, ms: number, method?: string): void;
  reset(): void;
}

export interface CommandInput {
  user: string;
  channel: string;
  /** The whole line as typed, e.g. `/flannel diagnose demo`. */
  text: string;
  /** Typed in a thread's composer: Slack does not offer slash commands there. */
  thread_ts?: string;
}

export interface ClickInput {
  user: string;
  channel: string;
  ts: string;
  action_id: string;
  /** Overrides the button's value (to forge stale or foreign clicks). */
  value?: string;
  /** Picks the button when several blocks use the same action_id. */
  block_id?: string;
}

export interface SlackEmulator {
  /** http://127.0.0.1:PORT */
  url: string;
  /** url + '/api/', for the bot's WebClient `slackApiUrl`. */
  apiUrl: string;
  botUserId: string;
  botId: string;
  setRequestUrl(url: string): void;
  messages(channel: string): EmulatorMessage[];
  /** Posts a plain message as a person (what typing in the page's composer does). */
  post(input: { user: string; channel: string; text: string; thread_ts?: string }): EmulatorMessage;
  command(input: CommandInput): Promise<EmulatorAnswer>;
  click(input: ClickInput): Promise<EmulatorAnswer>;
  faults: SlackFaults;
  /** Socket Mode controls; undefined when the emulator runs in HTTP mode (no appToken). */
  socket?: SlackSocketControls;
  /** 'socket' when started with an appToken, else 'http'. */
  mode: 'http' | 'socket';
  /** Every Web API call received (for "bounded calls" tests). */
  calls(): WebApiCall[];
  close(): Promise<void>;
}
