/**
 * The demo as a newcomer meets it: `flannel-ops demo` in its own process (simulator, private Redis, bot, Slack
 * emulator), then headless Chromium on the page it prints. The test reads only what a person sees.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
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
    .getByText(/Re-apply the Flannel manifest/)
    .first()
    .waitFor();
  await expect(thread.getByText(/high risk/).count()).resolves.toBeGreaterThan(0);
  // The root message shows the state the incident reached.
  await root
    .first()
    .getByText(/Awaiting approval/)
    .first()
    .waitFor({ timeout: 30_000 });
}, 120_000);

it('answers /flannel diagnose demo typed in the message box with a second report', async () => {
  const input = page.locator('[data-testid="composer-input"]');
  await input.fill('/flannel diagnose demo');
  await input.press('Enter');
  const report = page.locator('[data-testid="message"]', { hasText: /Diagnosis of cluster\s*demo/ });
  await report.first().waitFor({ timeout: 60_000 });
  await report.first().locator('[data-testid="replies-link"]').click({ timeout: 60_000 });
  const thread = page.locator('[data-testid="thread-pane"]');
  await thread
    .getByText(/Flannel is not deployed/)
    .first()
    .waitFor({ timeout: 60_000 });
  await thread
    .getByText(/Remediation plan/)
    .first()
    .waitFor();
}, 120_000);
