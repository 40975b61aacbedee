import type { Command } from 'commander';
import type { DemoFlags } from '../actions/demo.js';
import { addRunbooksOption } from '../options.js';
import type { RegisterCommand } from './index.js';

export const registerDemo: RegisterCommand = (program: Command) => {
  const cmd = program
    .command('demo')
    .description(
      'everything on this machine: a Kubernetes simulator with a failing scenario, Redis, the bot, and a local Slack you open in a browser',
    )
    .option(
      '--scenario <name>',
      "built-in simulator scenario (default: flannel-missing, the field report's incident)",
    )
    .option('--scenario-file <file>', 'a scenario YAML file (see src/sim/kube/scenarios/README.md)')
    .option('--port <port>', 'port of the Slack emulator page (0 = any free port)', '3100')
    .option(
      '--ready-file <file>',
      'write {"slack","kubeconfig","cluster","channel","mode","keyPrefix"} as JSON here once everything is up',
    )
    .option(
      '--socket',
      "run the bot in Socket Mode (production's default) over the emulator's WebSocket instead of HTTP",
    );
  addRunbooksOption(cmd);
  // The implementation is loaded on use, so `--help` and other commands do not pay for its imports.
  cmd.action(async (flags: DemoFlags) => (await import('../actions/demo.js')).runDemo(flags));
};
