import type { WebClient } from '@slack/web-api';
import type { ThreadInfo } from '../runs/ports.js';

/** Looks up a thread's permalink and its requester's name in Slack (both optional: Slack may be slow). */
export function slackThreadInfo(client: WebClient) {
  return async (channel: string, threadTs: string, user: string): Promise<ThreadInfo> => {
    const [permalink, name] = await Promise.all([
      client.chat
        .getPermalink({ channel, message_ts: threadTs })
        .then((r) => r.permalink)
        .catch(() => undefined),
      client.users
        .info({ user })
        .then((r) => r.user?.real_name || r.user?.name)
        .catch(() => undefined),
    ]);
    return { ...(permalink ? { permalink } : {}), ...(name ? { requesterName: name } : {}) };
  };
}
