import type { Command } from 'commander';
import type { SlackEmulatorFlags } from '../actions/slack-emulator.js';
import type { RegisterCommand } from './index.js';

/** Defaults that let a local bot start against the emulator with no configuration at all. */
export const DEFAULT_SIGNING_SECRET = 'emulator-signing-secret';
export const DEFAULT_BOT_TOKEN = 'xoxb-emulator-token';
export const DEFAULT_APP_TOKEN = 'xapp-1-emulator-token';

export const registerSlackEmulator: RegisterCommand = (program: Command) => {
  program
    .command('slack-emulator')
    .description(
      'run the local Slack emulator alone (Web API, signed commands and clicks, web page) until Ctrl-C',
    )
    .option('--port <port>', 'port to listen on (0 = any free port)', '0')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option(
      '--signing-secret <secret>',
      `secret to sign commands and clicks with (default: $SLACK_SIGNING_SECRET, else ${DEFAULT_SIGNING_SECRET})`,
    )
    .option(
      '--bot-token <token>',
      `the only token the Web API accepts (default: $SLACK_BOT_TOKEN, else ${DEFAULT_BOT_TOKEN})`,
    )
    .option('--request-url <url>', "the bot's HTTP receiver, e.g. http://127.0.0.1:3000/slack/events")
    .option(
      '--socket',
      `Socket Mode: apps.connections.open answers a WebSocket URL; commands and clicks go over it (app token: $SLACK_APP_TOKEN, else ${DEFAULT_APP_TOKEN})`,
    )
    .option('--app-token <token>', 'the app-level token (xapp-...) Socket Mode accepts; implies --socket')
    // The implementation is loaded on use, so `--help` and other commands do not pay for its imports.
    .action(async (flags: SlackEmulatorFlags) =>
      (await import('../actions/slack-emulator.js')).runSlackEmulator(flags),
    );
};
