/**
 * `flannel-ops run` (or any CLI command) as a real child process, for tests that must see what a user or an
 * operator sees: exit codes, stderr lines, a process that stays up (or does not).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { waitFor } from './wait.js';

export const ROOT = resolve(import.meta.dirname ?? '.', '../..');
export const BIN = join(ROOT, 'bin/flannel-ops.js');

export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal name) once the process ended. */
  exited: Promise<number | string>;
  /** Waits until stderr+stdout match `pattern`; fails early if the process exits first. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Waits until GET url answers 200 (e.g. /readyz); fails early if the process exits first. */
  waitForHttp(url: string, timeoutMs?: number): Promise<void>;
  /** SIGTERM (or `signal`) and wait for the exit; a no-op once it ended. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Starts `bin/flannel-ops.js ...args` with exactly `env` (plus PATH), in `cwd`. */
export function startCli(
  args: string[],
  env: Record<string, string>,
  opts: { cwd?: string; detached?: boolean } = {},
): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.detached ?? false,
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | string>((done) =>
    child.once('exit', (code, signal) => done(code ?? signal ?? 'unknown')),
  );
  let ended = false;
  void exited.then(() => (ended = true));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitForOutput(pattern, timeoutMs = 60_000) {
      await waitFor(
        `output matching ${pattern}`,
        () => {
          if (pattern.test(out) || pattern.test(err)) return true;
          if (ended) throw new Error(`the process exited first; stderr: ${err.slice(-2000)}`);
          return false;
        },
        { timeoutMs },
      ).catch((e: Error) => {
        throw new Error(`${e.message}\nstdout: ${out.slice(-1500)}\nstderr: ${err.slice(-1500)}`);
      });
    },
    async waitForHttp(url, timeoutMs = 60_000) {
      await waitFor(
        `${url} to answer 200`,
        async () => {
          if (ended) throw new Error(`the process exited first; stderr: ${err.slice(-2000)}`);
          return (await fetch(url).catch(() => undefined))?.status === 200;
        },
        { timeoutMs, intervalMs: 200 },
      ).catch((e: Error) => {
        throw new Error(`${e.message}\nstdout: ${out.slice(-1500)}\nstderr: ${err.slice(-1500)}`);
      });
    },
    async stop(signal = 'SIGTERM') {
      if (!ended) child.kill(signal);
      return exited;
    },
  };
}

/** Runs a CLI command to its end. */
export async function runCli(
  args: string[],
  env: Record<string, string>,
  opts: { cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const proc = startCli(args, env, opts);
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  const code = await proc.exited;
  clearTimeout(timer);
  return { code, stdout: proc.stdout(), stderr: proc.stderr() };
}

/** How a CLI command ended: its exit code (or the signal that ended it) and what it printed. */
export type CliRun = Awaited<ReturnType<typeof runCli>>;
