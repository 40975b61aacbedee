/**
 * Issue 7/9 item 9 through Slack: a verdict states the network (backend, MTU) without `--node`, and a cause
 * with more evidence than the message shows offers every line behind a button, answered to whoever clicks it
 * (ephemeral, read-only, so a reader may ask too).
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { waitFor } from '../helpers/wait.js';
import { answerText, buttonsOf, startStack, textOf, type Stack } from './lifecycle-helpers.js';

const CH = 'C0EVIDENCE';
const CLUSTER = 'netleft';
let stack: Stack;

beforeAll(async () => {
  stack = await startStack([{ name: CLUSTER, channel: CH, scenario: 'containerd-net-leftover' }]);
}, 90_000);

afterAll(async () => {
  await stack?.stop();
});

it('shows the network line and every evidence line on request', async () => {
  const answer = await stack.slack.command({
    user: 'UBOB',
    channel: CH,
    text: `/flannel diagnose ${CLUSTER}`,
  });
  expect(answerText(answer)).toMatch(/Running the diagnosis/);
  const report = await waitFor(
    'the report with its verdict',
    () =>
      stack.slack
        .messages(CH)
        .find((m) => m.text.startsWith(`Diagnosis of ${CLUSTER}:`) && !/running/.test(m.text))
        ?.replies.find((r) => /^Verdict for/.test(r.text)),
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  const text = textOf(report);
  expect(text).toContain('Network: backend vxlan, MTU 1450');
  expect(text).toMatch(/…and \d+ more evidence lines/);
  expect(buttonsOf(report)).toContain('show-evidence-1');

  // A reader who may approve nothing may still read the evidence.
  const shown = answerText(
    await stack.slack.click({ user: 'UMALLORY', channel: CH, ts: report.ts, action_id: 'show-evidence-1' }),
  );
  expect(shown).toMatch(/Evidence for Another CNI config sorts before Flannel/);
  expect(shown).toContain('10-containerd-net.conflist');
  // More lines than the verdict shows: the checks' own evidence too.
  expect(shown.match(/• /g)?.length ?? 0).toBeGreaterThan(8);
  expect(shown).toMatch(/pod-ips: kubectl get pods -A -o wide \(node worker-[23]\)/);
}, 120_000);
