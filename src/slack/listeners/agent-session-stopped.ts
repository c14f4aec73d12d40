import type { App } from '@slack/bolt';
import type { Logger } from '../../lib/logger.js';
import type { AgentSessions } from '../agent-session.js';

export interface AgentSessionStoppedDeps {
  /**
   * Stops the thread's run (the same path as the Stop button: model request and command aborted, "stopped by
   * @person"); answers false when nothing was running. It decides who may stop.
   */
  stop: (channel: string, threadTs: string, user: string) => Promise<boolean>;
  /** When nothing was running, the session is moved out of `processing` here (Slack leaves that to the app). */
  sessions?: AgentSessions;
  logger?: Logger;
}

/**
 * Slack's native Stop on an agent session (`agent_session_stopped`). Slack stops the streams it lists; the app
 * stops its own work and moves the session out of `processing` itself (the run's end does that when a run stopped).
 */
export function registerAgentSessionStopped(app: App, deps: AgentSessionStoppedDeps): void {
  app.event('agent_session_stopped', async ({ event }) => {
    const { channel, thread_ts: threadTs, user } = event;
    try {
      const stopped = await deps.stop(channel, threadTs, user);
      if (!stopped) {
        deps.logger?.info({ channel, threadTs, user }, 'agent session stopped with nothing running');
        await deps.sessions?.forThread(channel, threadTs).setStatus('active');
      }
    } catch (error) {
      deps.logger?.error({ err: error, channel, threadTs, user }, 'could not stop the run of an agent session');
    }
  });
}
