/** `flannel-ops bench --quick` end to end: the report has the SPEC's fields (figures are not asserted). */
import { CHECK_ID_LIST } from '../../src/checks/catalog.js';
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
    // The storm through the real `flannel-ops run` posts one incident with a handful of Slack calls.
    expect(report.slack.slack_posts).toBeGreaterThan(0);
    expect(report.storm.slack_calls).toBe(report.slack.slack_calls);
    // One full diagnosis of a 50-node flannel-missing cluster names the cause.
    expect(report.diagnosis).toMatchObject({
      nodes: 50,
      checks: CHECK_ID_LIST.length,
      root_cause: 'flannel-not-deployed',
    });
    expect(report.diagnosis.wall_ms).toBeGreaterThan(0);

    // The bench compiled the product: the deployed entry point (plain Node on dist/) must run, with Node's own
    // ESM rules, which are stricter than Jest's and tsx's about CommonJS named exports.
    // `run` loads the whole bot (Bolt, BullMQ, client-node) before it checks the environment.
    const env: NodeJS.ProcessEnv = { ...process.env, FLANNEL_OPS_COMPILED: '1' };
    delete env.SLACK_BOT_TOKEN;
    const compiled = await run('node', ['bin/flannel-ops.js', 'run', '--clusters', '/nonexistent.yaml'], {
      env,
    }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(compiled.code).toBe(1);
    expect(compiled.stderr).toContain('SLACK_BOT_TOKEN: required');
    expect(compiled.stderr).not.toMatch(/internal error|\n\s+at /);

    // tsc copies no .lua file: the compiled loader finds every script (and its includes) all the same.
    const lua = await run('node', [
      '--input-type=module',
      '-e',
      "const m = await import('./dist/src/coordination/lua-scripts.js'); console.log(m.LUA_SCRIPTS.map((f) => m.luaScript(f).length).join(' '));",
    ]);
    const sizes = lua.stdout.trim().split(' ').map(Number);
    expect(sizes.length).toBeGreaterThanOrEqual(11);
    expect(sizes.every((n) => n > 50)).toBe(true);
  }, 300_000);
});
