import type { App } from '@slack/bolt';
import type { Logger } from '../../lib/logger.js';
import type { IncomingDeps } from '../incoming.js';
import { registerApproveButton } from './approve-button.js';
import { type CommandDeps, registerCommand } from './command.js';
import { registerContinueButtons } from './continue-button.js';
import { registerMention } from './mention.js';
import { registerStopButton } from './stop-button.js';
import { registerThreadMessage } from './thread-message.js';

export interface ListenerDeps {
  command: CommandDeps;
  incoming: IncomingDeps;
  logger: Logger;
}

/** Every Slack listener the bot has, one file each. */
export function registerListeners(app: App, deps: ListenerDeps): void {
  registerCommand(app, deps.command);
  registerMention(app, deps.incoming);
  registerThreadMessage(app, deps.incoming);
  registerStopButton(app, deps.incoming);
  registerContinueButtons(app, deps.incoming);
  registerApproveButton(app, deps.incoming);
  app.error(async (error) => {
    deps.logger.error({ err: error }, 'unhandled error in a Slack listener');
  });
}
