import type { App } from '@slack/bolt';
import { handleIncoming, type IncomingDeps, userTeam } from '../incoming.js';

/** A reply in one of our threads is a follow-up, mention or not. */
export function registerThreadMessage(app: App, deps: IncomingDeps): void {
  app.event('message', async ({ event, client }) => {
    // Edits, deletions, joins and bot posts carry a subtype; a reply also sent to the channel does too.
    if (event.subtype !== undefined && event.subtype !== 'thread_broadcast') return;
    if (!('user' in event) || !event.user || ('bot_id' in event && event.bot_id)) return;
    const threadTs = 'thread_ts' in event ? event.thread_ts : undefined;
    if (!threadTs || threadTs === event.ts) return;
    if (!(await deps.threads.get(event.channel, threadTs))) return;
    await handleIncoming(deps, client, {
      channel: event.channel,
      ts: event.ts,
      threadTs,
      user: event.user,
      ...userTeam(event),
      text: 'text' in event && typeof event.text === 'string' ? event.text : '',
      mention: false,
    });
  });
}
