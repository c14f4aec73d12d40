import type { AllMiddlewareArgs, App, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { Logger } from '../../lib/logger.js';
import { type ControlDeps, mayControl } from '../../runs/controls.js';
import type { RunEngine } from '../../runs/run-engine.js';
import { parseThreadKey } from '../../runs/thread-key.js';
import { CONTINUE_ACTION_ID, RETRY_ACTION_ID } from '../blocks.js';
import { describeFailure } from '../failure.js';
import { presserOf, refusalText } from './button-presser.js';

type ButtonArgs = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;

export interface ContinueButtonDeps extends ControlDeps {
  coordinator: RunEngine;
  logger: Logger;
}

/** Continue (budget reached) and Retry (interrupted) both go on where the run stopped, with a fresh budget. */
export function registerContinueButtons(app: App, deps: ContinueButtonDeps): void {
  const resume = async ({ ack, action, body, respond, client }: ButtonArgs) => {
    await ack();
    const thread = parseThreadKey(action.value ?? '');
    const tell = (text: string) => respond({ response_type: 'ephemeral', replace_original: false, text });
    if (!thread) return void (await tell('This button does not belong to a thread I know.'));
    try {
      const decision = await mayControl(deps, 'continue', thread, presserOf(body, client));
      if (!decision.ok) return void (await tell(refusalText(decision)));
      const result = await deps.coordinator.resume(thread.channel, thread.threadTs, body.user.id);
      if (result === 'queued') await tell('I am already working in this thread.');
      if (result === 'not-paused') await tell('This thread is not waiting for a Continue; reply in it to go on.');
      if (result === 'unknown-thread') await tell('I no longer know this thread.');
    } catch (error) {
      await tell(describeFailure(error, deps.logger, { button: action.action_id }));
    }
  };
  app.action<BlockAction<ButtonAction>>(CONTINUE_ACTION_ID, resume);
  app.action<BlockAction<ButtonAction>>(RETRY_ACTION_ID, resume);
}
