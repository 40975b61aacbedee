import { z } from 'zod';
import { startDemo } from '../../demo/start-demo.js';
import { UserError } from '../../util/errors.js';
import { resolveRunbooksDir } from '../options.js';
import { untilSignal } from '../signals.js';

export interface DemoFlags {
  scenario?: string;
  scenarioFile?: string;
  port: string;
  readyFile?: string;
  socket?: boolean;
  runbooks?: string;
}

const portSchema = z.coerce.number().int().min(0).max(65535);

/** `flannel-ops demo`: starts everything, prints where to look, and stops it all on SIGINT/SIGTERM. */
export async function runDemo(flags: DemoFlags): Promise<void> {
  const port = portSchema.safeParse(flags.port);
  if (!port.success) throw new UserError(`--port must be a number from 0 to 65535, got "${flags.port}"`);
  if (flags.scenario && flags.scenarioFile)
    throw new UserError('use either --scenario or --scenario-file, not both');
  const say = (line: string) => process.stderr.write(`${line}\n`);
  say('starting the flannel-ops demo…');
  const demo = await startDemo({
    scenario: flags.scenario,
    scenarioFile: flags.scenarioFile,
    port: port.data,
    readyFile: flags.readyFile,
    socket: flags.socket === true,
    runbooksDir: resolveRunbooksDir(flags),
    log: (line) => say(`  ${line}`),
  });
  process.stdout.write(
    [
      '',
      `flannel-ops demo is up: open ${demo.slackUrl}`,
      '',
      `  Slack (emulated):  ${demo.slackUrl}   channel #flannel-demo (${demo.channel})`,
      `  bot:               ${demo.mode === 'socket' ? 'Socket Mode (WebSocket to the emulator)' : 'HTTP receiver (signed requests)'}`,
      `  cluster:           ${demo.cluster} — scenario ${demo.scenario.name} (root cause: ${demo.scenario.rootCause})`,
      `                     ${demo.scenario.description}`,
      `  kubeconfig:        ${demo.kubeconfig}`,
      `                     kubectl --kubeconfig ${demo.kubeconfig} get pods -A`,
      `  redis:             ${demo.redis} (keys under ${demo.keyPrefix}:, deleted on exit)`,
      '',
      'In the page: watch the incident thread appear and the diagnosis complete, switch user (Alice, Bob, Mallory),',
      'and type /flannel help, /flannel status or /flannel diagnose demo in the message box.',
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  await untilSignal();
  say('stopping… (Ctrl-C again to force)');
  // A second Ctrl-C exits at once; the private redis-server is killed on exit (see private-redis.ts).
  const force = () => process.exit(130);
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  await demo.stop();
  process.off('SIGINT', force);
  process.off('SIGTERM', force);
}
