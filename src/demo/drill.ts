/**
 * `flannel-ops drill`: a failure drill on this machine (the seed's "rehearse failures regularly"). For each
 * scenario the demo stack starts (simulator, Redis, the bot in HTTP mode, the Slack emulator); the drill then
 * acts as the on-call people would, only through the emulator's JSON API: it waits for the incident thread,
 * approves every offered step as UALICE and UBOB (high-risk steps need two people), and waits until the incident
 * resolves or waits for a person. A healthy scenario, or a failure that opens no incident, gets an on-demand
 * `/flannel diagnose`. Times are measured from the moment the stack is up. A stand-in: product code never
 * imports it.
 */
import { CAUSE_ID_LIST } from '../checks/causes.js';
import type { EmulatorMessage } from '../sim/slack/index.js';
import { startDemo } from './start-demo.js';
import { verdictRight, type DrillOutcome, type DrillResult } from './drill-report.js';

export const APPROVERS = ['UALICE', 'UBOB'] as const;

export interface DrillOptions {
  scenario: string;
  runbooksDir: string;
  env?: NodeJS.ProcessEnv;
  /** Give up on the whole drill after this long (default 300 s). */
  timeoutMs?: number;
  /** How long to wait for an incident before asking for a report instead (default 60 s). */
  detectTimeoutMs?: number;
  log?(line: string): void;
}

const POLL_MS = 200;
const CAUSES = new Set<string>(CAUSE_ID_LIST);

/** Every text of a message: its fallback text and the text of each block (sections, fields, headers). */
export function messageText(m: EmulatorMessage | undefined): string {
  if (!m) return '';
  const parts: string[] = [m.text];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.text === 'string') parts.push(o.text);
      for (const [k, child] of Object.entries(o)) if (k !== 'text' || typeof child !== 'string') walk(child);
    }
  };
  walk(m.blocks ?? []);
  return parts.join('\n');
}

/** The action ids of a message's buttons. */
export function buttonsOf(m: EmulatorMessage | undefined): string[] {
  return (m?.blocks ?? []).flatMap((b) => {
    const block = b as { type?: string; elements?: Array<{ action_id?: string }> };
    return block.type === 'actions' ? (block.elements ?? []).map((e) => e.action_id ?? '') : [];
  });
}

/**
 * The cause a verdict names first: "none" when it found no problem, undefined when no verdict is shown. The
 * verdict lists causes as `*1. Title* \`cause-id\``; the incident root as `*Verdict:* headline (\`cause-id\`)`.
 */
export function namedCause(messages: readonly EmulatorMessage[]): string | undefined {
  for (const m of messages) {
    const text = messageText(m);
    const first = /\*1\. [^\n]*?\* `([a-z0-9-]+)`/.exec(text)?.[1];
    if (first && CAUSES.has(first)) return first;
    const root = /\*Verdict:\*[^\n]*\(`([a-z0-9-]+)`\)/.exec(text)?.[1];
    if (root && CAUSES.has(root)) return root;
    if (/no problem found/.test(text)) return 'none';
  }
  return undefined;
}

class EmulatedSlack {
  constructor(
    private readonly url: string,
    private readonly channel: string,
  ) {}

  async messages(): Promise<EmulatorMessage[]> {
    const res = await fetch(`${this.url}/emulator/api/messages?channel=${encodeURIComponent(this.channel)}`);
    const body = (await res.json()) as { ok?: boolean; messages?: EmulatorMessage[]; error?: string };
    if (!body.ok) throw new Error(`emulator: ${body.error ?? res.status}`);
    return (body.messages ?? []).filter((m) => !m.ephemeral_to);
  }

  async post(route: 'command' | 'click', payload: Record<string, string>): Promise<unknown> {
    const res = await fetch(`${this.url}/emulator/api/${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: this.channel, ...payload }),
    });
    return res.json();
  }
}

const isRoot = (m: EmulatorMessage) => /Incident `inc-/.test(messageText(m));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One drill: starts the demo stack on `scenario`, plays it through, stops the stack. */
export async function runDrill(opts: DrillOptions): Promise<DrillResult> {
  const log = opts.log ?? (() => {});
  const env = { LOG_LEVEL: 'error', ...(opts.env ?? process.env) };
  const demo = await startDemo({ scenario: opts.scenario, port: 0, runbooksDir: opts.runbooksDir, env });
  const t0 = Date.now();
  const since = () => Date.now() - t0;
  const deadline = t0 + (opts.timeoutMs ?? 300_000);
  const slack = new EmulatedSlack(demo.slackUrl, demo.channel);
  const expected = demo.scenario.rootCause;
  const result: DrillResult = {
    scenario: demo.scenario.name,
    expected,
    verdictRight: false,
    outcome: 'timeout',
    approvals: 0,
    planVersions: 0,
  };
  const finish = (outcome: DrillOutcome, note?: string): DrillResult => {
    result.outcome = outcome;
    result.verdictRight = verdictRight(expected, result.named);
    if (note) result.note = note;
    return result;
  };
  try {
    log(`${opts.scenario}: stack up (${demo.slackUrl})`);
    // A healthy cluster opens nothing: ask for a report at once. A broken one should open an incident.
    const root =
      expected === 'none'
        ? undefined
        : await waitFor(
            async () => (await slack.messages()).find(isRoot),
            Math.min(deadline, t0 + (opts.detectTimeoutMs ?? 60_000)),
          );
    if (!root) {
      // A healthy cluster is one that has booted: asked while its Flannel pods are still starting, the report
      // rightly says they are not running yet.
      if (expected === 'none') await demo.settled();
      const named = await report(slack, demo.cluster, deadline);
      result.verdictMs = since();
      result.named = named;
      const opened = (await slack.messages()).some(isRoot);
      if (named === undefined) return finish('timeout', 'the on-demand report did not finish');
      if (expected === 'none')
        return finish('healthy', opened ? 'an incident opened on a healthy cluster' : undefined);
      return finish('reported', 'no incident opened (no sandbox failure yet); the report named the cause');
    }
    result.detectMs = since();
    log(`${opts.scenario}: incident posted after ${result.detectMs} ms`);
    const clicked = new Set<string>();
    const versions = new Set<string>();
    while (Date.now() < deadline) {
      const messages = await slack.messages();
      const current = messages.find(isRoot);
      if (!current) throw new Error('the incident root message disappeared');
      const thread = [current, ...current.replies];
      if (result.named === undefined) {
        // The verdict reply, or the root's verdict line (the root can be re-rendered before the reply lands).
        const named = namedCause([...current.replies, current]);
        if (named !== undefined) {
          result.named = named;
          result.verdictMs = since();
          log(`${opts.scenario}: verdict ${named} after ${result.verdictMs} ms`);
        }
      }
      if (/^Resolved/.test(current.text)) {
        result.resolvedMs = since();
        return finish('resolved');
      }
      if (/^Failed/.test(current.text)) return finish('failed', 'the incident failed');
      const plan = thread
        .filter(
          (r) => /^Remediation plan v\d+/.test(r.text) && buttonsOf(r).some((b) => b.startsWith('approve-')),
        )
        .at(-1);
      let clickedNow = false;
      if (plan && /Awaiting approval/.test(current.text)) {
        versions.add(plan.ts);
        for (const action of buttonsOf(plan).filter((b) => b.startsWith('approve-'))) {
          for (const user of APPROVERS) {
            const key = `${plan.ts}/${action}/${user}`;
            if (clicked.has(key)) continue;
            clicked.add(key);
            clickedNow = true;
            await slack.post('click', { user, ts: plan.ts, action_id: action });
            result.approvals++;
          }
        }
      }
      result.planVersions = versions.size;
      if (!clickedNow && /Needs a person/.test(current.text)) {
        return finish('needs-person');
      }
      await sleep(POLL_MS);
    }
    return finish('timeout', `not finished after ${Math.round((deadline - t0) / 1000)} s`);
  } catch (err) {
    return finish('failed', (err as Error)?.message ?? String(err));
  } finally {
    await demo.stop();
  }
}

/** `/flannel diagnose CLUSTER` as UALICE; the cause its verdict names first. */
async function report(slack: EmulatedSlack, cluster: string, deadline: number): Promise<string | undefined> {
  const isReport = (m: EmulatorMessage) => m.text.startsWith(`Diagnosis of ${cluster}:`);
  const before = (await slack.messages()).filter(isReport).length;
  await slack.post('command', { user: 'UALICE', text: `/flannel diagnose ${cluster}` });
  // Finished, and its verdict posted: the root says "done" before the verdict reply lands.
  return waitFor(async () => {
    const mine = (await slack.messages()).filter(isReport).at(before);
    return mine && !/running/.test(mine.text) ? namedCause([mine, ...mine.replies]) : undefined;
  }, deadline);
}

async function waitFor<T>(probe: () => Promise<T | undefined>, until: number): Promise<T | undefined> {
  while (Date.now() < until) {
    const value = await probe();
    if (value) return value;
    await sleep(POLL_MS);
  }
  return undefined;
}
