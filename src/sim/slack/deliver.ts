/** Sends one signed request to the bot's receiver, the way Slack's servers do, and reads its ack. */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { signSlackRequest } from './signing.js';

export interface Delivery {
  /** HTTP status; 0 when the receiver could not be reached or did not answer in time. */
  status: number;
  /** The answered body: parsed JSON, else the text; undefined when empty. */
  ack?: unknown;
  /** Slack's code for a failed dispatch (`dispatch_failed`, `operation_timeout`, `http_error`) and why. */
  error?: { code: string; detail: string };
}

function parseAck(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** POSTs an application/x-www-form-urlencoded body with X-Slack-Signature; never rejects. */
export function deliverSigned(
  url: string,
  formBody: string,
  signingSecret: string,
  timeoutMs: number,
): Promise<Delivery> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return Promise.resolve({ status: 0, error: { code: 'dispatch_failed', detail: `invalid URL ${url}` } });
  }
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = send(
      target,
      {
        method: 'POST',
        // A fresh connection per delivery, like Slack's dispatcher; no pooled socket outlives the emulator.
        agent: false,
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          'Content-Length': Buffer.byteLength(formBody),
          'User-Agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
          ...signSlackRequest(signingSecret, formBody),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) =>
          resolve({ status: 0, error: { code: 'dispatch_failed', detail: err.message } }),
        );
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const ack = parseAck(Buffer.concat(chunks).toString('utf8'));
          const ok = status >= 200 && status < 300;
          resolve({
            status,
            ...(ack === undefined ? {} : { ack }),
            ...(ok ? {} : { error: { code: 'http_error', detail: `the app answered HTTP ${status}` } }),
          });
        });
      },
    );
    req.setTimeout(timeoutMs, () => {
      req.destroy();
      resolve({
        status: 0,
        error: { code: 'operation_timeout', detail: `the app did not answer within ${timeoutMs} ms` },
      });
    });
    req.on('error', (err) => resolve({ status: 0, error: { code: 'dispatch_failed', detail: err.message } }));
    req.end(formBody);
  });
}
