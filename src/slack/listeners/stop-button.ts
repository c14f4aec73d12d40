import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { type ControlDeps, mayControl } from '../../runs/controls.js';
import type { RunEngine } from '../../runs/run-engine.js';
import { parseThreadKey } from '../../runs/thread-key.js';
import { STOP_ACTION_ID } from '../blocks.js';
import { presserOf, refusalText } from './button-presser.js';

export interface StopButtonDeps extends ControlDeps {
  coordinator: RunEngine;
}

/** Stop aborts the thread's run at once (its model request and its command). */
export function registerStopButton(app: App, deps: StopButtonDeps): void {
  app.action<BlockAction<ButtonAction>>(STOP_ACTION_ID, async ({ ack, action, body, respond, client }) => {
    await ack();
    const thread = parseThreadKey(action.value ?? '');
    const tell = (text: string) => respond({ response_type: 'ephemeral', replace_original: false, text });
    if (!thread) return void (await tell('This button does not belong to a thread I know.'));
    const decision = await mayControl(deps, 'stop', thread, presserOf(body, client));
    if (!decision.ok) return void (await tell(refusalText(decision)));
    if (!(await deps.coordinator.stop(thread.channel, thread.threadTs, body.user.id))) {
      await tell('Nothing is running in this thread right now.');
    }
  });
}
