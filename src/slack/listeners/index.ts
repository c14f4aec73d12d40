import type { App } from '@slack/bolt';
import type { Logger } from '../../lib/logger.js';
import { mayControl } from '../../runs/controls.js';
import type { AgentSessions } from '../agent-session.js';
import type { IncomingDeps } from '../incoming.js';
import { registerAgentSessionStopped } from './agent-session-stopped.js';
import { type AppHomeDeps, registerAppHome } from './app-home.js';
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
  /** The threads' agent sessions: Slack's own Stop on a session is our Stop. */
  sessions?: AgentSessions;
  /** The Home tab, published when a person opens it. */
  home?: AppHomeDeps;
}

/** Every Slack listener the bot has, one file each. */
export function registerListeners(app: App, deps: ListenerDeps): void {
  registerCommand(app, deps.command);
  registerMention(app, deps.incoming);
  registerThreadMessage(app, deps.incoming);
  registerStopButton(app, deps.incoming);
  registerContinueButtons(app, deps.incoming);
  registerApproveButton(app, deps.incoming);
  if (deps.sessions) {
    const incoming = deps.incoming;
    registerAgentSessionStopped(app, {
      sessions: deps.sessions,
      logger: deps.logger,
      // The same rules and the same path as the Stop button (stop-button.ts).
      stop: async (channel, threadTs, user) => {
        const decision = await mayControl(
          incoming,
          'stop',
          { channel, threadTs },
          {
            user,
            isWorkspaceAdmin: async () => {
              const info = await app.client.users.info({ user }).catch(() => undefined);
              return info?.user?.is_admin === true || info?.user?.is_owner === true;
            },
          },
        );
        if (!decision.ok) {
          deps.logger.info({ channel, threadTs, user, reason: decision.reason }, 'agent session Stop refused');
          // The run goes on: the session stays as it is.
          return true;
        }
        return incoming.coordinator.stop(channel, threadTs, user);
      },
    });
  }
  if (deps.home) registerAppHome(app, deps.home);
  app.error(async (error) => {
    deps.logger.error({ err: error }, 'unhandled error in a Slack listener');
  });
}
