/** Shared helpers for the sim-cluster integration tests: fast simulators, polling, kubectl. */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/sim/kube/simulator.js';

/** Kubelet timings short enough for tests; behaviour is the same as the defaults. */
export const FAST = { retryIntervalMs: 100, startDelayMs: 10, deleteDelayMs: 20, port: 0 } as const;

export function startFast(opts: SimulatorOptions): Promise<Simulator> {
  return startSimulator({ ...FAST, onError: (err) => console.error('simulator error', err), ...opts });
}

/** Polls `probe` until it returns a value that is not undefined/false, or fails with `what`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real kubectl against a kubeconfig with a fresh discovery cache per call site. */
export function kubectl(kubeconfig: string, cacheDir: string, args: string[]): Promise<KubectlResult> {
  return new Promise((resolve) => {
    execFile(
      '/usr/bin/kubectl',
      ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...args],
      { timeout: 60000 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
  });
}

export function freshCacheDir(): string {
  return mkdtempSync(join(tmpdir(), 'kubectl-cache-'));
}
