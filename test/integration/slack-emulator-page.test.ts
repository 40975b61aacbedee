/** Browser smoke test of the emulator's page with Debian's chromium (apt-get install chromium). */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebClient } from '@slack/web-api';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startSlackEmulator, type SlackEmulator } from '../../src/sim/slack/index.js';
import { waitFor } from '../helpers/wait.js';
import { approvalBlocks, startTestReceiver, type TestReceiver } from './slack-emulator-helpers.js';

const SECRET = 'page-test-secret';
const TOKEN = 'xoxb-page-test';
const CHANNEL = 'C0DEMO';

let slack: SlackEmulator;
let receiver: TestReceiver;
let client: WebClient;
let context: BrowserContext;
let page: Page;
let profileDir: string;
const dialogs: string[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  receiver = await startTestReceiver(SECRET);
  slack = await startSlackEmulator({
    signingSecret: SECRET,
    botToken: TOKEN,
    requestUrl: receiver.url,
    responseWindowMs: 500,
    // The test writes its fixtures back to back, faster than Slack's pacing allows (tested in the strict suite).
    rateLimits: false,
  });
  client = new WebClient(TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
  profileDir = await mkdtemp(join(tmpdir(), 'slack-emulator-chromium-'));
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  page = await context.newPage();
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(`${slack.url}/`);
  await page.locator('[data-testid="user-switcher"] option').first().waitFor({ state: 'attached' });
});

afterAll(async () => {
  await context?.close();
  await slack?.close();
  await receiver?.close();
  if (profileDir) await rm(profileDir, { recursive: true, force: true });
});

const message = (ts: string) => page.locator(`[data-testid="message"][data-ts="${ts}"]`);

it('shows a posted message live, then updates it in place after chat.update', async () => {
  await page.locator('[data-testid="live-status"].live').waitFor();
  const posted = await client.chat.postMessage({
    channel: CHANNEL,
    text: 'Plan',
    blocks: approvalBlocks('v1'),
  });
  const ts = posted.ts as string;
  await message(ts).getByText('Remediation plan').waitFor();
  expect(await message(ts).locator('.app-badge').textContent()).toBe('APP');
  expect(await message(ts).locator('b').first().textContent()).toBe('Step 1');

  const blocks = approvalBlocks('v2');
  blocks[0] = { type: 'header', text: { type: 'plain_text', text: 'Remediation plan v2' } };
  await client.chat.update({ channel: CHANNEL, ts, text: 'Plan v2', blocks });
  await message(ts).getByText('Remediation plan v2').waitFor();
  expect(await message(ts).count()).toBe(1);
  expect(await message(ts).locator('.edited').textContent()).toBe('(edited)');
});

it('posts a click as the user chosen in the switcher, signed, to the app', async () => {
  const posted = await client.chat.postMessage({
    channel: CHANNEL,
    text: 'Plan',
    blocks: approvalBlocks('v7'),
  });
  await page.locator('[data-testid="user-switcher"]').selectOption('UBOB');
  const button = message(posted.ts as string).locator(
    '[data-testid="block-button"][data-action-id="approve:abc123"]',
  );
  expect(await button.getAttribute('class')).toContain('btn-primary');
  await button.click();
  const click = await waitFor('the block_actions request', () =>
    receiver.received.find(
      (r) => r.payload?.type === 'block_actions' && (r.payload.message as { ts: string }).ts === posted.ts,
    ),
  );
  expect(click.payload).toMatchObject({
    user: { id: 'UBOB' },
    actions: [{ action_id: 'approve:abc123', value: 'v7' }],
  });
});

it('sends a slash command typed in the composer, and shows the ephemeral answer to that user only', async () => {
  await page.locator('[data-testid="user-switcher"]').selectOption('UMALLORY');
  receiver.behave({ respond: [{ text: 'Only approvers may do that, Mallory' }] });
  const input = page.locator('[data-testid="composer-input"]');
  await input.fill('/flannel diagnose demo');
  await input.press('Enter');
  const command = await waitFor('the slash command', () =>
    receiver.received.find((r) => r.fields.command === '/flannel' && r.fields.user_id === 'UMALLORY'),
  );
  expect(command.fields.text).toBe('diagnose demo');
  const ephemeral = page.locator('[data-testid="message"][data-ephemeral="true"]', {
    hasText: 'Only approvers may do that, Mallory',
  });
  await ephemeral.getByText('Only visible to you').waitFor();
  await page.locator('[data-testid="user-switcher"]').selectOption('UALICE');
  await ephemeral.waitFor({ state: 'detached' });
  receiver.behave({});
});

it('opens a thread from "N replies" and shows the replies there', async () => {
  const root = await client.chat.postMessage({ channel: CHANNEL, text: 'Incident :red_circle: *open*' });
  await client.chat.postMessage({ channel: CHANNEL, thread_ts: root.ts, text: 'Diagnosis: `12` checks' });
  await message(root.ts as string)
    .locator('[data-testid="replies-link"]', { hasText: '1 reply' })
    .click();
  const pane = page.locator('[data-testid="thread-pane"]');
  await pane.locator('[data-testid="thread-reply"] code').waitFor();
  expect(await pane.locator('[data-testid="thread-reply"] code').textContent()).toBe('12');
  expect(await message(root.ts as string).textContent()).toContain('Incident 🔴 open');

  // A reply typed in the thread pane lands in the thread, as the acting user.
  const reply = page.locator('[data-testid="thread-composer-input"]');
  await reply.fill('looking at node-2');
  await reply.press('Enter');
  await pane.locator('[data-testid="thread-reply"]', { hasText: 'looking at node-2' }).waitFor();
  const thread = slack.messages(CHANNEL).find((m) => m.ts === root.ts)!;
  expect(thread.replies.map((r) => [r.user, r.text])).toEqual([
    [slack.botUserId, 'Diagnosis: `12` checks'],
    ['UALICE', 'looking at node-2'],
  ]);
  await message(root.ts as string)
    .locator('[data-testid="replies-link"]', { hasText: '2 replies' })
    .waitFor();
});

it('shows hostile text as text: no element, no script, no mention', async () => {
  const hostile = '<img src=x onerror=alert(1)> <!channel>';
  // The bot escapes cluster strings before they reach mrkdwn; what a person types is escaped by Slack.
  const escaped = await client.chat.postMessage({
    channel: CHANNEL,
    text: hostile.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'),
  });
  const raw = await client.chat.postMessage({ channel: CHANNEL, text: `pod <img src=x onerror=alert(1)>` });
  const input = page.locator('[data-testid="composer-input"]');
  await input.fill(hostile);
  await input.press('Enter');
  const typed = page.locator('[data-testid="message"][data-user="UALICE"]').last();
  await typed.locator('[data-testid="message-text"]').waitFor();

  expect(
    await message(escaped.ts as string)
      .locator('[data-testid="message-text"]')
      .textContent(),
  ).toBe(hostile);
  expect(
    await message(raw.ts as string)
      .locator('[data-testid="message-text"]')
      .textContent(),
  ).toBe('pod <img src=x onerror=alert(1)>');
  expect(await typed.locator('[data-testid="message-text"]').textContent()).toBe(hostile);
  expect(await page.locator('img').count()).toBe(0);
  expect(await page.locator('.mention-broadcast').count()).toBe(0);
  expect(dialogs).toEqual([]);
  expect(pageErrors).toEqual([]);
});
