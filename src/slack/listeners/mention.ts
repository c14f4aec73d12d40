import type { App } from '@slack/bolt';
import { handleIncoming, type IncomingDeps, userTeam } from '../incoming.js';

/** `@ai-dev <task>`: a new task, or a follow-up when it is written in one of our threads. */
export function registerMention(app: App, deps: IncomingDeps): void {
  app.event('app_mention', async ({ event, client }) => {
    if (!event.user || event.bot_id) return;
    await handleIncoming(deps, client, {
      channel: event.channel,
      ts: event.ts,
      threadTs: event.thread_ts ?? event.ts,
      user: event.user,
      ...userTeam(event),
      text: event.text,
      mention: true,
    });
  });
}
