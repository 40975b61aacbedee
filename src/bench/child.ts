import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A child process whose stdout lines are awaited one predicate at a time. */
export class LineChild {
  readonly proc: ChildProcess;
  private readonly lines: string[] = [];
  private waiters: Array<() => void> = [];
  private stderr = '';
  private exited = false;

  constructor(
    command: string,
    args: string[],
    opts: { stdin?: 'pipe' | 'ignore' | NodeJS.ReadableStream } = {},
  ) {
    const stdin = opts.stdin && typeof opts.stdin !== 'string' ? 'pipe' : (opts.stdin ?? 'ignore');
    this.proc = spawn(command, args, { stdio: [stdin, 'pipe', 'pipe'] });
    if (opts.stdin && typeof opts.stdin !== 'string') opts.stdin.pipe(this.proc.stdin!);
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      this.lines.push(line);
      this.wake();
    });
    this.proc.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    this.proc.on('exit', () => {
      this.exited = true;
      this.wake();
    });
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  /** The first line (from the start of output) that satisfies `match`. */
  async waitFor(what: string, match: (line: string) => boolean, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(match);
      if (found !== undefined) return found;
      if (this.exited)
        throw new Error(`${what}: process exited early. stderr: ${this.stderr.trim() || '(none)'}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `${what}: timed out after ${timeoutMs} ms. stderr: ${this.stderr.trim() || '(none)'}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1000));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  kill(): void {
    if (!this.exited) this.proc.kill('SIGKILL');
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
