import type { Command } from 'commander';
import { registerCheckConfig } from './check-config.js';
import { registerSim } from './sim.js';
import { registerWatch } from './watch.js';

export interface CliContext {
  /** Sets the process exit code once the command's action has finished. */
  setExitCode(code: number): void;
}

/** A command module adds one sub-command (with its own --help) to the program. */
export type RegisterCommand = (program: Command, ctx: CliContext) => void;

/** Every sub-command, in the order `--help` lists them. */
export const commands: RegisterCommand[] = [registerWatch, registerCheckConfig, registerSim];
