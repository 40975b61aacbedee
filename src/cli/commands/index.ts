import type { Command } from 'commander';
import { registerBackup } from './backup.js';
import { registerBench } from './bench.js';
import { registerCheckConfig } from './check-config.js';
import { registerDemo } from './demo.js';
import { registerDiagnose } from './diagnose.js';
import { registerDrill } from './drill.js';
import { registerPreflight } from './preflight.js';
import { registerRun } from './run.js';
import { registerSim } from './sim.js';
import { registerSlackEmulator } from './slack-emulator.js';
import { registerWatch } from './watch.js';

export interface CliContext {
  /** Sets the process exit code once the command's action has finished. */
  setExitCode(code: number): void;
}

/** A command module adds one sub-command (with its own --help) to the program. */
export type RegisterCommand = (program: Command, ctx: CliContext) => void;

/** Every sub-command, in the order `--help` lists them. */
export const commands: RegisterCommand[] = [
  registerDemo,
  registerRun,
  registerWatch,
  registerDiagnose,
  registerPreflight,
  registerDrill,
  registerBackup,
  registerCheckConfig,
  registerSim,
  registerSlackEmulator,
  registerBench,
];
