/** `flannel-ops sim` as a user runs it: a child process that serves kubectl until SIGTERM. */
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kubectl, waitFor } from './sim-cluster-helpers.js';

const BIN = fileURLToPath(new URL('../../bin/flannel-ops.js', import.meta.url));
const dirs: string[] = [];
const children: ChildProcess[] = [];

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

function run(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const out = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out.stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out.stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out, exited };
}

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('flannel-ops sim', () => {
  it('prints its URL and kubeconfig, serves kubectl, and exits 0 on SIGTERM', async () => {
    const kubeconfig = join(tempDir('sim-cli-'), 'kubeconfig');
    const { child, out, exited } = run([
      'sim',
      '--scenario',
      'healthy',
      '--port',
      '0',
      '--kubeconfig',
      kubeconfig,
      '--retry-interval',
      '100',
    ]);
    const url = await waitFor(
      'the listening line',
      () => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out.stdout)?.[1],
      30000,
    );
    expect(out.stdout).toContain(`kubeconfig:  ${kubeconfig}`);
    expect(out.stdout).toContain('root cause:  none');
    expect(out.stdout).toContain('/_sim/faults/');
    expect(existsSync(kubeconfig)).toBe(true);

    const cache = tempDir('kubectl-cache-');
    const nodes = await kubectl(kubeconfig, cache, [
      'get',
      'nodes',
      '-o',
      'jsonpath={.items[*].metadata.name}',
    ]);
    expect(nodes.code).toBe(0);
    expect(nodes.stdout.split(' ').length).toBeGreaterThanOrEqual(2);
    const health = await fetch(`${url}/_sim/healthz`);
    expect(health.status).toBe(200);
    await waitFor('the flannel pods Running', async () => {
      const r = await kubectl(kubeconfig, cache, [
        'get',
        'pods',
        '-A',
        '-l',
        'app=flannel',
        '-o',
        'jsonpath={.items[*].status.phase}',
      ]);
      return r.stdout !== '' && r.stdout.split(' ').every((p) => p === 'Running');
    });

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out.stderr).toBe('');
  });

  it('rejects an unknown scenario with the built-in names and no stack trace', async () => {
    const { out, exited } = run(['sim', '--scenario', 'no-such-scenario', '--port', '0']);
    const code = await exited;
    expect(code).not.toBe(0);
    expect(out.stderr).toContain('unknown scenario "no-such-scenario"');
    for (const name of ['healthy', 'flannel-missing', 'ipam-leak']) expect(out.stderr).toContain(name);
    expect(out.stderr).not.toMatch(/\n\s+at /);
    expect(out.stdout).toBe('');
  });

  it('rejects a malformed number with the flag name', async () => {
    const { out, exited } = run(['sim', '--nodes', 'many']);
    expect(await exited).toBe(2);
    expect(out.stderr).toContain('--nodes must be a whole number');
  });
});
