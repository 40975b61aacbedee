/**
 * `/flannel` listener: thin. Validates the payload, parses the text (commands.ts), acks within Slack's 3 s
 * with an ephemeral answer, and leaves slow work (the diagnosis) to the queues.
 */
import type { App } from '@slack/bolt';
import { z } from 'zod';
import type { IncidentStore } from '../../incidents/store.js';
import { log } from '../../util/log.js';
import type { ClusterWatchStatus } from '../../watch/watch-service.js';
import { parseFlannelCommand } from '../commands.js';
import type { IncidentThreads } from '../incident-thread.js';
import type { SlackOutbox } from '../outbox.js';
import type { SlackMessage } from '../render/blocks.js';
import {
  renderCommandError,
  renderHelp,
  renderIncidents,
  renderStatus,
  renderTimeline,
} from '../render/commands.js';
import { escapeMrkdwn, truncate } from '../mrkdwn.js';

const logger = log.child({ module: 'slack-commands' });

export const FLANNEL_COMMAND = '/flannel';

/** Longest /flannel text read (every real command is far shorter). */
export const MAX_COMMAND_TEXT = 4000;

const commandSchema = z.object({
  text: z.string().max(MAX_COMMAND_TEXT).default(''),
  user_id: z.string().regex(/^[UW][A-Z0-9]+$/, 'must be a Slack user id'),
  channel_id: z.string().regex(/^[CDG][A-Z0-9]+$/, 'must be a Slack channel id'),
  trigger_id: z.string().max(255).optional(),
});

export interface CommandDeps {
  clusters: readonly string[];
  store: IncidentStore;
  threads: IncidentThreads;
  outbox: SlackOutbox;
  /** Watch health per cluster as this replica sees it. */
  statuses(): readonly ClusterWatchStatus[];
}

// Reads answer inside the ack; stop waiting well before Slack's 3 s.
const READ_DEADLINE_MS = 2000;

const ephemeral = (message: SlackMessage) => ({ response_type: 'ephemeral' as const, ...message });

export function registerCommands(app: App, deps: CommandDeps): void {
  app.command(FLANNEL_COMMAND, async ({ command, ack }) => {
    const rawText = (command as { text?: unknown }).text;
    if (typeof rawText === 'string' && rawText.length > MAX_COMMAND_TEXT) {
      await ack(
        ephemeral(renderCommandError(`That command is too long (max ${MAX_COMMAND_TEXT} characters).`)),
      );
      return;
    }
    const parsed = commandSchema.safeParse(command);
    if (!parsed.success) {
      await ack(
        ephemeral(renderCommandError('This request could not be read (malformed slash command payload).')),
      );
      return;
    }
    const { text, user_id: user, channel_id: channel, trigger_id: triggerId } = parsed.data;
    const cmd = parseFlannelCommand(text, deps.clusters);
    switch (cmd.kind) {
      case 'help':
        await ack(ephemeral(renderHelp(deps.clusters)));
        return;
      case 'error':
        await ack(ephemeral(renderCommandError(cmd.message)));
        return;
      case 'diagnose': {
        const node = cmd.node ? ` (node ${cmd.node})` : '';
        await ack({
          response_type: 'ephemeral',
          text: `:mag: Running the diagnosis of *${cmd.cluster}*${node}… the report appears in a thread here.`,
        });
        try {
          await deps.threads.requestDiagnosis({
            cluster: cmd.cluster,
            ...(cmd.node && { node: cmd.node }),
            requestedBy: user,
            channel,
            ...(triggerId && { requestKey: `cmd-${triggerId}` }),
          });
        } catch (err) {
          logger.warn('diagnose command failed', { cluster: cmd.cluster, err });
          const reason = truncate((err as Error)?.message ?? String(err), 500);
          await deps.outbox.ephemeral({
            channel,
            user,
            text: `:x: Could not diagnose *${cmd.cluster}*: ${escapeMrkdwn(reason)}`,
          });
        }
        return;
      }
      default: {
        const answer = await withDeadline(() => readAnswer(cmd, deps)).catch((err) => {
          logger.warn('command read failed', { kind: cmd.kind, err });
          return renderCommandError(
            'The bot could not read its incident store just now; try again in a moment.',
          );
        });
        await ack(ephemeral(answer));
      }
    }
  });
}

async function readAnswer(
  cmd: Extract<ReturnType<typeof parseFlannelCommand>, { kind: 'status' | 'incidents' | 'timeline' }>,
  deps: CommandDeps,
): Promise<SlackMessage> {
  switch (cmd.kind) {
    case 'status': {
      const clusters = cmd.cluster ? [cmd.cluster] : deps.clusters;
      const incidents = await deps.store.list({
        state: 'active',
        ...(cmd.cluster && { cluster: cmd.cluster }),
        limit: 50,
      });
      return renderStatus({ clusters, statuses: deps.statuses(), incidents });
    }
    case 'incidents':
      return renderIncidents(
        await deps.store.list({ ...(cmd.cluster && { cluster: cmd.cluster }), limit: 20 }),
        cmd.cluster,
      );
    case 'timeline':
      return renderTimeline(cmd.incidentId, await deps.store.timeline(cmd.incidentId));
  }
}

function withDeadline<T>(work: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('deadline exceeded')), READ_DEADLINE_MS);
    work().then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
