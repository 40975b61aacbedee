/**
 * A minimal Slack app for the emulator tests: an HTTP endpoint that verifies every request with Bolt's
 * own verifier, records it, acks, and then posts what the test asks for to the response_url.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySlackRequest } from '@slack/bolt';

export interface ReceivedRequest {
  /** Form fields of a slash command, or the parsed `payload` of an interaction. */
  fields: Record<string, string>;
  payload?: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
  rawBody: string;
}

export interface TestReceiver {
  url: string;
  received: ReceivedRequest[];
  /** What to do with the next requests: the ack body, and bodies to POST to response_url after the ack. */
  behave(opts: { ack?: unknown; respond?: unknown[]; status?: number }): void;
  close(): Promise<void>;
}

export async function startTestReceiver(signingSecret: string): Promise<TestReceiver> {
  const received: ReceivedRequest[] = [];
  let behaviour: { ack?: unknown; respond?: unknown[]; status?: number } = {};
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      try {
        verifySlackRequest({
          signingSecret,
          body: rawBody,
          headers: {
            'x-slack-signature': String(req.headers['x-slack-signature']),
            'x-slack-request-timestamp': Number(req.headers['x-slack-request-timestamp']),
          },
        });
      } catch (err) {
        res.writeHead(401, { 'Content-Type': 'text/plain' }).end(`rejected: ${(err as Error).message}`);
        return;
      }
      const fields = Object.fromEntries(new URLSearchParams(rawBody));
      const payload = fields.payload ? (JSON.parse(fields.payload) as Record<string, unknown>) : undefined;
      received.push({ fields, payload, headers: req.headers, rawBody });
      const responseUrl = String(payload?.response_url ?? fields.response_url);
      const { ack, respond = [], status = 200 } = behaviour;
      const ackText = ack === undefined ? '' : JSON.stringify(ack);
      res.writeHead(status, ack === undefined ? {} : { 'Content-Type': 'application/json' }).end(ackText);
      // After the ack, as a Bolt listener calling respond() would.
      void (async () => {
        for (const body of respond) {
          await fetch(responseUrl, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify(body),
          });
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/slack/events`,
    received,
    behave: (opts) => (behaviour = opts),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export const approvalBlocks = (planId: string) => [
  { type: 'header', text: { type: 'plain_text', text: 'Remediation plan' } },
  { type: 'section', text: { type: 'mrkdwn', text: '*Step 1*: re-apply the Flannel manifest (high risk)' } },
  {
    type: 'actions',
    block_id: 'plan-actions',
    elements: [
      {
        type: 'button',
        action_id: 'approve:abc123',
        text: { type: 'plain_text', text: 'Approve' },
        style: 'primary',
        value: planId,
      },
      {
        type: 'button',
        action_id: 'reject:abc123',
        text: { type: 'plain_text', text: 'Reject' },
        style: 'danger',
        value: planId,
      },
    ],
  },
];
