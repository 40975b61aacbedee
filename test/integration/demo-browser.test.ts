/**
 * The demo as a newcomer meets it: `flannel-ops demo` in its own process (simulator, private Redis, bot, Slack
 * emulator), then headless Chromium on the page it prints. The test reads only what a person sees.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { waitFor } from '../helpers/wait.js';

let demo: ChildProcess;
let output = '';
let dir: string;
let context: BrowserContext;
let page: Page;
let ready: { slack: string; kubeconfig: string; cluster: string; channel: string };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'demo-browser-'));
  const readyFile = join(dir, 'ready.json');
  // No REDIS_URL: the demo starts a private redis-server, as on a fresh machine.
  const env = { ...process.env };
  delete env.REDIS_URL;
  demo = spawn('node', ['bin/flannel-ops.js', 'demo', '--port', '0', '--ready-file', readyFile], { env });
  demo.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  demo.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  await waitFor(
    'the demo ready file',
    () => existsSync(readyFile) && readFileSync(readyFile, 'utf8').trim(),
    {
      timeoutMs: 60_000,
    },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${output}`);
  });
  ready = JSON.parse(readFileSync(readyFile, 'utf8'));
  context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  page = await context.newPage();
  await page.goto(ready.slack);
}, 90_000);

afterAll(async () => {
  await context?.close();
  if (demo && demo.exitCode === null) {
    demo.kill('SIGINT');
    await new Promise((r) => demo.once('exit', r));
  }
  await rm(dir, { recursive: true, force: true });
});

it('prints the page and kubeconfig and writes the ready file', () => {
  expect(ready).toMatchObject({ cluster: 'demo', channel: 'C0DEMO' });
  expect(ready.slack).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(existsSync(ready.kubeconfig)).toBe(true);
  expect(output).toContain(ready.slack);
  expect(output).toContain(ready.kubeconfig);
});

it('shows the incident, the diagnosis completing, the verdict and the plan', async () => {
  const root = page.locator('[data-testid="message"]', {
    hasText: 'Flannel CNI cannot set up pod networking',
  });
  await root.first().waitFor({ timeout: 60_000 });
  await expect(root.count()).resolves.toBe(1);
  await root.first().locator('[data-testid="replies-link"]').click({ timeout: 60_000 });
  const thread = page.locator('[data-testid="thread-pane"]');
  // The checks message ends "done" with every check accounted for.
  await thread
    .getByText(/Diagnosis\s+of\s+demo:\s+done/)
    .first()
    .waitFor({ timeout: 60_000 });
  await thread.getByText('flannel-daemonset').first().waitFor();
  // The verdict names the missing DaemonSet, and the plan lists steps with their risk.
  await thread
    .getByText(/Flannel is not deployed/)
    .first()
    .waitFor({ timeout: 30_000 });
  await thread
    .getByText(/Remediation plan/)
    .first()
    .waitFor();
  await thread
    .getByText(/Install Flannel v0\.28\.9/)
    .first()
    .waitFor();
  await expect(thread.getByText(/high risk/).count()).resolves.toBeGreaterThan(0);
  // The root message pages the on-call group and says what it needs.
  await root
    .first()
    .getByText(/Needs 2 approvals: Install Flannel/)
    .first()
    .waitFor({ timeout: 30_000 });
  await expect(
    root
      .first()
      .getByText(/oncall/)
      .count(),
  ).resolves.toBeGreaterThan(0);
}, 120_000);

/** Acts as `user` in the page and clicks a button of the plan message in the open thread. */
async function clickPlanButton(user: string, actionId: string): Promise<void> {
  await page.locator('[data-testid="user-switcher"]').selectOption(user);
  const plan = page.locator('[data-testid="thread-pane"] [data-testid="thread-reply"]', {
    hasText: /Remediation plan v1/,
  });
  await plan.locator(`[data-testid="block-button"][data-action-id="${actionId}"]`).click();
  // The high-risk step asks once more.
  const confirm = page.locator('[data-testid="confirm-ok"]');
  if (await confirm.isVisible().catch(() => false)) await confirm.click();
}

/** The answer only the acting person sees (an ephemeral message in the thread). */
async function answerSays(text: RegExp): Promise<void> {
  await page
    .locator(`[data-testid="thread-pane"] [data-ephemeral="true"]`, { hasText: text })
    .first()
    .waitFor({ timeout: 30_000 });
}

it('refuses Mallory, holds the install for a second approver, and heals the cluster once Bob approves', async () => {
  await clickPlanButton('UMALLORY', 'approve-1');
  await answerSays(/You may not approve/);
  await clickPlanButton('UALICE', 'approve-1');
  await answerSays(/recorded \(1\/2\)/);
  await clickPlanButton('UBOB', 'approve-1');
  await answerSays(/Step 1 approved/);
  await clickPlanButton('UALICE', 'approve-2');
  await clickPlanButton('UALICE', 'approve-3');
  const thread = page.locator('[data-testid="thread-pane"]');
  await thread
    .getByText(/Verification passed/)
    .first()
    .waitFor({ timeout: 120_000 });
  const root = page.locator('[data-testid="message"]', {
    hasText: 'Flannel CNI cannot set up pod networking',
  });
  await root
    .first()
    .getByText(/Resolved/)
    .first()
    .waitFor({ timeout: 60_000 });
  // What kubectl shows: the Flannel DaemonSet ready everywhere, nothing stuck in ContainerCreating.
  const kubectl = (args: string[]) =>
    execFileSync(
      'kubectl',
      ['--kubeconfig', ready.kubeconfig, '--cache-dir', join(dir, 'kube-cache'), ...args],
      {
        encoding: 'utf8',
      },
    );
  const ds = kubectl(['get', 'ds', '-n', 'kube-flannel', 'kube-flannel-ds', '-o', 'json']);
  const status = JSON.parse(ds).status as { desiredNumberScheduled: number; numberReady: number };
  expect(status.desiredNumberScheduled).toBeGreaterThan(0);
  expect(status.numberReady).toBe(status.desiredNumberScheduled);
  expect(kubectl(['get', 'pods', '-A'])).not.toContain('ContainerCreating');
}, 240_000);

it('answers /flannel diagnose demo typed in the message box with a report: healthy now', async () => {
  const input = page.locator('[data-testid="composer-input"]');
  await input.fill('/flannel diagnose demo');
  await input.press('Enter');
  const report = page.locator('[data-testid="message"]', { hasText: /Diagnosis of cluster\s*demo/ });
  await report.first().waitFor({ timeout: 60_000 });
  await report.first().locator('[data-testid="replies-link"]').click({ timeout: 60_000 });
  const thread = page.locator('[data-testid="thread-pane"]');
  await thread
    .getByText(/no problem found/)
    .first()
    .waitFor({ timeout: 60_000 });
}, 120_000);
