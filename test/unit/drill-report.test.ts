import { describe, expect, it } from '@jest/globals';
import {
  drillExitCode,
  drillPassed,
  formatDrillTable,
  verdictRight,
  type DrillResult,
} from '../../src/demo/drill-report.js';
import { namedCause } from '../../src/demo/drill.js';
import type { EmulatorMessage } from '../../src/sim/slack/index.js';
import { renderVerdict } from '../../src/slack/render/diagnosis.js';
import type { Diagnosis } from '../../src/diagnosis/types.js';

const base: DrillResult = {
  scenario: 'flannel-missing',
  expected: 'flannel-not-deployed',
  named: 'flannel-not-deployed',
  verdictRight: true,
  outcome: 'resolved',
  detectMs: 1200,
  verdictMs: 9800,
  resolvedMs: 41_000,
  approvals: 6,
  planVersions: 1,
};

describe('verdictRight', () => {
  it('is right only when the named cause is the root cause (none for a healthy scenario)', () => {
    expect(verdictRight('ipam-leak', 'ipam-leak')).toBe(true);
    expect(verdictRight('ipam-leak', 'ipam-exhausted')).toBe(false);
    expect(verdictRight('none', 'none')).toBe(true);
    expect(verdictRight('none', 'stale-cni0')).toBe(false);
    expect(verdictRight('ipam-leak', undefined)).toBe(false);
  });
});

describe('drill pass/fail and exit code', () => {
  it('resolved, with a person, healthy or reported with the right verdict pass; the rest fail', () => {
    for (const outcome of ['resolved', 'needs-person', 'healthy', 'reported'] as const)
      expect(drillPassed({ ...base, outcome })).toBe(true);
    for (const outcome of ['failed', 'timeout'] as const)
      expect(drillPassed({ ...base, outcome })).toBe(false);
    expect(drillPassed({ ...base, verdictRight: false })).toBe(false);
    expect(drillExitCode([base, { ...base, scenario: 'healthy', outcome: 'healthy' }])).toBe(0);
    expect(drillExitCode([base, { ...base, outcome: 'timeout' }])).toBe(1);
    expect(drillExitCode([])).toBe(1);
  });
});

describe('formatDrillTable', () => {
  it('one aligned row per drill with its times, a wrong verdict marked, and a summary', () => {
    const table = formatDrillTable([
      base,
      {
        ...base,
        scenario: 'stale-cni0',
        expected: 'stale-cni0',
        named: 'subnet-env-mismatch',
        verdictRight: false,
        outcome: 'needs-person',
        resolvedMs: undefined,
        note: 'left to a person',
      },
    ]);
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^scenario\s+expected\s+named\s+right\s+detect\s+verdict\s+resolved\s+outcome$/);
    expect(lines[2]).toMatch(
      /^flannel-missing\s+flannel-not-deployed\s+flannel-not-deployed\s+yes\s+1\.2s\s+9\.8s\s+41\.0s\s+resolved$/,
    );
    expect(lines[3]).toMatch(
      /^stale-cni0\s+stale-cni0\s+subnet-env-mismatch\s+NO\s+1\.2s\s+9\.8s\s+-\s+needs-person$/,
    );
    // Columns line up: every row starts its second column where the header does.
    const col = lines[0].indexOf('expected');
    expect(lines[2].indexOf('flannel-not-deployed')).toBe(col);
    expect(lines[3].indexOf('stale-cni0', 1)).toBe(col);
    expect(table).toContain('stale-cni0: left to a person');
    expect(table).toMatch(/1\/2 drills ended .*verdict right 1\/2/);
  });

  it('strips terminal escapes a scenario name or note could carry', () => {
    const table = formatDrillTable([{ ...base, note: 'evil \u001b[2J note' }]);
    expect(table).not.toContain('\u001b');
  });
});

describe('namedCause (reading the verdict the bot rendered)', () => {
  const diagnosis = (causes: Array<{ id: string; title: string }>): Diagnosis =>
    ({
      id: 'd-1',
      cluster: 'demo',
      runbookId: 'flannel',
      nodes: [],
      startedAt: '2026-01-01T00:00:00Z',
      finishedAt: '2026-01-01T00:00:05Z',
      healthy: causes.length === 0,
      causes: causes.map((c, i) => ({
        ...c,
        confidence: 0.9 - i * 0.1,
        summary: `${c.title} summary`,
        nodes: ['worker-1'],
        evidence: ['evidence line'],
        checks: [],
      })),
      checks: [],
      plan: [],
      network: { warnings: [] },
    }) as unknown as Diagnosis;
  const asMessage = (d: Diagnosis): EmulatorMessage => ({
    ts: '1.000001',
    channel: 'C0DEMO',
    user: 'UBOT',
    replies: [],
    ...renderVerdict(d),
  });

  it('the first ranked cause of a rendered verdict, "none" for no problem, undefined for no verdict', () => {
    const two = diagnosis([
      { id: 'ipam-leak', title: 'Leaked IP reservations' },
      { id: 'ipam-exhausted', title: 'Pod range full' },
    ]);
    expect(namedCause([asMessage(two)])).toBe('ipam-leak');
    expect(namedCause([asMessage(diagnosis([]))])).toBe('none');
    expect(namedCause([{ ts: '1', channel: 'C', user: 'U', text: 'Diagnosis running', replies: [] }])).toBe(
      undefined,
    );
  });
});
