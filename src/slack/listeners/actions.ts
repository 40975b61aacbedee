/**
 * Button listeners: thin, like bolt-js middleware in front of a listener. Validate the payload, ack at once,
 * hand the opaque button id and the clicking user to the lifecycle, and answer the person (ephemeral, via the
 * interaction's response_url) with what happened or why nothing did. No decision is made here.
 */
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { z } from 'zod';
import type { IncidentLifecycle } from '../../lifecycle/coordinator.js';
import { log } from '../../util/log.js';
import { EVIDENCE_ACTION_ID, RERUN_ACTION_ID } from '../render/diagnosis.js';
import { ACK_ACTION_ID } from '../render/incident.js';
import { outcomeText } from '../render/outcomes.js';
import { DECISION_ACTION_ID } from '../render/plan.js';

const logger = log.child({ module: 'slack-actions' });

const clickSchema = z.object({
  user: z.object({ id: z.string().regex(/^[UW][A-Z0-9]+$/, 'must be a Slack user id') }),
  value: z.string().min(1).max(64),
});

export interface ActionDeps {
  lifecycle: Pick<IncidentLifecycle, 'click'>;
  /** The channel of a cluster (answers say where a report goes). */
  channelOf(cluster: string): string | undefined;
}

export function registerActions(app: App, deps: ActionDeps): void {
  const listener = async ({
    ack,
    body,
    action,
    respond,
  }: {
    ack: () => Promise<void>;
    body: BlockAction<ButtonAction>;
    action: ButtonAction;
    respond: (message: {
      response_type: 'ephemeral';
      replace_original: false;
      text: string;
    }) => Promise<unknown>;
  }) => {
    await ack();
    const click = clickSchema.safeParse({ user: body.user, value: action.value });
    if (!click.success) {
      logger.warn('malformed click', { issues: click.error.issues.map((i) => i.path.join('.')) });
      return;
    }
    let text: string;
    try {
      const outcome = await deps.lifecycle.click(click.data.value, click.data.user.id);
      text = outcomeText(outcome, deps.channelOf);
    } catch (err) {
      logger.warn('click failed', { action: action.action_id, err });
      text = ':x: That did not work because of an internal error; the bot logs say why. Nothing changed.';
    }
    await respond({ response_type: 'ephemeral', replace_original: false, text }).catch((err: unknown) =>
      logger.warn('could not answer the click', { err }),
    );
  };
  for (const id of [RERUN_ACTION_ID, ACK_ACTION_ID, DECISION_ACTION_ID, EVIDENCE_ACTION_ID]) {
    app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: id }, listener as never);
  }
}
