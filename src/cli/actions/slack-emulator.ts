import { z } from 'zod';
import { PEOPLE, SEEDED_GROUPS } from '../../sim/slack/seed.js';
import { startSlackEmulator } from '../../sim/slack/index.js';
import type { SlackEmulatorOptions } from '../../sim/slack/types.js';
import { UserError } from '../../util/errors.js';
import { DEFAULT_APP_TOKEN, DEFAULT_BOT_TOKEN, DEFAULT_SIGNING_SECRET } from '../commands/slack-emulator.js';
import { untilSignal } from '../signals.js';

export interface SlackEmulatorFlags {
  port?: string;
  host?: string;
  signingSecret?: string;
  botToken?: string;
  requestUrl?: string;
  appToken?: string;
  socket?: boolean;
}

const flagsSchema = z.object({
  port: z
    .string()
    .regex(/^\d+$/, '--port must be a whole number')
    .transform(Number)
    .pipe(z.number().max(65535, '--port must be at most 65535')),
  host: z.string().min(1, '--host must not be empty'),
  signingSecret: z.string().min(1, '--signing-secret must not be empty'),
  botToken: z.string().min(1, '--bot-token must not be empty'),
  requestUrl: z.url({ protocol: /^https?$/, error: '--request-url must be an http(s) URL' }).optional(),
  appToken: z
    .string()
    .regex(/^xapp-\S+$/, '--app-token must be an app-level token (xapp-...)')
    .optional(),
});

/** Flags, then $SLACK_SIGNING_SECRET / $SLACK_BOT_TOKEN, then the defaults; every problem names its flag. */
export function emulatorOptionsFromFlags(
  flags: SlackEmulatorFlags,
  env: NodeJS.ProcessEnv = process.env,
): SlackEmulatorOptions {
  const parsed = flagsSchema.safeParse({
    port: flags.port ?? '0',
    host: flags.host ?? '127.0.0.1',
    signingSecret: flags.signingSecret ?? (env.SLACK_SIGNING_SECRET || DEFAULT_SIGNING_SECRET),
    botToken: flags.botToken ?? (env.SLACK_BOT_TOKEN || DEFAULT_BOT_TOKEN),
    requestUrl: flags.requestUrl,
    // --socket (or --app-token) turns Socket Mode on; the token defaults to $SLACK_APP_TOKEN, else a fixed one.
    appToken: flags.appToken ?? (flags.socket ? env.SLACK_APP_TOKEN || DEFAULT_APP_TOKEN : undefined),
  });
  if (!parsed.success) throw new UserError(parsed.error.issues.map((i) => i.message).join('; '));
  return parsed.data;
}

/** `flannel-ops slack-emulator`: runs the emulator and prints its addresses, until SIGINT/SIGTERM. */
export async function runSlackEmulator(flags: SlackEmulatorFlags): Promise<void> {
  const opts = emulatorOptionsFromFlags(flags);
  let slack;
  try {
    slack = await startSlackEmulator(opts);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL')
      throw new UserError(`cannot listen on ${opts.host}:${opts.port}: ${code}`);
    throw err;
  }
  const out = (line = '') => process.stdout.write(`${line}\n`);
  const people = PEOPLE.map((u) => `${u.id} (${u.realName})`).join(', ');
  const groups = SEEDED_GROUPS.map((g) => `@${g.handle} ${g.id} = ${g.users.join(', ')}`).join('; ');
  out(`Slack emulator listening on ${slack.url}`);
  out(`  web page:     ${slack.url}/`);
  out(`  Web API:      ${slack.apiUrl}   (SLACK_API_URL for the bot; bot user ${slack.botUserId})`);
  out(`  bot token:    ${opts.botToken === DEFAULT_BOT_TOKEN ? opts.botToken : '(as given)'}`);
  out(`  signing:      ${opts.signingSecret === DEFAULT_SIGNING_SECRET ? opts.signingSecret : '(as given)'}`);
  if (opts.appToken)
    out(
      `  Socket Mode:  on; app token ${opts.appToken === DEFAULT_APP_TOKEN ? opts.appToken : '(as given)'} (SLACK_APP_TOKEN, SLACK_MODE=socket)`,
    );
  else
    out(
      `  request URL:  ${opts.requestUrl ?? `(not set: POST ${slack.url}/emulator/api/request-url {"url":...})`}`,
    );
  out(`  people:       ${people}; user groups: ${groups}`);
  out(
    `  JSON API:     GET ${slack.url}/emulator/api/messages?channel=C0DEMO, POST .../command, POST .../click`,
  );
  out('Press Ctrl-C to stop.');
  await untilSignal();
  await slack.close();
  out('Slack emulator stopped');
}
