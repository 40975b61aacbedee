import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { DiagnosisFigures } from './diagnosis.js';
import type { BaselineFigures, GrowthFigures, MemoryFigures, PageFigures, StormFigures } from './deployed.js';
import type { HubBenchResult as HubFigures } from './hub.js';
import { round } from './stats.js';

/** The project root (where package.json is), whether this runs from src/ under tsx or from dist/. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/**
 * Compiles the product to dist/ (`npm run build`): the bot is measured as it is deployed (plain Node on dist/,
 * FLANNEL_OPS_COMPILED=1), not with the TypeScript loader a developer runs.
 */
export async function buildProduct(root: string, log: (line: string) => void): Promise<void> {
  log('bench: compiling the bot (npm run build) to measure it as deployed');
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  await new Promise<void>((resolve, reject) => {
    execFile(
      process.execPath,
      [tsc, '-p', join(root, 'tsconfig.build.json')],
      { cwd: root },
      (err, stdout) => (err ? reject(new Error(`the build failed: ${stdout || err.message}`)) : resolve()),
    );
  });
}

export interface BenchOptions {
  quick: boolean;
  redisUrl: string;
  keyPrefix: string;
  log(line: string): void;
}

export type { BaselineFigures, GrowthFigures, MemoryFigures, PageFigures, StormFigures };

/** The hub section: measured by src/bench/hub.ts, or why it was not (its figures then null). */
export type HubSection =
  | (HubFigures & { status: 'ok' })
  | ({ status: 'not run'; reason: string } & { [K in keyof HubFigures]: null });

export interface BenchReport {
  machine: {
    node: string;
    cpus: number;
    cpu_model: string;
    mem_gb: number;
    platform: string;
    /** 1-minute load average when the bench started: other work on the machine skews every figure. */
    load_1m: number;
  };
  quick: boolean;
  page: PageFigures;
  storm: StormFigures;
  baseline: BaselineFigures;
  ratio_vs_baseline: number;
  memory: MemoryFigures;
  diagnosis: DiagnosisFigures;
  growth: GrowthFigures;
  hub: HubSection;
  /** Where Redis came from (a private redis-server, so its CPU is the bot's alone). */
  redis: string;
  targets: Record<string, { target: string; value: number | null; met: boolean | null }>;
}

export function machineInfo(): BenchReport['machine'] {
  const cpu = cpus();
  return {
    node: process.version,
    cpus: cpu.length,
    cpu_model: cpu[0]?.model ?? 'unknown',
    mem_gb: round(totalmem() / 2 ** 30),
    platform: `${process.platform}-${process.arch}`,
    load_1m: round(loadavg()[0], 2),
  };
}
