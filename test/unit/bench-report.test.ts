import { describe, expect, it } from '@jest/globals';
import { evaluateTargets, formatReport } from '../../src/bench/report.js';
import type { BenchReport } from '../../src/bench/run.js';
import { percentile } from '../../src/bench/stats.js';

describe('percentile', () => {
  it('takes the nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted on purpose
    expect(percentile(values, 0.5)).toBe(50);
    expect(percentile(values, 0.99)).toBe(99);
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([], 0.5)).toBeNaN();
  });
});

describe('bench targets', () => {
  const report = (over: Partial<BenchReport['storm']>, ratio = 3): Omit<BenchReport, 'targets'> => ({
    machine: { node: 'v20', cpus: 2, cpu_model: 'cpu', mem_gb: 4, platform: 'linux-x64' },
    storm: {
      incidents: 1,
      events: 10_000,
      nodes: 500,
      p50_ms: 20,
      p99_ms: 120,
      events_per_s: 25_000,
      events_per_cpu_s: 30_000,
      cpu_ms_per_1k_events: 33,
      slack_calls: 12,
      first_post_ms: 90,
      rss_mb: 150,
      ...over,
    },
    baseline: { tool: 'kubectl', events_per_s: 5_000, cpu_ms_per_1k_events: 100 },
    ratio_vs_baseline: ratio,
    diagnosis: { nodes: 200, probed: 20, checks: 16, wall_ms: 2500, root_cause: 'flannel-not-deployed' },
  });

  it('marks each SPEC target met or missed', () => {
    const ok = evaluateTargets(report({}));
    expect(Object.values(ok).every((t) => t.met)).toBe(true);
    const bad = evaluateTargets(
      report({ incidents: 2, p99_ms: 400, rss_mb: 300, events_per_cpu_s: 9_000, slack_calls: 900 }, 1.2),
    );
    expect(bad['storm.incidents'].met).toBe(false);
    expect(bad['storm.p99_ms'].met).toBe(false);
    expect(bad['storm.rss_mb'].met).toBe(false);
    expect(bad['storm.events_per_cpu_s'].met).toBe(false);
    expect(bad.ratio_vs_baseline.met).toBe(false);
    expect(bad['storm.slack_calls'].met).toBe(false);
  });

  it('prints a table naming misses', () => {
    const partial = report({ p99_ms: 400 });
    const text = formatReport({ ...partial, targets: evaluateTargets(partial) });
    expect(text).toMatch(/storm\.p99_ms\s+400 ms\s+<= 250\s+MISSED/);
    expect(text).toMatch(/ratio_vs_baseline\s+3x\s+>= 2\s+ok/);
  });
});
