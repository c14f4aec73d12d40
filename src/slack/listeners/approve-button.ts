import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { Logger } from '../../lib/logger.js';
import { type ControlDeps, mayControl } from '../../runs/controls.js';
import type { RunEngine } from '../../runs/run-engine.js';
import { parseThreadKey } from '../../runs/thread-key.js';
import { APPROVE_ACTION_ID } from '../blocks.js';
import { describeFailure } from '../failure.js';
import { presserOf, refusalText } from './button-presser.js';

export interface ApproveButtonDeps extends ControlDeps {
  coordinator: RunEngine;
  logger: Logger;
}

/**
 * "Approve and publish": an approver lets exactly the gated changes the button names (CI config,
 * gitlinks, outside symlinks) be published; anyone else is told no and nothing happens.
 */
export function registerApproveButton(app: App, deps: ApproveButtonDeps): void {
  app.action<BlockAction<ButtonAction>>(APPROVE_ACTION_ID, async ({ ack, action, body, respond, client }) => {
    await ack();
    const [key = '', fingerprint = ''] = (action.value ?? '').split('|');
    const thread = parseThreadKey(key);
    const tell = (text: string) => respond({ response_type: 'ephemeral', replace_original: false, text });
    if (!thread || !/^[0-9a-f]{24}$/.test(fingerprint))
      return void (await tell('This button does not belong to a thread I know.'));
    try {
      const decision = await mayControl(deps, 'approve', thread, presserOf(body, client));
      if (!decision.ok) return void (await tell(refusalText(decision)));
      const result = await deps.coordinator.approve(thread.channel, thread.threadTs, fingerprint, body.user.id);
      if (result === 'already-approved') await tell('These changes were already approved.');
      if (result === 'not-waiting')
        await tell('This thread is no longer waiting for this approval (the work changed since).');
      if (result === 'unknown-thread') await tell('I no longer know this thread.');
    } catch (error) {
      await tell(describeFailure(error, deps.logger, { button: action.action_id }));
    }
  });
}
