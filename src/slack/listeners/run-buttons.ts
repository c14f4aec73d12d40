import type { AllMiddlewareArgs, App, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';

type ResumeArgs = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;

import type { AccessPolicy } from '../../access/access-policy.js';
import type { Logger } from '../../lib/logger.js';
import type { RunCoordinator } from '../../runs/coordinator.js';
import { CONTINUE_ACTION_ID, RETRY_ACTION_ID, STOP_ACTION_ID } from '../blocks.js';
import { describeFailure } from '../failure.js';
import { parseThreadKey } from '../incoming.js';

export interface RunButtonDeps {
  coordinator: RunCoordinator;
  access: AccessPolicy;
  logger: Logger;
}

/** Stop aborts the thread's run at once; Continue resumes a run paused on its budget. */
export function registerRunButtons(app: App, deps: RunButtonDeps): void {
  app.action<BlockAction<ButtonAction>>(STOP_ACTION_ID, async ({ ack, action, body, respond }) => {
    await ack();
    const thread = parseThreadKey(action.value ?? '');
    const user = body.user.id;
    const tell = (text: string) => respond({ response_type: 'ephemeral', replace_original: false, text });
    if (!thread) return void (await tell('This button does not belong to a thread I know.'));
    if (!deps.access.mayRun(user)) return void (await tell('Sorry, you may not start or stop my work here.'));
    if (!(await deps.coordinator.stop(thread.channel, thread.threadTs, user))) {
      await tell('Nothing is running in this thread right now.');
    }
  });

  const resume = async ({ ack, action, body, respond }: ResumeArgs) => {
    await ack();
    const thread = parseThreadKey(action.value ?? '');
    const user = body.user.id;
    const tell = (text: string) => respond({ response_type: 'ephemeral', replace_original: false, text });
    if (!thread) return void (await tell('This button does not belong to a thread I know.'));
    if (!deps.access.mayRun(user)) return void (await tell('Sorry, you may not start or steer my work here.'));
    try {
      const result = await deps.coordinator.resume(thread.channel, thread.threadTs, user);
      if (result === 'queued') await tell('I am already working in this thread.');
      if (result === 'not-paused') await tell('This thread is not waiting for a Continue; reply in it to go on.');
      if (result === 'unknown-thread') await tell('I no longer know this thread.');
    } catch (error) {
      await tell(describeFailure(error, deps.logger, { button: action.action_id }));
    }
  };
  // Continue (budget reached) and Retry (interrupted) both go on where the run stopped.
  app.action<BlockAction<ButtonAction>>(CONTINUE_ACTION_ID, resume);
  app.action<BlockAction<ButtonAction>>(RETRY_ACTION_ID, resume);
}
