import { randomUUID } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Redis } from 'ioredis';
import { IncidentStore } from '../incidents/store.js';
import { startSimulator } from '../sim/kube/simulator.js';
import { LineChild } from './child.js';
import { peakRssMb, processCpuMs } from './proc.js';
import { round } from './stats.js';

/** The project root (where package.json is), whether this runs from src/ under tsx or from dist/. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/**
 * Compiles the product to dist/ and returns the compiled detection child: the bot is measured as it is deployed
 * (plain Node on dist/, FLANNEL_OPS_COMPILED=1), not with the TypeScript loader a developer runs.
 */
async function buildDetectChild(root: string, log: (line: string) => void): Promise<string> {
  log('storm: compiling the bot (npm run build) to measure it as deployed');
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  await new Promise<void>((resolve, reject) => {
    execFile(
      process.execPath,
      [tsc, '-p', join(root, 'tsconfig.build.json')],
      { cwd: root },
      (err, stdout) => (err ? reject(new Error(`the build failed: ${stdout || err.message}`)) : resolve()),
    );
  });
  return join(root, 'dist', 'src', 'bench', 'detect-child.js');
}

export interface BenchOptions {
  quick: boolean;
  redisUrl: string;
  keyPrefix: string;
  log(line: string): void;
}

export interface StormFigures {
  incidents: number;
  events: number;
  nodes: number;
  p50_ms: number;
  p99_ms: number;
  events_per_s: number;
  /** Events one core could ingest per second at the measured CPU cost (the SPEC's "on one core"). */
  events_per_cpu_s: number;
  cpu_ms_per_1k_events: number;
  slack_calls: number | null;
  /** From event creation to the incident's first Slack post request (whole bot, see slack-storm.ts). */
  first_post_ms: number | null;
  rss_mb: number;
}

export interface BenchReport {
  machine: { node: string; cpus: number; cpu_model: string; mem_gb: number; platform: string };
  storm: StormFigures;
  baseline: { events_per_s: number; cpu_ms_per_1k_events: number; tool: string };
  ratio_vs_baseline: number;
  /** The storm through the whole bot into the Slack emulator. */
  slack?: import('./slack-storm.js').SlackStormFigures;
  /** One full diagnosis of a large simulated cluster. */
  diagnosis?: import('./diagnosis.js').DiagnosisFigures;
  targets: Record<string, { target: string; value: number | null; met: boolean | null }>;
}

/**
 * The event-storm benchmark: the simulator emits N sandbox-failure events over M nodes while the bot's
 * detection path (a child process) and the plain baseline a user would script (`kubectl get events -A --watch
 * -o json` piped into a JSON matcher) read the same stream. CPU is read from /proc for each side over the same
 * window, so the ratio compares work per event, not the producer's pace.
 */
export async function runStormBench(opts: BenchOptions): Promise<Omit<BenchReport, 'machine' | 'targets'>> {
  const nodes = opts.quick ? 100 : 500;
  const events = opts.quick ? 2_000 : 10_000;
  const prefix = `${opts.keyPrefix}-bench-${randomUUID().slice(0, 8)}`;
  const cacheDir = mkdtempSync(join(tmpdir(), 'flannel-ops-bench-kubectl-'));
  const root = projectRoot();
  const childScript = await buildDetectChild(root, opts.log);
  opts.log(`storm: starting a ${nodes}-node simulated cluster (flannel-missing)`);
  const sim = await startSimulator({
    scenario: 'flannel-missing',
    nodes,
    port: 0,
    retryIntervalMs: 3_600_000,
    startDelayMs: 10,
  });
  const children: LineChild[] = [];
  const redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: null });
  try {
    await sim.settle();
    const initial = sim.store.list('Event', { fieldSelector: 'type=Warning' });
    const initialSandbox = initial.filter((e) =>
      ['FailedCreatePodSandBox', 'NetworkNotReady'].includes(String(e.reason)),
    ).length;

    opts.log('storm: starting the bot detection process and the kubectl baseline');
    const bot = new LineChild(process.execPath, [
      childScript,
      sim.kubeconfigPath,
      opts.redisUrl,
      prefix,
      String(initialSandbox + events),
    ]);
    children.push(bot);
    const kubectl = new LineChild('kubectl', [
      '--kubeconfig',
      sim.kubeconfigPath,
      '--cache-dir',
      cacheDir,
      'get',
      'events',
      '-A',
      '--watch',
      '-o',
      'json',
      '--field-selector',
      'type=Warning',
    ]);
    children.push(kubectl);
    const matcher = new LineChild(
      process.execPath,
      [join(root, 'src', 'bench', 'baseline-matcher.mjs'), String(initial.length), String(events)],
      {
        stdin: kubectl.proc.stdout!,
      },
    );
    children.push(matcher);
    await bot.waitFor('bot ready', (l) => l.includes('"ready":true'), 60_000);
    await matcher.waitFor('baseline ready', (l) => l === 'READY', 60_000);

    const botCpu0 = processCpuMs(bot.pid);
    const baseCpu0 = processCpuMs(kubectl.pid) + processCpuMs(matcher.pid);
    opts.log(`storm: ${events} events`);
    const stormStart = Date.now();
    await sim.storm(events);
    const botDone = JSON.parse(await bot.waitFor('bot done', (l) => l.includes('"done":true'), 300_000)) as {
      doneAt: number;
      p50_ms: number;
      p99_ms: number;
    };
    const botCpu = processCpuMs(bot.pid) - botCpu0;
    const botRss = peakRssMb(bot.pid);
    const baseDone = Number(
      (await matcher.waitFor('baseline done', (l) => l.startsWith('DONE '), 300_000)).slice(5),
    );
    const baseCpu = processCpuMs(kubectl.pid) + processCpuMs(matcher.pid) - baseCpu0;

    const incidents = (await new IncidentStore({ redis, prefix }).list({ cluster: 'bench' })).length;
    const botSeconds = Math.max(1, botDone.doneAt - stormStart) / 1000;
    const baseSeconds = Math.max(1, baseDone - stormStart) / 1000;
    const storm: StormFigures = {
      incidents,
      events,
      nodes,
      p50_ms: botDone.p50_ms,
      p99_ms: botDone.p99_ms,
      events_per_s: Math.round(events / botSeconds),
      events_per_cpu_s: botCpu > 0 ? Math.round(events / (botCpu / 1000)) : NaN,
      cpu_ms_per_1k_events: round((botCpu / events) * 1000),
      slack_calls: null,
      first_post_ms: null,
      rss_mb: botRss,
    };
    const baseline = {
      tool: 'kubectl get events -A --watch -o json | node baseline-matcher.mjs',
      events_per_s: Math.round(events / baseSeconds),
      cpu_ms_per_1k_events: round((baseCpu / events) * 1000),
    };
    const ratio =
      storm.cpu_ms_per_1k_events > 0
        ? round(baseline.cpu_ms_per_1k_events / storm.cpu_ms_per_1k_events, 2)
        : NaN;
    return { storm, baseline, ratio_vs_baseline: ratio };
  } finally {
    for (const c of children) c.kill();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await sim.stop();
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

export function machineInfo(): BenchReport['machine'] {
  const cpu = cpus();
  return {
    node: process.version,
    cpus: cpu.length,
    cpu_model: cpu[0]?.model ?? 'unknown',
    mem_gb: round(totalmem() / 2 ** 30),
    platform: `${process.platform}-${process.arch}`,
  };
}
