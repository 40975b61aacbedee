/**
 * `/flannel` listener: thin. Validates the payload, parses the text (commands.ts), acks within Slack's 3 s
 * with an ephemeral answer, and leaves slow work (the diagnosis) to the queues.
 */
import type { App } from '@slack/bolt';
import { z } from 'zod';
import type { IncidentStore } from '../../incidents/store.js';
import type { IncidentLifecycle } from '../../lifecycle/coordinator.js';
import type { Outcome } from '../../lifecycle/outcomes.js';
import { log } from '../../util/log.js';
import type { ClusterWatchStatus } from '../../watch/watch-service.js';
import { parseFlannelCommand } from '../commands.js';
import { outcomeText } from '../render/outcomes.js';
import type { SlackMessage } from '../render/blocks.js';
import {
  renderCommandError,
  renderHelp,
  renderIncidents,
  renderStatus,
  renderTimeline,
} from '../render/commands.js';

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
  lifecycle: Pick<IncidentLifecycle, 'requestDiagnosis'>;
  channelOf(cluster: string): string | undefined;
  /** Watch health per cluster as this replica sees it. */
  statuses(): readonly ClusterWatchStatus[];
}

// Reads answer inside the ack; stop waiting well before Slack's 3 s.
const READ_DEADLINE_MS = 2000;

const ephemeral = (message: SlackMessage) => ({ response_type: 'ephemeral' as const, ...message });

export function registerCommands(app: App, deps: CommandDeps): void {
  app.command(FLANNEL_COMMAND, async ({ command, ack, respond }) => {
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
    const { text, user_id: user } = parsed.data;
    const cmd = parseFlannelCommand(text, deps.clusters);
    switch (cmd.kind) {
      case 'help':
        await ack(ephemeral(renderHelp(deps.clusters)));
        return;
      case 'error':
        await ack(ephemeral(renderCommandError(cmd.message)));
        return;
      case 'diagnose': {
        // Answer in the ack when the lifecycle decides quickly (refusals do); otherwise say it started and
        // follow up through response_url once it is queued.
        const pending = deps.lifecycle.requestDiagnosis({
          cluster: cmd.cluster,
          ...(cmd.node && { node: cmd.node }),
          user,
        });
        const quick = await withDeadline(() => pending).catch(() => undefined);
        if (quick) {
          await ack(ephemeral(answerOf(quick, deps)));
          return;
        }
        await ack({ response_type: 'ephemeral', text: `:mag: Starting the diagnosis of *${cmd.cluster}*…` });
        const outcome = await pending.catch((err: Error): Outcome => {
          logger.warn('diagnose command failed', { cluster: cmd.cluster, err });
          return { ok: false, refusal: { code: 'could-not-start', reason: err?.message ?? String(err) } };
        });
        await respond(ephemeral(answerOf(outcome, deps))).catch((err: unknown) =>
          logger.warn('could not answer the command', { err }),
        );
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

function answerOf(outcome: Outcome, deps: CommandDeps): SlackMessage {
  const text = outcomeText(outcome, deps.channelOf);
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
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
