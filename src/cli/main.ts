import { Command, CommanderError } from 'commander';
import { isUserError } from '../util/errors.js';
import { commands, type CliContext } from './commands/index.js';
import { packageVersion } from './version.js';

/** Builds the `flannel-ops` program; every command registers itself from `commands/`. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('flannel-ops')
    .description('Slack chat-ops incident bot for Kubernetes clusters running the Flannel CNI')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of commands) register(program, ctx);
  return program;
}

/** Runs the CLI and resolves to the process exit code. User errors print one message, no stack. */
export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = buildProgram({ setExitCode: (code) => (exitCode = code) });
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return 2;
    }
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help ends here with code 0; usage errors were already printed by commander.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (isUserError(err)) {
      process.stderr.write(`flannel-ops: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`flannel-ops: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    return 3;
  }
}
