import type { Command } from 'commander';
import type { DrillFlags } from '../actions/drill.js';
import { addRunbooksOption } from '../options.js';
import type { RegisterCommand } from './index.js';

export const registerDrill: RegisterCommand = (program: Command, ctx) => {
  const cmd = program
    .command('drill')
    .description(
      'a failure drill on this machine: a simulator scenario through the whole loop (Redis, the bot, the Slack emulator) with scripted approvers; reports time to detect, to verdict, to resolved, and whether the verdict was right (exit 0 every drill ended resolved, with a person, or healthy with the right verdict; 1 otherwise; 2 usage)',
    )
    .option(
      '--scenario <name>',
      'built-in scenario to drill (repeat for several)',
      (value: string, all: string[] | undefined) => [...(all ?? []), value],
    )
    .option('--all', 'drill every built-in scenario and print a table')
    .option('--json', 'print the results as JSON instead of a table')
    .option('--parallel <n>', 'drills running at the same time', '2')
    .option('--timeout <seconds>', 'give up on one drill after this long', '300');
  addRunbooksOption(cmd);
  cmd.action(async (flags: DrillFlags) => {
    ctx.setExitCode(await (await import('../actions/drill.js')).runDrills(flags));
  });
};
