/** `flannel-ops bench --quick` end to end: the report has the SPEC's fields (figures are not asserted). */
import { CHECK_ID_LIST } from '../../src/checks/catalog.js';
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

describe('flannel-ops bench --quick', () => {
  it('prints a JSON report with every figure the SPEC names, measured on the deployed bot', async () => {
    const { stdout } = await run('node', ['bin/flannel-ops.js', 'bench', '--quick', '--json'], {
      env: { ...process.env, FLANNEL_OPS_KEY_PREFIX: `t-bench-${process.pid}` },
      maxBuffer: 10 * 2 ** 20,
      timeout: 540_000,
    });
    const report = JSON.parse(stdout);
    // Every figure the SPEC names is in the JSON ("Performance targets").
    for (const key of [
      'page.p50_ms',
      'page.p99_ms',
      'storm.incidents',
      'storm.events',
      'storm.cpu_ms_per_1k_events',
      'storm.slack_calls',
      'baseline.cpu_ms_per_1k_events',
      'ratio_vs_baseline',
      'memory.rss_idle_mb',
      'memory.rss_peak_mb',
      'diagnosis.nodes',
      'diagnosis.nodes_probed',
      'diagnosis.wall_ms',
      'hub.clusters',
      'hub.replicas',
      'hub.max_per_replica',
      'hub.failover_s',
      'hub.duplicate_incidents',
      'machine',
    ])
      expect(report).toHaveProperty(key.split('.'));
    // Page latency over at least 30 incidents, each opened by the deployed bot's post to the Slack emulator.
    expect(report.page.incidents).toBeGreaterThanOrEqual(30);
    expect(report.page.p50_ms).toBeGreaterThan(0);
    expect(report.page.p99_ms).toBeGreaterThanOrEqual(report.page.p50_ms);
    // The storm: one incident, CPU of the bot and of redis-server both counted.
    expect(report.storm.incidents).toBe(1);
    expect(report.storm.events).toBe(2000);
    expect(report.storm.bot_cpu_ms_per_1k_events).toBeGreaterThan(0);
    expect(report.storm.redis_cpu_ms_per_1k_events).toBeGreaterThan(0);
    expect(report.storm.cpu_ms_per_1k_events).toBeCloseTo(
      report.storm.bot_cpu_ms_per_1k_events + report.storm.redis_cpu_ms_per_1k_events,
      -1,
    );
    expect(report.storm.slack_posts).toBeGreaterThan(0);
    expect(report.storm.slack_calls).toBeGreaterThanOrEqual(report.storm.slack_posts);
    expect(report.baseline.cpu_ms_per_1k_events).toBeGreaterThan(0);
    expect(report.ratio_vs_baseline).toBeCloseTo(
      report.baseline.cpu_ms_per_1k_events / report.storm.cpu_ms_per_1k_events,
      1,
    );
    expect(report.memory.rss_idle_mb).toBeGreaterThan(0);
    expect(report.memory.rss_peak_mb).toBeGreaterThan(0);
    expect(report.growth.events.map((g: { events: number }) => g.events).length).toBeGreaterThanOrEqual(2);
    expect(report.machine.cpus).toBeGreaterThan(0);
    // One full diagnosis of a 200-node flannel-missing cluster whose probe pods take a second to start.
    expect(report.diagnosis).toMatchObject({
      nodes: 200,
      checks: CHECK_ID_LIST.length,
      root_cause: 'flannel-not-deployed',
    });
    expect(report.diagnosis.nodes_probed).toBeGreaterThan(0);
    expect(report.diagnosis.probe_starting_ms).toBeGreaterThanOrEqual(1000);
    expect(report.diagnosis.wall_ms).toBeGreaterThan(report.diagnosis.probe_starting_ms);
    // Each SPEC target is judged, or marked unmeasured (the hub when it did not run here).
    for (const t of Object.values(report.targets) as Array<{ met: boolean | null }>)
      expect([true, false, null]).toContain(t.met);
    expect(report.targets['page.p99_ms'].met).not.toBeNull();

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
  }, 600_000);
});
