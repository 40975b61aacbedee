/** The emulated workspace: ids and people every test and the demo can rely on (SPEC, Local stand-ins). */
import type { EmulatorChannel, EmulatorUser, EmulatorUserGroup } from './types.js';

export const TEAM_ID = 'T0FLANNEL';
export const TEAM_DOMAIN = 'flannel-ops';
export const APP_ID = 'A0FLANNELOPS';
export const BOT_USER_ID = 'U0FLANNELBOT';
export const BOT_ID = 'B0FLANNELBOT';
export const BOT_NAME = 'flannel-ops';
/** Slack's own system user: it tells a person when a slash command failed. */
export const SLACKBOT_USER_ID = 'USLACKBOT';
/** The deprecated verification token Slack still sends in every payload. */
export const VERIFICATION_TOKEN = 'emulator-verification-token';

/**
 * Places the bot is not in, where people still type /flannel: a public channel (the bot gets
 * `not_in_channel` there), a private channel and a DM between two people (`channel_not_found`).
 */
export function elsewhereChannels(): EmulatorChannel[] {
  return [
    { id: 'C0RANDOM', name: 'random', topic: 'Anything; the bot is not a member', botMember: false },
    { id: 'G0SRE', name: 'sre-private', kind: 'private', botMember: false },
    { id: 'D0ALICEBOB', name: 'alice-bob', kind: 'im', botMember: false },
  ];
}

/** The bot scopes of the app manifest in the README ("Slack app"). */
export const DEFAULT_BOT_SCOPES = [
  'commands',
  'chat:write',
  'chat:write.public',
  'usergroups:read',
  'channels:history',
  'groups:history',
];

export const DEFAULT_WORKSPACE_NAME = 'flannel-ops demo';
export const DEFAULT_CHANNELS: EmulatorChannel[] = [
  { id: 'C0DEMO', name: 'flannel-demo', topic: 'Incidents of the demo cluster' },
  ...elsewhereChannels(),
];

export const SEEDED_USERS: EmulatorUser[] = [
  { id: 'UALICE', name: 'alice', realName: 'Alice', isBot: false },
  { id: 'UBOB', name: 'bob', realName: 'Bob', isBot: false },
  { id: 'UMALLORY', name: 'mallory', realName: 'Mallory', isBot: false },
  { id: BOT_USER_ID, name: BOT_NAME, realName: 'flannel-ops', isBot: true },
  { id: SLACKBOT_USER_ID, name: 'slackbot', realName: 'Slackbot', isBot: true },
];

/** The people a page visitor can act as, in switcher order. */
export const PEOPLE = SEEDED_USERS.filter((u) => !u.isBot);

export const SEEDED_GROUPS: EmulatorUserGroup[] = [
  { id: 'S0ONCALL', handle: 'oncall', name: 'On-call SREs', users: ['UALICE', 'UBOB'] },
];
