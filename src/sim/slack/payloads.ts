/** Pure builders of what Slack sends to an app: slash-command forms and block_actions payloads. */
import { randomBytes } from 'node:crypto';
import type { FoundButton } from './blocks.js';
import { APP_ID, BOT_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID, VERIFICATION_TOKEN } from './seed.js';
import type { EmulatorChannel, EmulatorMessage, EmulatorUser } from './types.js';

/** Splits a typed line `/flannel diagnose demo` into the command and its text; undefined if not a command. */
export function parseCommandLine(line: string): { command: string; text: string } | undefined {
  const m = /^\s*(\/[A-Za-z0-9_.-]+)(?:\s+([\s\S]*))?$/.exec(line);
  if (!m) return undefined;
  return { command: m[1].toLowerCase(), text: (m[2] ?? '').trim() };
}

/** Slack escapes what a person types: only &, < and > (https://api.slack.com/reference/surfaces/formatting). */
export function escapeTyped(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function triggerId(): string {
  return `${Date.now()}.${randomBytes(6).toString('hex')}`;
}

export function commandForm(input: {
  command: string;
  text: string;
  user: EmulatorUser;
  channel: EmulatorChannel;
  responseUrl: string;
}): string {
  return new URLSearchParams({
    token: VERIFICATION_TOKEN,
    team_id: TEAM_ID,
    team_domain: TEAM_DOMAIN,
    channel_id: input.channel.id,
    // What Slack sends for a private channel and a DM, whatever their names.
    channel_name:
      input.channel.kind === 'im'
        ? 'directmessage'
        : input.channel.kind === 'private'
          ? 'privategroup'
          : input.channel.name,
    user_id: input.user.id,
    user_name: input.user.name,
    command: input.command,
    // Slack sends the text as typed, unescaped (should_escape: false in the manifest).
    text: input.text,
    api_app_id: APP_ID,
    is_enterprise_install: 'false',
    response_url: input.responseUrl,
    trigger_id: triggerId(),
  }).toString();
}

export function blockActionsPayload(input: {
  user: EmulatorUser;
  channel: EmulatorChannel;
  message: EmulatorMessage;
  button: FoundButton;
  value?: string;
  responseUrl: string;
}): Record<string, unknown> {
  const { message, button } = input;
  const ephemeral = message.ephemeral_to !== undefined;
  const value = input.value ?? button.value;
  return {
    type: 'block_actions',
    user: { id: input.user.id, username: input.user.name, name: input.user.name, team_id: TEAM_ID },
    api_app_id: APP_ID,
    token: VERIFICATION_TOKEN,
    container: {
      type: 'message',
      message_ts: message.ts,
      channel_id: input.channel.id,
      is_ephemeral: ephemeral,
      ...(message.thread_ts ? { thread_ts: message.thread_ts } : {}),
    },
    trigger_id: triggerId(),
    team: { id: TEAM_ID, domain: TEAM_DOMAIN },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: input.channel.id, name: input.channel.name },
    // Slack leaves the message out of payloads from ephemeral messages.
    ...(ephemeral
      ? {}
      : {
          message: {
            type: 'message',
            user: message.user,
            ...(message.user === BOT_USER_ID ? { bot_id: BOT_ID, app_id: APP_ID } : {}),
            text: message.text,
            ts: message.ts,
            team: TEAM_ID,
            ...(message.blocks ? { blocks: message.blocks } : {}),
            ...(message.thread_ts ? { thread_ts: message.thread_ts } : {}),
          },
        }),
    state: { values: {} },
    response_url: input.responseUrl,
    actions: [
      {
        type: 'button',
        action_id: button.action_id,
        block_id: button.block_id,
        text: button.text,
        ...(value !== undefined ? { value } : {}),
        ...(button.style ? { style: button.style } : {}),
        ...(button.url ? { url: button.url } : {}),
        action_ts: `${(Date.now() / 1000).toFixed(6)}`,
      },
    ],
  };
}

export function blockActionsForm(payload: Record<string, unknown>): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}
