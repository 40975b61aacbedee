/**
 * Button listeners: thin. The button value is an opaque id (never data); the handler acks at once, looks
 * the id up and starts the work. Approve/Reject (issue 5/7) register here too.
 */
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { z } from 'zod';
import { log } from '../../util/log.js';
import type { IncidentThreads } from '../incident-thread.js';
import type { SlackOutbox } from '../outbox.js';
import { RERUN_ACTION_ID } from '../render/diagnosis.js';

const logger = log.child({ module: 'slack-actions' });

const clickSchema = z.object({
  user: z.object({ id: z.string().regex(/^[UW][A-Z0-9]+$/) }),
  channel: z.object({ id: z.string().regex(/^[CDG][A-Z0-9]+$/) }),
  value: z.string().min(1).max(64),
});

export interface ActionDeps {
  threads: IncidentThreads;
  outbox: SlackOutbox;
}

export function registerActions(app: App, deps: ActionDeps): void {
  app.action<BlockAction<ButtonAction>>(RERUN_ACTION_ID, async ({ ack, body, action }) => {
    await ack();
    const click = clickSchema.safeParse({ user: body.user, channel: body.channel, value: action.value });
    if (!click.success) {
      logger.warn('malformed re-run click', { issues: click.error.issues.map((i) => i.path.join('.')) });
      return;
    }
    const { user, channel, value } = click.data;
    try {
      const result = await deps.threads.rerun(value, user.id);
      if (!result.ok)
        await deps.outbox.ephemeral({ channel: channel.id, user: user.id, text: result.message });
    } catch (err) {
      logger.warn('re-run failed', { err });
      await deps.outbox.ephemeral({
        channel: channel.id,
        user: user.id,
        text: ':x: Could not start the diagnosis again; see the bot logs.',
      });
    }
  });
}
