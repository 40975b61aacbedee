/**
 * `flannel-ops drill` as a user runs it: the real CLI in a child process, which starts the whole demo stack
 * (simulator, the bot in HTTP mode, the Slack emulator) on the shared Redis under throw-away prefixes, approves
 * through the emulator as the scripted approvers, and prints its results. `--all` takes many minutes: the
 * README shows a full run; here the seed's scenario end to end, and a healthy and a broken one as a table.
 */
import { describe, expect, it } from '@jest/globals';
import { runCli, type CliRun } from '../helpers/bot-process.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILTIN_SCENARIOS } from '../../src/sim/kube/scenario/builtin-names.js';

const dir = mkdtempSync(join(tmpdir(), 'fo-drill-'));

function run(args: string[]): Promise<CliRun> {
  return runCli(args, { HOME: dir, REDIS_URL: TEST_REDIS_URL }, { cwd: dir, timeoutMs: 480_000 });
}

describe('flannel-ops drill', () => {
  it('the field report (flannel-missing): detected, the right verdict, approved by two people, resolved', async () => {
    const result = await run(['drill', '--scenario', 'flannel-missing', '--json']);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toMatchObject({ code: 0 });
    const doc = JSON.parse(result.stdout);
    expect(doc.passed).toBe(true);
    expect(doc.drills).toHaveLength(1);
    const [drill] = doc.drills;
    expect(drill).toMatchObject({
      scenario: 'flannel-missing',
      expected: 'flannel-not-deployed',
      named: 'flannel-not-deployed',
      verdictRight: true,
      outcome: 'resolved',
    });
    // The times are in order: detected, then a verdict, then resolved.
    expect(drill.detectMs).toBeGreaterThanOrEqual(0);
    expect(drill.verdictMs).toBeGreaterThanOrEqual(drill.detectMs);
    expect(drill.resolvedMs).toBeGreaterThan(drill.verdictMs);
    // The Flannel install is high risk: it took both approvers.
    expect(drill.approvals).toBeGreaterThanOrEqual(2);
  }, 480_000);

  it('a healthy and a broken scenario from the built-in list: a table with a row each', async () => {
    const healthy = BUILTIN_SCENARIOS.find((s) => s === 'healthy')!;
    const broken = BUILTIN_SCENARIOS.find((s) => s === 'ipam-leak')!;
    const result = await run(['drill', '--scenario', healthy, '--scenario', broken]);
    // On a failure, the drill's table and log say which drill ended how.
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toMatchObject({ code: 0 });
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/^scenario\s+expected\s+named\s+right\s+detect\s+verdict\s+resolved\s+outcome$/);
    expect(result.stdout).toMatch(/\nhealthy\s+none\s+none\s+yes\s+-\s+\d+\.\ds\s+-\s+healthy\n/);
    expect(result.stdout).toMatch(
      /\nipam-leak\s+ipam-leak\s+ipam-leak\s+yes\s+\d+\.\ds\s+\d+\.\ds\s+(\d+\.\ds\s+resolved|-\s+needs-person)\n/,
    );
    expect(result.stdout).toMatch(/2\/2 drills ended/);
  }, 480_000);

  it('usage errors: exit 2 with one line naming the built-in scenarios', async () => {
    const none = await run(['drill']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/name a scenario \(--scenario NAME\) or use --all/);
    const unknown = await run(['drill', '--scenario', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown scenario "nope"; built-in scenarios: healthy, flannel-missing/);
    expect(unknown.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});
