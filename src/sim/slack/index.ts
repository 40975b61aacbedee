/**
 * The Slack emulator: Web API, signed slash commands and clicks to the bot's HTTP receiver (or envelopes
 * over Socket Mode's WebSocket, with an appToken), and a Slack-like web page. A stand-in for `demo` and the tests; product code never imports it.
 *
 *   const slack = await startSlackEmulator({ signingSecret, botToken, port: 0 });
 *   new App({ token: botToken, signingSecret, clientOptions: { slackApiUrl: slack.apiUrl } });
 *   slack.setRequestUrl('http://127.0.0.1:3000/slack/events');
 */
import { FaultState } from './faults.js';
import { Interactions } from './interactions.js';
import { JsonApi, postAsPerson } from './json-api.js';
import { LiveUpdates } from './live.js';
import { DEFAULT_BOT_SCOPES, DEFAULT_CHANNELS, DEFAULT_WORKSPACE_NAME, BOT_ID, BOT_USER_ID } from './seed.js';
import { RateLimits } from './rate-limits.js';
import { createEmulatorServer, listen } from './server.js';
import { SocketModeServer } from './socket.js';
import { SlackStore } from './store.js';
import type { SlackEmulator, SlackEmulatorOptions } from './types.js';
import { WebApi } from './web-api.js';

export type {
  ClickInput,
  CommandInput,
  EmulatorAnswer,
  EmulatorChannel,
  EmulatorMessage,
  EmulatorUser,
  SlackEmulator,
  SlackEmulatorOptions,
  SlackFaults,
  SlackSocketControls,
  SocketEnvelopeRecord,
  WebApiCall,
} from './types.js';
export { EmulatorInputError } from './interactions.js';
export { signSlackRequest, slackSignature } from './signing.js';
export {
  APP_ID,
  BOT_ID,
  BOT_USER_ID,
  DEFAULT_BOT_SCOPES,
  DEFAULT_CHANNELS,
  elsewhereChannels,
  SEEDED_GROUPS,
  SEEDED_USERS,
  SLACKBOT_USER_ID,
  TEAM_ID,
} from './seed.js';

export async function startSlackEmulator(opts: SlackEmulatorOptions): Promise<SlackEmulator> {
  if (!opts.signingSecret) throw new Error('startSlackEmulator: signingSecret is required');
  if (!opts.botToken) throw new Error('startSlackEmulator: botToken is required');
  const store = new SlackStore(opts.channels?.length ? opts.channels : DEFAULT_CHANNELS);
  const faults = new FaultState();
  const workspaceName = opts.workspaceName ?? DEFAULT_WORKSPACE_NAME;
  let baseUrl = '';
  let requestUrl = opts.requestUrl;
  const live = new LiveUpdates();
  store.onChange((change) => live.send('change', change));

  if (opts.appToken !== undefined && !opts.appToken.startsWith('xapp-'))
    throw new Error('startSlackEmulator: appToken must be an app-level token (xapp-…)');
  const ackTimeoutMs = opts.ackTimeoutMs ?? 3000;
  const socket =
    opts.appToken !== undefined
      ? new SocketModeServer({
          ackTimeoutMs,
          holdMs: opts.socketHoldMs ?? 10_000,
          baseUrl: () => baseUrl,
          onConnections: (open) => live.send('info', { socket: { connections: open } }),
        })
      : undefined;
  const webApi = new WebApi({
    store,
    faults,
    botToken: opts.botToken,
    ...(opts.appToken !== undefined && { appToken: opts.appToken }),
    ...(socket && { socket }),
    rateLimits: new RateLimits(opts.rateLimits ?? true),
    scopes: new Set(opts.scopes ?? DEFAULT_BOT_SCOPES),
    workspaceName,
    baseUrl: () => baseUrl,
  });
  const interactions = new Interactions({
    store,
    signingSecret: opts.signingSecret,
    requestUrl: () => requestUrl,
    baseUrl: () => baseUrl,
    responseWindowMs: opts.responseWindowMs ?? 3000,
    ackTimeoutMs,
    ...(socket && { socket }),
  });
  const setRequestUrl = (url: string) => {
    requestUrl = url;
    live.send('info', { request_url: url });
  };
  const jsonApi = new JsonApi({
    store,
    interactions,
    webApi,
    faults,
    workspaceName,
    requestUrl: () => requestUrl,
    setRequestUrl,
    ...(socket && { socket }),
  });
  const server = createEmulatorServer({ store, webApi, jsonApi, interactions, live, socket });
  baseUrl = await listen(server, opts.host ?? '127.0.0.1', opts.port ?? 0);

  return {
    url: baseUrl,
    apiUrl: `${baseUrl}/api/`,
    botUserId: BOT_USER_ID,
    botId: BOT_ID,
    setRequestUrl,
    messages: (channel) => store.messages(store.findChannel(channel)?.id ?? channel),
    post: (input) => postAsPerson(store, input),
    command: (input) => interactions.command(input),
    click: (input) => interactions.click(input),
    faults,
    mode: socket ? 'socket' : 'http',
    ...(socket && {
      socket: {
        disconnect: (reason) => socket.disconnect(reason),
        drop: () => socket.drop(),
        waitForConnection: (timeoutMs) => socket.waitForConnection(timeoutMs),
        stats: () => socket.stats(),
        envelopes: () => socket.envelopes(),
      },
    }),
    calls: () => webApi.calls(),
    close: async () => {
      socket?.close();
      interactions.releaseAll();
      live.closeAll();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
