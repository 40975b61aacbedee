import { describe, expect, it } from '@jest/globals';
import type { Diagnosis, DiagnosisProgress, PlanStep, RankedCause } from '../../src/diagnosis/types.js';
import type { Incident } from '../../src/incidents/types.js';
import {
  MAX_BLOCKS,
  MAX_BUTTON_TEXT,
  MAX_MESSAGE_CHARS,
  MAX_SECTION_TEXT,
  type Block,
  type SlackMessage,
} from '../../src/slack/render/blocks.js';
import { renderHelp, renderTimeline } from '../../src/slack/render/commands.js';
import {
  EVIDENCE_ACTION_ID,
  RERUN_ACTION_ID,
  hasMoreEvidence,
  renderDiagnosisChecks,
  renderDiagnosisProgress,
  renderVerdict,
} from '../../src/slack/render/diagnosis.js';
import { renderIncidentRoot } from '../../src/slack/render/incident.js';

const HOSTILE = 'pod-<!channel>-<https://example.com|click>-<@U123>&';

function allText(message: SlackMessage): string {
  return JSON.stringify(message.blocks);
}

function expectWithinLimits(message: SlackMessage): void {
  expect(message.blocks.length).toBeLessThanOrEqual(MAX_BLOCKS);
  expect(allText(message).length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS);
  for (const block of message.blocks as Block[]) {
    if (block.type === 'section' && block.text)
      expect(block.text.text.length).toBeLessThanOrEqual(MAX_SECTION_TEXT);
    if (block.type === 'actions') {
      for (const el of block.elements) expect(el.text.text.length).toBeLessThanOrEqual(MAX_BUTTON_TEXT);
    }
  }
}

/** No raw `<` in any text means no mention, link or command can have been injected. */
function expectNoControls(message: SlackMessage, allowed: RegExp[] = []): void {
  let text = allText(message) + message.text;
  for (const re of allowed) text = text.replace(re, '');
  expect(text).not.toMatch(/<[!@#h]/);
}
const DATE = /<!date\^\d+\^[^|]+\|[^>]+>/g;

const incident: Incident = {
  id: 'inc-abcd2345',
  cluster: 'prod',
  runbookId: 'flannel',
  state: 'diagnosing',
  counts: { events: 120, occurrences: 400, pods: 30, nodes: 3, namespaces: 2, approximate: false },
  signatures: [
    {
      errorClass: 'ipam-exhausted',
      events: 100,
      occurrences: 300,
      sampleMessage: `failed for ${HOSTILE} \`\`\` x`,
    },
  ],
  firstSeen: '2025-01-01T00:00:00.000Z',
  lastSeen: '2025-01-01T00:05:00.000Z',
  openedAt: '2025-01-01T00:00:01.000Z',
  updatedAt: '2025-01-01T00:05:01.000Z',
  reopenCount: 0,
  version: 7,
  extras: {},
};

function cause(i: number, evidence: number): RankedCause {
  return {
    id: i === 0 ? 'flannel-not-deployed' : 'subnet-env-missing',
    title: i === 0 ? 'Flannel is not deployed' : 'subnet.env missing',
    confidence: 0.9 - i * 0.1,
    summary: `summary ${i} ${HOSTILE}`,
    nodes: [`node-${i}-${HOSTILE}`],
    evidence: Array.from({ length: evidence }, (_, k) => `evidence ${k} on ${HOSTILE}`),
    checks: ['flannel-daemonset'],
  };
}

function diagnosis(
  opts: { checks?: number; evidence?: number; causes?: number; steps?: number } = {},
): Diagnosis {
  const step = (k: number): PlanStep => ({
    step: `step-${k}`,
    action: 'reapply-flannel-manifest',
    risk: k % 2 ? 'medium' : 'high',
    title: `Re-apply the Flannel manifest ${k}`,
    node: `node-${HOSTILE}`,
    reportOnly: false,
    causes: ['flannel-not-deployed'],
  });
  return {
    id: 'd123',
    cluster: 'prod',
    runbookId: 'flannel',
    nodes: ['node-a'],
    startedAt: '2025-01-01T00:00:00Z',
    finishedAt: '2025-01-01T00:00:05Z',
    healthy: false,
    causes: Array.from({ length: opts.causes ?? 2 }, (_, i) => cause(i, opts.evidence ?? 3)),
    checks: Array.from({ length: opts.checks ?? 16 }, (_, k) => ({
      id: 'flannel-daemonset',
      status: k % 3 ? 'ok' : 'fail',
      summary: `check ${k}: ${HOSTILE}`,
      evidence: [HOSTILE],
      findings: [],
      node: `node-${k}`,
    })),
    plan: Array.from({ length: opts.steps ?? 2 }, (_, k) => step(k)),
    network: { warnings: [] },
  };
}

describe('incident root message', () => {
  it('shows state, cluster, runbook title, failure class, counts and times', () => {
    const message = renderIncidentRoot({ incident, runbookTitle: 'Flannel CNI: pods stuck' });
    const text = allText(message);
    for (const part of [
      'Diagnosing',
      'prod',
      'Flannel CNI: pods stuck',
      'ipam-exhausted',
      '30 / 3 / 2',
      '120 (400)',
      'inc-abcd2345',
    ]) {
      expect(text).toContain(part);
    }
    expect(text).toContain('<!date^');
    expectWithinLimits(message);
    expectNoControls(message, [DATE]);
    expect(text).toContain('&lt;!channel&gt;');
  });
});

describe('diagnosis messages', () => {
  it('the progress message has one line per check with its state', () => {
    const progress: DiagnosisProgress = {
      id: 'd1',
      cluster: 'prod',
      phase: 'checking',
      checks: [
        { id: 'flannel-daemonset', state: 'fail', summary: `no DaemonSet ${HOSTILE}` },
        { id: 'flannel-pods', state: 'running' },
        { id: 'node-ipam', state: 'pending' },
      ],
      probes: { total: 2, done: 1, failed: 0 },
    };
    const message = renderDiagnosisProgress(progress);
    const text = allText(message);
    expect(text).toContain('1/3 checks done');
    expect(text).toMatch(/:x: `flannel-daemonset`/);
    expect(text).toMatch(/:hourglass_flowing_sand: `flannel-pods`/);
    expect(text).toContain('probes 1/2');
    expectNoControls(message);
  });

  it('a 500-check diagnosis is truncated with a note and stays within the limits', () => {
    const message = renderDiagnosisChecks(diagnosis({ checks: 500 }));
    expectWithinLimits(message);
    expect(allText(message)).toMatch(/more checks/);
    expectNoControls(message);
  });

  it('a cause with 500 evidence lines is truncated with a note', () => {
    const message = renderVerdict(diagnosis({ evidence: 500 }), { rerunId: 'abc123abc123' });
    expectWithinLimits(message);
    expect(allText(message)).toContain('…and 492 more evidence lines');
    expectNoControls(message);
  });

  it('the verdict ranks causes, the plan shows each step with its risk, and the re-run button carries an opaque id', () => {
    const message = renderVerdict(diagnosis(), { rerunId: 'opaque0001' });
    const text = allText(message);
    expect(text.indexOf('1. Flannel is not deployed')).toBeGreaterThan(-1);
    expect(text.indexOf('2. subnet.env missing')).toBeGreaterThan(text.indexOf('1. Flannel is not deployed'));
    expect(text).toContain('`flannel-not-deployed`');
    expect(text).toContain('Step 1.');
    expect(text).toContain('high risk');
    expect(text).toContain('medium risk');
    const actions = message.blocks.filter((b) => b.type === 'actions');
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({ elements: [{ action_id: RERUN_ACTION_ID, value: 'opaque0001' }] });
    expectNoControls(message);
  });

  it('a huge verdict keeps the re-run button', () => {
    const message = renderVerdict(diagnosis({ causes: 13, evidence: 100, steps: 40 }), {
      rerunId: 'opaque0002',
    });
    expectWithinLimits(message);
    expect(message.blocks.at(-1)).toMatchObject({
      type: 'actions',
      elements: [{ action_id: RERUN_ACTION_ID }],
    });
    expect(allText(message)).toMatch(/shortened|more (steps|possible causes)/);
  });

  it('a healthy diagnosis says so', () => {
    const healthy = { ...diagnosis({ causes: 0, steps: 0 }), healthy: true };
    expect(allText(renderVerdict(healthy))).toContain('no problem found');
  });
});

describe('command texts', () => {
  it('help lists the subcommands and clusters', () => {
    const text = allText(renderHelp(['prod', 'staging']));
    for (const part of ['diagnose', 'status', 'incidents', 'timeline', 'help', '`prod`', '`staging`'])
      expect(text).toContain(part);
  });

  it('the timeline escapes what it shows', () => {
    const message = renderTimeline('inc-abcd2345', [
      {
        entryId: '1-0',
        at: '2025-01-01T00:00:00Z',
        actor: 'UALICE',
        action: 'transition',
        outcome: 'ok',
        details: { reason: HOSTILE },
      },
      {
        entryId: '2-0',
        at: '2025-01-01T00:00:01Z',
        actor: '<!channel>',
        action: 'x',
        outcome: 'rejected',
        details: {},
      },
    ]);
    const text = allText(message);
    expect(text).toContain('<@UALICE>');
    expect(text).toContain('&lt;!channel&gt;');
    expectNoControls(message, [DATE, /<@UALICE>/g]);
  });
});

describe('verdict: evidence on request, ties, network line (issue 7/9 items 7, 9)', () => {
  it('offers every evidence line of a cause with more than it shows behind its own button', () => {
    const d = diagnosis({ evidence: 20, causes: 2 });
    const message = renderVerdict(d, { evidenceIds: { 'flannel-not-deployed': 'b'.repeat(24) } });
    const buttons = (message.blocks as Block[])
      .filter((b) => b.type === 'actions')
      .flatMap((b) => (b.type === 'actions' ? b.elements : []));
    expect(buttons.map((e) => [e.action_id, e.value, e.text.text])).toEqual([
      ['show-evidence-1', 'b'.repeat(24), 'Show all evidence'],
    ]);
    expect(EVIDENCE_ACTION_ID.test('show-evidence-1')).toBe(true);
    expect(allText(message)).toContain('…and 12 more evidence lines');
    expect(hasMoreEvidence(d.causes[0])).toBe(true);
    expect(hasMoreEvidence(cause(0, 8))).toBe(false);
    expectWithinLimits(message);
  });

  it('says when causes tie, what tells them apart, and which high-risk steps are held back', () => {
    const d: Diagnosis = {
      ...diagnosis(),
      tie: {
        causes: ['stale-cni0', 'subnet-env-mismatch'],
        tellApart: ['stale-cni0: `ip -4 addr show cni0` ...', 'subnet-env-mismatch: FLANNEL_SUBNET ...'],
        heldBack: ['delete-stale-cni0'],
      },
    };
    const text = allText(renderVerdict(d));
    expect(text).toMatch(
      /are equally supported by the evidence\*, so no high-risk step is offered \(held back: `delete-stale-cni0`\)/,
    );
    expect(text).toContain('What would tell them apart');
  });

  it('states backend and MTU in a network line', () => {
    const d: Diagnosis = {
      ...diagnosis(),
      network: { backend: 'vxlan', mtu: 1450, vni: 1, port: 8472, warnings: [] },
    };
    expect(allText(renderVerdict(d))).toContain('Network: backend vxlan, MTU 1450, VNI 1, port 8472');
  });
});
