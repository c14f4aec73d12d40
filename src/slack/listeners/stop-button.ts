import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { AccessPolicy } from '../../runs/access-policy.js';
import type { RunCoordinator } from '../../runs/coordinator.js';
import { parseThreadKey } from '../../runs/thread-key.js';
import { STOP_ACTION_ID } from '../blocks.js';

export interface StopButtonDeps {
  coordinator: RunCoordinator;
  access: AccessPolicy;
}

/** Stop aborts the thread's run at once (its model request and its command). */
export function registerStopButton(app: App, deps: StopButtonDeps): void {
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
}
