/** Public types of the Slack emulator (a stand-in used by `demo` and the tests; product code never imports it). */

export interface EmulatorChannel {
  id: string;
  name: string;
  topic?: string;
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
  /** How long to wait for the bot's ack before reporting operation_timeout (default 3500 ms). */
  ackTimeoutMs?: number;
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
  /** Every Web API call received (for "bounded calls" tests). */
  calls(): WebApiCall[];
  close(): Promise<void>;
}
