/** `flannel-ops bench --quick` end to end: the report has the SPEC's fields (figures are not asserted). */
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

describe('flannel-ops bench --quick', () => {
  it('prints a JSON report with the storm, the baseline and their ratio', async () => {
    const { stdout } = await run('node', ['bin/flannel-ops.js', 'bench', '--quick', '--json'], {
      env: { ...process.env, FLANNEL_OPS_KEY_PREFIX: `t-bench-${process.pid}` },
      maxBuffer: 10 * 2 ** 20,
      timeout: 240_000,
    });
    const report = JSON.parse(stdout);
    expect(report.storm.incidents).toBe(1);
    expect(report.storm.events).toBe(2000);
    for (const key of ['p50_ms', 'p99_ms', 'events_per_s', 'cpu_ms_per_1k_events', 'rss_mb']) {
      expect(typeof report.storm[key]).toBe('number');
      expect(report.storm[key]).toBeGreaterThan(0);
    }
    expect(report.baseline.cpu_ms_per_1k_events).toBeGreaterThan(0);
    expect(report.ratio_vs_baseline).toBeCloseTo(
      report.baseline.cpu_ms_per_1k_events / report.storm.cpu_ms_per_1k_events,
      1,
    );
    expect(report.machine.cpus).toBeGreaterThan(0);
  }, 300_000);
});
