/**
 * What went wrong when the bot first talked to Slack, as one line a user can act on. The Web API client's
 * errors say which kind they are: the platform refused (a token problem), the request never got an answer
 * (network, SLACK_API_URL), or an HTTP error status (Slack having a bad moment).
 */
import { webApi } from '@slack/bolt';
import { UserError } from '../util/errors.js';

const { ErrorCode } = webApi;

interface SlackErrorLike {
  code?: string;
  message?: string;
  data?: { error?: string };
  statusCode?: number;
  original?: { code?: string; message?: string; cause?: { code?: string; message?: string } };
}

/** Platform errors that mean the token itself is wrong, revoked or lacks what the call needs. */
const TOKEN_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'not_allowed_token_type',
  'missing_scope',
  'no_permission',
  'invalid_token',
]);

/**
 * `call` is the Web API method that failed, `token` the variable holding the token it used, e.g.
 * ('auth.test', 'SLACK_BOT_TOKEN') or ('apps.connections.open', 'SLACK_APP_TOKEN').
 */
export function slackStartupError(
  err: unknown,
  call: string,
  token: 'SLACK_BOT_TOKEN' | 'SLACK_APP_TOKEN',
  slackApiUrl?: string,
): UserError {
  const e = (err ?? {}) as SlackErrorLike;
  const api = slackApiUrl ?? 'https://slack.com/api/';
  const urlHint = slackApiUrl ? 'SLACK_API_URL' : 'the network (proxy, firewall, DNS)';
  const what = token === 'SLACK_BOT_TOKEN' ? 'bot token' : 'app-level token';
  if (e.code === ErrorCode.PlatformError) {
    const error = e.data?.error ?? 'unknown error';
    if (TOKEN_ERRORS.has(error))
      return new UserError(`Slack refused the ${what} (${call}: ${error}): check ${token}`);
    return new UserError(
      `Slack answered ${call} with "${error}": check ${token}${slackApiUrl ? ' and SLACK_API_URL' : ''}`,
    );
  }
  if (e.code === ErrorCode.HTTPError) {
    return new UserError(
      `the Slack API at ${api} answered ${call} with HTTP ${e.statusCode ?? '?'}: Slack may be having trouble (try again) or check ${urlHint}`,
    );
  }
  if (e.code === ErrorCode.RateLimitedError) {
    return new UserError(`Slack rate-limited ${call} at start-up: try again in a minute`);
  }
  // fetch wraps the socket's error: "fetch failed" with the ECONNREFUSED / ENOTFOUND in its cause.
  const original = e.original;
  const cause =
    original?.cause?.code ??
    original?.code ??
    original?.cause?.message ??
    original?.message ??
    e.message ??
    String(err);
  return new UserError(`could not reach the Slack API at ${api} (${call}: ${cause}): check ${urlHint}`);
}
