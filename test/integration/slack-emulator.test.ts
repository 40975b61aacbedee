import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import { ErrorCode, WebClient } from '@slack/web-api';
import { startSlackEmulator, type SlackEmulator } from '../../src/sim/slack/index.js';
import { approvalBlocks, startTestReceiver, type TestReceiver } from './slack-emulator-helpers.js';

const SECRET = 'test-signing-secret';
const TOKEN = 'xoxb-test-token';
const CHANNEL = 'C0DEMO';

let slack: SlackEmulator;
let receiver: TestReceiver;
let client: WebClient;

beforeAll(async () => {
  receiver = await startTestReceiver(SECRET);
  slack = await startSlackEmulator({
    signingSecret: SECRET,
    botToken: TOKEN,
    port: 0,
    requestUrl: receiver.url,
    responseWindowMs: 1500,
    // These tests fire Web API calls back to back to check their answers; Slack's pacing has its own tests
    // (slack-emulator-strict.test.ts).
    rateLimits: false,
    channels: [
      { id: CHANNEL, name: 'flannel-demo' },
      { id: 'C0PROD', name: 'flannel-prod' },
    ],
  });
  client = new WebClient(TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
});

afterAll(async () => {
  await slack?.close();
  await receiver?.close();
});

beforeEach(() => {
  slack.faults.reset();
  slack.setRequestUrl(receiver.url);
  receiver.behave({});
});

async function platformError(
  call: Promise<unknown>,
): Promise<{ code?: string; data?: Record<string, unknown> }> {
  try {
    await call;
  } catch (err) {
    return err as { code?: string; data?: Record<string, unknown> };
  }
  throw new Error('expected the Web API call to fail');
}

describe('Web API through @slack/web-api', () => {
  it('answers auth.test with the bot identity, and rejects a wrong token with invalid_auth', async () => {
    const me = await client.auth.test();
    expect(me).toMatchObject({
      ok: true,
      user_id: slack.botUserId,
      bot_id: slack.botId,
      url: `${slack.url}/`,
    });

    const intruder = new WebClient('xoxb-wrong', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
    const err = await platformError(intruder.chat.postMessage({ channel: CHANNEL, text: 'hi' }));
    expect(err.code).toBe(ErrorCode.PlatformError);
    expect(err.data?.error).toBe('invalid_auth');
    expect(slack.messages(CHANNEL).some((m) => m.text === 'hi')).toBe(false);
  });

  it('posts, updates in place, threads replies and keeps ephemerals per user', async () => {
    const root = await client.chat.postMessage({
      channel: CHANNEL,
      text: 'Incident opened',
      blocks: approvalBlocks('p1'),
    });
    const ts = root.ts as string;
    expect(root).toMatchObject({
      ok: true,
      channel: CHANNEL,
      message: { text: 'Incident opened', bot_id: slack.botId },
    });

    const reply = await client.chat.postMessage({ channel: CHANNEL, thread_ts: ts, text: 'Diagnosing…' });
    await client.chat.update({
      channel: CHANNEL,
      ts: reply.ts as string,
      text: 'Diagnosis: 3/12 checks done',
    });
    const updated = await client.chat.update({ channel: CHANNEL, ts, text: 'Incident diagnosing' });
    expect(updated).toMatchObject({ ok: true, channel: CHANNEL, ts, text: 'Incident diagnosing' });
    const eph = await client.chat.postEphemeral({
      channel: CHANNEL,
      user: 'UBOB',
      text: 'only Bob sees this',
    });
    expect(eph.message_ts).toMatch(/^\d{10}\.\d{6}$/);

    const messages = slack.messages(CHANNEL);
    const shown = messages.find((m) => m.ts === ts);
    expect(shown).toMatchObject({
      user: slack.botUserId,
      text: 'Incident diagnosing',
      edited: { user: slack.botUserId },
    });
    // chat.update without blocks keeps them, as Slack does.
    expect(shown?.blocks).toHaveLength(3);
    expect(shown?.thread_ts).toBeUndefined();
    expect(shown?.replies).toEqual([
      expect.objectContaining({
        ts: reply.ts,
        thread_ts: ts,
        text: 'Diagnosis: 3/12 checks done',
        replies: [],
      }),
    ]);
    expect(messages.find((m) => m.ts === eph.message_ts)).toMatchObject({
      ephemeral_to: 'UBOB',
      text: 'only Bob sees this',
    });

    const permalink = await client.chat.getPermalink({ channel: CHANNEL, message_ts: ts });
    expect(permalink.permalink).toBe(`${slack.url}/archives/${CHANNEL}/p${ts.replace('.', '')}`);
  });

  it("answers Slack's errors for unknown channels and messages, too many blocks and too long texts", async () => {
    expect((await platformError(client.chat.postMessage({ channel: 'C0NOPE', text: 'x' }))).data?.error).toBe(
      'channel_not_found',
    );
    expect(
      (await platformError(client.chat.update({ channel: CHANNEL, ts: '1.000001', text: 'x' }))).data?.error,
    ).toBe('message_not_found');
    const tooMany = Array.from({ length: 51 }, () => ({ type: 'divider' }));
    const blocksErr = await platformError(
      client.chat.postMessage({ channel: CHANNEL, text: 'x', blocks: tooMany }),
    );
    // More than 50 blocks, or about 13.2k characters of block text, is what Slack calls msg_blocks_too_long.
    expect(blocksErr.data?.error).toBe('msg_blocks_too_long');
    const longBlocks = Array.from({ length: 5 }, () => ({
      type: 'section',
      text: { type: 'mrkdwn', text: 'z'.repeat(2900) },
    }));
    expect(
      (await platformError(client.chat.postMessage({ channel: CHANNEL, text: 'x', blocks: longBlocks }))).data
        ?.error,
    ).toBe('msg_blocks_too_long');
    const longErr = await platformError(
      client.chat.postMessage({ channel: CHANNEL, text: 'x'.repeat(40_001) }),
    );
    expect(longErr.data?.error).toBe('msg_too_long');
    const badButton = [
      {
        type: 'actions',
        elements: [{ type: 'button', action_id: 'a', text: { type: 'plain_text', text: 'y'.repeat(76) } }],
      },
    ];
    expect(
      (await platformError(client.chat.postMessage({ channel: CHANNEL, blocks: badButton }))).data?.error,
    ).toBe('invalid_blocks');
  });

  it('lists the on-call user group and users', async () => {
    const members = await client.usergroups.users.list({ usergroup: 'S0ONCALL' });
    expect(members.users).toEqual(['UALICE', 'UBOB']);
    const groups = await client.usergroups.list({ include_users: true });
    expect(groups.usergroups).toEqual([
      expect.objectContaining({ id: 'S0ONCALL', handle: 'oncall', users: ['UALICE', 'UBOB'] }),
    ]);
    expect((await client.users.info({ user: 'UMALLORY' })).user).toMatchObject({
      id: 'UMALLORY',
      real_name: 'Mallory',
    });
    expect((await platformError(client.usergroups.users.list({ usergroup: 'S0NOPE' }))).data?.error).toBe(
      'no_such_subteam',
    );
    expect((await client.conversations.info({ channel: CHANNEL })).channel).toMatchObject({
      id: CHANNEL,
      name: 'flannel-demo',
    });
  });

  it('rate limits on demand: the WebClient sees 429 with Retry-After, and a retrying client gets through', async () => {
    slack.faults.rateLimitNext(1, 7);
    const strict = new WebClient(TOKEN, { slackApiUrl: slack.apiUrl, rejectRateLimitedCalls: true });
    const err = (await platformError(strict.chat.postMessage({ channel: 'C0PROD', text: 'limited' }))) as {
      code?: string;
      retryAfter?: number;
    };
    expect(err.code).toBe(ErrorCode.RateLimitedError);
    expect(err.retryAfter).toBe(7);

    slack.faults.rateLimitNext(1, 0);
    const patient = new WebClient(TOKEN, {
      slackApiUrl: slack.apiUrl,
      retryConfig: { retries: 2, factor: 1, minTimeout: 10 },
    });
    await patient.chat.postMessage({ channel: 'C0PROD', text: 'after the limit' });
    const prodCalls = slack.calls().filter((c) => c.channel === 'C0PROD');
    expect(prodCalls.map((c) => [c.method, c.status])).toEqual([
      ['chat.postMessage', 429],
      ['chat.postMessage', 429],
      ['chat.postMessage', 200],
    ]);
    expect(slack.messages('C0PROD').map((m) => m.text)).toEqual(['after the limit']);

    slack.faults.failNext(1, 503);
    const failed = await platformError(client.chat.postMessage({ channel: 'C0PROD', text: 'x' }));
    expect(failed.code).toBe(ErrorCode.HTTPError);
    expect((failed as { statusCode?: number }).statusCode).toBe(503);
  });
});

describe('slash commands and clicks delivered to the app', () => {
  it('sends a signed slash command and shows what the app answered on response_url', async () => {
    receiver.behave({ respond: [{ response_type: 'in_channel', text: 'Diagnosing *demo*…' }] });
    const answer = await slack.command({ user: 'UALICE', channel: CHANNEL, text: '/flannel diagnose demo' });

    expect(answer).toEqual({
      status: 200,
      responses: [{ response_type: 'in_channel', text: 'Diagnosing *demo*…' }],
    });
    const req = receiver.received.at(-1)!;
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(req.fields).toMatchObject({
      command: '/flannel',
      text: 'diagnose demo',
      user_id: 'UALICE',
      user_name: 'alice',
      channel_id: CHANNEL,
      channel_name: 'flannel-demo',
    });
    expect(req.fields.response_url).toMatch(new RegExp(`^${slack.url}/emulator/response/`));
    expect(req.fields.trigger_id).toBeTruthy();
    const last = slack.messages(CHANNEL).slice(-2);
    // Slack shares the command itself along with an in_channel answer.
    expect(last.map((m) => [m.user, m.text])).toEqual([
      ['UALICE', '/flannel diagnose demo'],
      [slack.botUserId, 'Diagnosing *demo*…'],
    ]);
  });

  it('shows an ack body as an ephemeral answer to the person who typed the command', async () => {
    receiver.behave({ ack: { response_type: 'ephemeral', text: 'unknown cluster "nope"; clusters: demo' } });
    const answer = await slack.command({
      user: 'UMALLORY',
      channel: CHANNEL,
      text: '/flannel diagnose nope',
    });
    expect(answer).toEqual({
      status: 200,
      ack: { response_type: 'ephemeral', text: 'unknown cluster "nope"; clusters: demo' },
      responses: [],
    });
    expect(slack.messages(CHANNEL).at(-1)).toMatchObject({ ephemeral_to: 'UMALLORY', user: slack.botUserId });
  });

  it('sends a signed block_actions click and applies replace_original', async () => {
    const posted = await client.chat.postMessage({
      channel: CHANNEL,
      text: 'Plan',
      blocks: approvalBlocks('plan-v1'),
    });
    receiver.behave({ respond: [{ replace_original: true, text: 'Approved by <@UBOB>' }] });
    const answer = await slack.click({
      user: 'UBOB',
      channel: CHANNEL,
      ts: posted.ts as string,
      action_id: 'approve:abc123',
    });

    expect(answer.status).toBe(200);
    expect(answer.responses).toEqual([{ replace_original: true, text: 'Approved by <@UBOB>' }]);
    const payload = receiver.received.at(-1)!.payload!;
    expect(payload).toMatchObject({
      type: 'block_actions',
      user: { id: 'UBOB', username: 'bob' },
      channel: { id: CHANNEL },
      message: { ts: posted.ts, text: 'Plan' },
      container: { type: 'message', message_ts: posted.ts, channel_id: CHANNEL },
      actions: [{ type: 'button', action_id: 'approve:abc123', block_id: 'plan-actions', value: 'plan-v1' }],
    });
    const replaced = slack.messages(CHANNEL).find((m) => m.ts === posted.ts);
    expect(replaced).toMatchObject({ text: 'Approved by <@UBOB>', blocks: [] });
  });

  it('refuses clicks on buttons a message does not have, naming the buttons it has', async () => {
    const posted = await client.chat.postMessage({
      channel: CHANNEL,
      text: 'Plan',
      blocks: approvalBlocks('p'),
    });
    await expect(
      slack.click({ user: 'UALICE', channel: CHANNEL, ts: posted.ts as string, action_id: 'approve:other' }),
    ).rejects.toThrow(
      /no button with action_id "approve:other" \(its buttons: approve:abc123, reject:abc123\)/,
    );
  });

  it('reports an app that rejects the signature, and tells the person like Slack does', async () => {
    const wrongSecret = await startSlackEmulator({
      signingSecret: 'another-secret',
      botToken: TOKEN,
      requestUrl: receiver.url,
    });
    try {
      const answer = await wrongSecret.command({ user: 'UALICE', channel: CHANNEL, text: '/flannel help' });
      expect(answer.status).toBe(401);
      expect(answer.error).toMatch(/^http_error/);
      expect(wrongSecret.messages(CHANNEL).at(-1)).toMatchObject({
        user: 'USLACKBOT',
        ephemeral_to: 'UALICE',
        text: '/flannel failed with the error "http_error"',
      });
    } finally {
      await wrongSecret.close();
    }
  });

  it('response_url posts are limited to five, as on Slack', async () => {
    receiver.behave({});
    await slack.command({ user: 'UALICE', channel: CHANNEL, text: '/flannel status' });
    const url = receiver.received.at(-1)!.fields.response_url;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await fetch(url, { method: 'POST', body: JSON.stringify({ text: `update ${i}` }) });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 404]);
  });
});

describe('the JSON interface over HTTP', () => {
  const post = (path: string, body: unknown) =>
    fetch(`${slack.url}/emulator/api/${path}`, { method: 'POST', body: JSON.stringify(body) });

  it('GET messages returns every message of the channel with ts, thread_ts, user, text, blocks and replies', async () => {
    const root = await client.chat.postMessage({
      channel: 'C0PROD',
      text: 'root',
      blocks: approvalBlocks('x'),
    });
    await client.chat.postMessage({ channel: 'C0PROD', text: 'reply', thread_ts: root.ts });
    const res = await fetch(`${slack.url}/emulator/api/messages?channel=C0PROD`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      ok: boolean;
      channel: string;
      messages: Array<Record<string, unknown>>;
    };
    expect(body.ok).toBe(true);
    expect(body.channel).toBe('C0PROD');
    expect(body.messages).toEqual(slack.messages('C0PROD'));
    const shown = body.messages.find((m) => m.ts === root.ts)!;
    expect(Object.keys(shown).sort()).toEqual(['blocks', 'channel', 'replies', 'text', 'ts', 'user']);
    expect(shown.replies).toEqual([
      {
        ts: expect.any(String),
        thread_ts: root.ts,
        channel: 'C0PROD',
        user: slack.botUserId,
        text: 'reply',
        replies: [],
      },
    ]);
  });

  it('POST command and POST click answer with what the app answered', async () => {
    receiver.behave({ respond: [{ text: 'Here is help' }] });
    const cmd = await post('command', { user: 'UBOB', channel: CHANNEL, text: '/flannel help' });
    expect(cmd.status).toBe(200);
    expect(await cmd.json()).toEqual({ status: 200, responses: [{ text: 'Here is help' }] });

    const plan = await client.chat.postMessage({
      channel: CHANNEL,
      text: 'Plan',
      blocks: approvalBlocks('v2'),
    });
    receiver.behave({ ack: { ok: 'noted' }, respond: [{ text: 'Rejected', response_type: 'in_channel' }] });
    const click = await post('click', {
      user: 'UALICE',
      channel: CHANNEL,
      ts: plan.ts,
      action_id: 'reject:abc123',
    });
    expect(await click.json()).toEqual({
      status: 200,
      ack: { ok: 'noted' },
      responses: [{ text: 'Rejected', response_type: 'in_channel' }],
    });
    expect(receiver.received.at(-1)!.payload).toMatchObject({
      actions: [{ action_id: 'reject:abc123', value: 'v2' }],
    });
  });

  it('rejects malformed bodies, naming the field', async () => {
    const res = await post('command', { user: 'UALICE', channel: CHANNEL });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ ok: false, error: 'command: text: text is required' });
    const unknown = await post('click', { user: 'UEVE', channel: CHANNEL, ts: '1.1', action_id: 'a' });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: string }).error).toMatch(
      /unknown user "UEVE".*UALICE, UBOB, UMALLORY/,
    );
  });

  it('serves the page with its test hooks and a strict content security policy', async () => {
    const res = await fetch(`${slack.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'nonce-[^']+'/);
    const html = await res.text();
    for (const hook of ['composer-input', 'user-switcher', 'message-list', 'thread-pane', 'channel-list'])
      expect(html).toContain(`data-testid="${hook}"`);
    for (const hook of ["'message'", "'thread-reply'", "'block-button'", "'replies-link'", 'actionId'])
      expect(html).toContain(hook);
    expect(html).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)=/);
  });
});

describe('a Bolt app pointed at the emulator', () => {
  let app: App;
  let server: Server;

  beforeAll(async () => {
    const boltReceiver = new HTTPReceiver({ signingSecret: SECRET, logLevel: LogLevel.ERROR });
    app = new App({
      token: TOKEN,
      receiver: boltReceiver,
      logLevel: LogLevel.ERROR,
      clientOptions: { slackApiUrl: slack.apiUrl },
    });
    app.command('/flannel', async ({ ack, command, respond }) => {
      await ack();
      await respond({ response_type: 'ephemeral', text: `You asked for \`${command.text}\`` });
    });
    app.action(/^approve:/, async ({ ack, body, client: web }) => {
      await ack();
      const action = body as { channel?: { id: string }; message?: { ts: string }; user: { id: string } };
      await web.chat.update({
        channel: action.channel!.id,
        ts: action.message!.ts,
        text: `Approved by <@${action.user.id}>`,
        blocks: [],
      });
    });
    server = (await app.start(0)) as Server;
  });

  afterAll(async () => {
    await app?.stop();
  });

  it('starts (auth.test), receives commands and clicks through HTTPReceiver, and answers through the emulator', async () => {
    const { port } = server.address() as AddressInfo;
    slack.setRequestUrl(`http://127.0.0.1:${port}/slack/events`);

    const answer = await slack.command({ user: 'UALICE', channel: CHANNEL, text: '/flannel diagnose demo' });
    expect(answer).toEqual({
      status: 200,
      responses: [{ response_type: 'ephemeral', text: 'You asked for `diagnose demo`' }],
    });
    expect(slack.messages(CHANNEL).at(-1)).toMatchObject({
      ephemeral_to: 'UALICE',
      text: 'You asked for `diagnose demo`',
    });

    const plan = await client.chat.postMessage({
      channel: CHANNEL,
      text: 'Plan',
      blocks: approvalBlocks('v3'),
    });
    const click = await slack.click({
      user: 'UBOB',
      channel: CHANNEL,
      ts: plan.ts as string,
      action_id: 'approve:abc123',
    });
    expect(click.status).toBe(200);
    expect(slack.messages(CHANNEL).find((m) => m.ts === plan.ts)).toMatchObject({
      text: 'Approved by <@UBOB>',
      blocks: [],
    });
  });
});
