import type { Command } from 'commander';
import { z } from 'zod';
import { UserError } from '../../util/errors.js';
import { addRunbooksOption } from '../options.js';
import type { RegisterCommand } from './index.js';

interface DemoFlags {
  scenario?: string;
  scenarioFile?: string;
  port: string;
  readyFile?: string;
  runbooks?: string;
}

const portSchema = z.coerce.number().int().min(0).max(65535);

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
      'write {"slack","kubeconfig","cluster","channel"} as JSON here once everything is up',
    );
  addRunbooksOption(cmd);
  cmd.action(async (flags: DemoFlags) => {
    const port = portSchema.safeParse(flags.port);
    if (!port.success) throw new UserError(`--port must be a number from 0 to 65535, got "${flags.port}"`);
    if (flags.scenario && flags.scenarioFile)
      throw new UserError('use either --scenario or --scenario-file, not both');
    const [{ startDemo }, { untilSignal }, { resolveRunbooksDir }] = await Promise.all([
      import('../../demo/start-demo.js'),
      import('../signals.js'),
      import('../options.js'),
    ]);
    const say = (line: string) => process.stderr.write(`${line}\n`);
    say('starting the flannel-ops demo…');
    const demo = await startDemo({
      scenario: flags.scenario,
      scenarioFile: flags.scenarioFile,
      port: port.data,
      readyFile: flags.readyFile,
      runbooksDir: resolveRunbooksDir(flags),
      log: (line) => say(`  ${line}`),
    });
    process.stdout.write(
      [
        '',
        `flannel-ops demo is up: open ${demo.slackUrl}`,
        '',
        `  Slack (emulated):  ${demo.slackUrl}   channel #flannel-demo (${demo.channel})`,
        `  cluster:           ${demo.cluster} — scenario ${demo.scenario.name} (root cause: ${demo.scenario.rootCause})`,
        `                     ${demo.scenario.description}`,
        `  kubeconfig:        ${demo.kubeconfig}`,
        `                     kubectl --kubeconfig ${demo.kubeconfig} get pods -A`,
        `  redis:             ${demo.redis}`,
        '',
        'In the page: watch the incident thread appear and the diagnosis complete, switch user (Alice, Bob, Mallory),',
        'and type /flannel help, /flannel status or /flannel diagnose demo in the message box.',
        'Press Ctrl-C to stop.',
        '',
      ].join('\n'),
    );
    await untilSignal();
    say('stopping…');
    await demo.stop();
  });
};
