import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../util/net.js';
import { currentRssMb, peakRssMb, processCpuMs } from './proc.js';

/**
 * The Node options the deployed bot starts with (deploy/deployment.yaml sets the same NODE_OPTIONS; a unit test
 * keeps the two equal). Semi-spaces of at most 8 MiB instead of V8's 16 MiB: the bot's objects are short-lived
 * and small, and the larger nursery showed as idle RSS, not as speed. 2 MiB was tried too: in an event storm it
 * promoted batches still in flight to the old generation (more CPU per event, a higher peak, no lower idle RSS).
 * The old generation is capped at 256 MiB, half the container's memory limit: without a cap V8 sized its heap
 * by the host's memory and let garbage pile up in a storm (RSS 325 MiB after 100k events, for a live set the bot
 * ran within a 100 MiB cap); with it, V8 collects sooner and RSS stays flat (docs/benchmarks.md).
 */
export const DEPLOYED_NODE_OPTIONS = '--max-semi-space-size=8 --max-old-space-size=256';

export interface BenchCluster {
  name: string;
  kubeconfig: string;
  channel: string;
}

export interface BotProcessOptions {
  root: string;
  clusters: readonly BenchCluster[];
  redisUrl: string;
  prefix: string;
  slack: { apiUrl: string; botToken: string; signingSecret: string };
  /** Default: DEPLOYED_NODE_OPTIONS. */
  nodeOptions?: string;
}

/** The /readyz answer, as far as the bench reads it. */
interface Readiness {
  ok?: boolean;
  clusters?: Array<{ cluster: string; stream?: { state?: string } }>;
}

/**
 * The bot as deployed: `FLANNEL_OPS_COMPILED=1 node bin/flannel-ops.js run` (plain Node on dist/, HTTP mode
 * against the Slack emulator) in a process of its own, so its CPU and memory are read from /proc apart from
 * the stand-ins and the bench's bookkeeping.
 */
export class BotProcess {
  private constructor(
    readonly proc: ChildProcess,
    readonly port: number,
    private readonly dir: string,
    private readonly stderr: { text: string },
  ) {}

  static async start(opts: BotProcessOptions): Promise<BotProcess> {
    const dir = mkdtempSync(join(tmpdir(), 'flannel-ops-bench-bot-'));
    const clustersFile = join(dir, 'clusters.yaml');
    writeFileSync(
      clustersFile,
      `clusters:\n${opts.clusters
        .map((c) => `  - name: ${c.name}\n    kubeconfig: ${c.kubeconfig}\n    channel: ${c.channel}\n`)
        .join('')}`,
    );
    const port = await freePort();
    const proc = spawn(
      process.execPath,
      [join(opts.root, 'bin', 'flannel-ops.js'), 'run', '--clusters', clustersFile],
      {
        cwd: opts.root,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: {
          ...process.env,
          NODE_OPTIONS: opts.nodeOptions ?? DEPLOYED_NODE_OPTIONS,
          FLANNEL_OPS_COMPILED: '1',
          SLACK_BOT_TOKEN: opts.slack.botToken,
          SLACK_SIGNING_SECRET: opts.slack.signingSecret,
          SLACK_MODE: 'http',
          SLACK_API_URL: opts.slack.apiUrl,
          HTTP_HOST: '127.0.0.1',
          HTTP_PORT: String(port),
          REDIS_URL: opts.redisUrl,
          FLANNEL_OPS_KEY_PREFIX: opts.prefix,
          LOG_LEVEL: 'error',
        },
      },
    );
    const stderr = { text: '' };
    proc.stderr!.on('data', (d: Buffer) => (stderr.text = (stderr.text + d.toString()).slice(-4000)));
    const bot = new BotProcess(proc, port, dir, stderr);
    const names = new Set(opts.clusters.map((c) => c.name));
    await bot.until(
      `the bot to watch ${names.size} clusters`,
      async () => {
        const r = await bot.readiness();
        return (
          r?.ok === true &&
          (r.clusters ?? []).filter((c) => names.has(c.cluster) && c.stream?.state === 'watching').length ===
            names.size
        );
      },
      120_000,
    );
    return bot;
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  cpuMs(): number {
    return processCpuMs(this.pid);
  }

  rssMb(): number {
    return currentRssMb(this.pid);
  }

  peakRssMb(): number {
    return peakRssMb(this.pid);
  }

  async readiness(): Promise<Readiness | undefined> {
    try {
      const res = await fetch(`${this.url}/readyz`);
      return (await res.json()) as Readiness;
    } catch {
      return undefined;
    }
  }

  /** Polls `check` (every 50 ms) until it holds; fails with the bot's last stderr if it exited. */
  async until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null)
        throw new Error(
          `bench: flannel-ops run exited while waiting for ${what}: ${this.stderr.text.trim()}`,
        );
      if (await check()) return;
      if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Credentials for one bench run's Slack emulator and bot. */
export function benchSlackSecrets(): { botToken: string; signingSecret: string } {
  return {
    botToken: `xoxb-bench-${randomBytes(6).toString('hex')}`,
    signingSecret: randomBytes(16).toString('hex'),
  };
}

/** Polls `check` every 50 ms until it holds. */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
