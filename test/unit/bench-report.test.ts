import { describe, expect, it } from '@jest/globals';
import {
  evaluateTargets,
  formatReport,
  LATEST_RUN_END,
  LATEST_RUN_START,
  NO_HUB_FIGURES,
  withLatestRun,
} from '../../src/bench/report.js';
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

const noHub = NO_HUB_FIGURES;

describe('bench targets', () => {
  type Partial2 = Omit<BenchReport, 'targets'>;
  const report = (over: (r: Partial2) => void = () => {}): Partial2 => {
    const r: Partial2 = {
      machine: { node: 'v20', cpus: 2, cpu_model: 'cpu', mem_gb: 4, platform: 'linux-x64', load_1m: 0.5 },
      quick: false,
      page: { incidents: 30, p50_ms: 40, p99_ms: 90, max_ms: 95 },
      storm: {
        incidents: 1,
        events: 10_000,
        nodes: 500,
        first_post_ms: 60,
        wall_ms: 1500,
        events_per_s: 6_600,
        cpu_ms_per_1k_events: 60,
        bot_cpu_ms_per_1k_events: 50,
        redis_cpu_ms_per_1k_events: 10,
        slack_calls: 12,
        slack_posts: 3,
        slack_updates: 9,
      },
      baseline: { tool: 'kubectl', events_per_s: 5_000, cpu_ms_per_1k_events: 300 },
      ratio_vs_baseline: 5,
      memory: { rss_idle_mb: 100, rss_peak_mb: 180, node_options: '--max-semi-space-size=2' },
      diagnosis: {
        nodes: 200,
        nodes_probed: 20,
        checks: 17,
        wall_ms: 2500,
        pod_start_ms: 1000,
        probe_queued_ms: 200,
        probe_starting_ms: 1000,
        probe_running_ms: 300,
        probe_concurrency: 20,
        root_cause: 'flannel-not-deployed',
      },
      growth: { clusters: [{ clusters: 10, watching_ms: 900, rss_idle_mb: 100 }], events: [] },
      hub: {
        status: 'ok',
        clusters: 100,
        replicas: 3,
        max_per_replica: 35,
        per_replica: [34, 33, 33],
        per_replica_after: [50, 50],
        failover_s: 12,
        duplicate_incidents: 0,
        rss_per_cluster_mb: 0.4,
      },
      redis: 'private redis-server',
    };
    over(r);
    return r;
  };

  it('marks each SPEC target met or missed', () => {
    const ok = evaluateTargets(report());
    expect(Object.values(ok).every((t) => t.met)).toBe(true);
    const bad = evaluateTargets(
      report((r) => {
        r.page.p99_ms = 101;
        r.storm.incidents = 2;
        r.storm.slack_calls = 900;
        r.ratio_vs_baseline = 2.9;
        r.memory.rss_idle_mb = 121;
        r.memory.rss_peak_mb = 201;
        r.diagnosis.wall_ms = 5001;
        if (r.hub.status === 'ok') {
          r.hub.max_per_replica = 36; // ⌈100/3⌉ + 1 = 35
          r.hub.failover_s = 16;
          r.hub.duplicate_incidents = 1;
        }
      }),
    );
    expect(Object.entries(bad).filter(([, t]) => t.met !== false)).toEqual([]);
  });

  it('leaves a section that did not run unjudged, not passed', () => {
    const targets = evaluateTargets(
      report((r) => {
        r.hub = { status: 'not run', reason: 'no redis-server', ...noHub };
      }),
    );
    expect(targets['hub.failover_s']).toMatchObject({ value: null, met: null });
    expect(targets['page.p99_ms'].met).toBe(true);
  });

  it('prints a table naming misses', () => {
    const partial = report((r) => {
      r.page.p99_ms = 400;
      r.hub = { status: 'not run', reason: 'no redis-server', ...noHub };
    });
    const text = formatReport({ ...partial, targets: evaluateTargets(partial) });
    expect(text).toMatch(/page\.p99_ms\s+400 ms\s+<= 100\s+MISSED/);
    expect(text).toMatch(/ratio_vs_baseline\s+5x\s+>= 3\s+ok/);
    expect(text).toMatch(/hub\s+not run: no redis-server/);
  });

  it("replaces docs/benchmarks.md's latest run, keeping the hand-written text around it", () => {
    const partial = report((r) => {
      r.memory.rss_peak_mb = 226;
    });
    const full = { ...partial, targets: evaluateTargets(partial) };
    const doc = `# Benchmarks\n\nHow it measures.\n\n${LATEST_RUN_START}\nold table\n${LATEST_RUN_END}\n\nWhy a target is missed.\n`;
    const at = new Date('2026-12-06T23:00:00.123Z');
    const once = withLatestRun(doc, full, at);
    expect(once).toContain('How it measures.');
    expect(once).toContain('Why a target is missed.');
    expect(once).not.toContain('old table');
    expect(once).toContain('Run 2026-12-06T23:00:00Z:');
    expect(once).toMatch(/memory\.rss_peak_mb\s+226 MiB\s+<= 200\s+MISSED/);
    expect(once).toContain('Missed: `memory.rss_peak_mb` 226 (target <= 200).');
    // Run again: still one block, the newer one.
    const twice = withLatestRun(once, { ...full, page: { ...full.page, p50_ms: 7 } }, at);
    expect(twice.split(LATEST_RUN_START)).toHaveLength(2);
    expect(twice).toMatch(/page\.p50_ms\s+7 ms/);
    // A document without the block gets it at the end.
    expect(withLatestRun('# Benchmarks\n', full, at)).toMatch(/^# Benchmarks\n\n<!-- bench:latest-run:start/);
  });
});

describe('the benchmarked bot is the deployed one', () => {
  it('starts with the NODE_OPTIONS deploy/deployment.yaml sets', async () => {
    const { readFileSync } = await import('node:fs');
    const { parse } = await import('yaml');
    const { DEPLOYED_NODE_OPTIONS } = await import('../../src/bench/bot-process.js');
    const deployment = parse(readFileSync('deploy/base/deployment.yaml', 'utf8')) as {
      spec: { template: { spec: { containers: Array<{ env?: Array<{ name: string; value?: string }> }> } } };
    };
    const env = deployment.spec.template.spec.containers[0].env ?? [];
    expect(env.find((e) => e.name === 'NODE_OPTIONS')?.value).toBe(DEPLOYED_NODE_OPTIONS);
    expect(env.find((e) => e.name === 'FLANNEL_OPS_COMPILED')?.value).toBe('1');
  });
});
