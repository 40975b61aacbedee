/** Request signing exactly as Slack does it (https://api.slack.com/authentication/verifying-requests-from-slack). */
import { createHmac } from 'node:crypto';

export interface SlackSignatureHeaders {
  'X-Slack-Request-Timestamp': string;
  'X-Slack-Signature': string;
}

/** `v0=` + hex HMAC-SHA256(secret, `v0:${timestamp}:${rawBody}`). */
export function slackSignature(signingSecret: string, timestampSeconds: number, rawBody: string): string {
  const mac = createHmac('sha256', signingSecret).update(`v0:${timestampSeconds}:${rawBody}`, 'utf8');
  return `v0=${mac.digest('hex')}`;
}

/** The two headers Slack adds to every request it sends to an app. */
export function signSlackRequest(
  signingSecret: string,
  rawBody: string,
  nowMs: number = Date.now(),
): SlackSignatureHeaders {
  const timestamp = Math.floor(nowMs / 1000);
  return {
    'X-Slack-Request-Timestamp': String(timestamp),
    'X-Slack-Signature': slackSignature(signingSecret, timestamp, rawBody),
  };
}
