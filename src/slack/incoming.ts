import type { WebClient } from '@slack/web-api';
import type { NetworkPolicy } from '../config/network.js';
import type { Logger } from '../lib/logger.js';
import { redactDeep } from '../lib/redact.js';
import { acceptMessage, type IncomingMessage, type IntakeDeps, type RunAnnouncement } from '../runs/intake.js';
import { threadKeyOf } from '../runs/thread-key.js';
import { workingMessage } from './blocks.js';
import { settingsLine } from './channel-config.js';
import { describeFailure } from './failure.js';
import { describeNetwork } from './network-text.js';
import { boundText, slackToPlainText } from './text.js';

export interface IncomingDeps extends IntakeDeps {
  logger: Logger;
  botUserId: () => string | undefined;
  /** What sandboxes may reach: the first reply of every run says it in one line. */
  network: NetworkPolicy;
  redact: (text: string) => string;
  /** The run's first reply was posted: it becomes the run's live status card. */
  onFirstReply?: (channel: string, threadTs: string, ts: string | undefined) => void;
}

/**
 * A Slack message for the bot (a mention, or a reply in one of its threads): its markup turned into
 * plain text, handed to the runs' intake, and the decision put into words. Every path but a
 * duplicate says something.
 */
export async function handleIncoming(
  deps: IncomingDeps,
  client: WebClient,
  message: Omit<IncomingMessage, 'text'> & { text: string },
): Promise<void> {
  const log = deps.logger.child({ channel: message.channel, ts: message.ts, thread: message.threadTs });
  const reply = (text: string, blocks?: unknown[]) =>
    client.chat.postMessage({
      channel: message.channel,
      thread_ts: message.threadTs,
      text: deps.redact(text),
      ...(blocks ? { blocks: redactDeep(blocks, deps.redact) as never } : {}),
    });
  /** Only the sender sees it: a refusal is no news for the rest of the thread. */
  const whisper = (text: string) =>
    client.chat.postEphemeral({ channel: message.channel, user: message.user, thread_ts: message.threadTs, text });
  const announce = async (announcement: RunAnnouncement) => {
    const working = workingMessage({
      repo: announcement.repos.join(', '),
      baseBranch: announcement.branch,
      threadKey: threadKeyOf(message.channel, message.threadTs),
      note: [
        announcement.followUp ? 'Follow-up on the same branch and pull request.' : undefined,
        announcement.settings ? `Settings: ${settingsLine(announcement.settings)}.` : undefined,
        describeNetwork(deps.network),
      ]
        .filter(Boolean)
        .join('\n'),
    });
    const posted = await reply(working.text, working.blocks);
    deps.onFirstReply?.(message.channel, message.threadTs, posted.ts);
    return posted;
  };
  try {
    const text = boundText(slackToPlainText(message.text, deps.botUserId()));
    const decision = await acceptMessage(deps, { ...message, text }, announce);
    switch (decision.kind) {
      case 'duplicate':
        log.debug('message already taken (twin event or retry)');
        return;
      case 'ignored':
      case 'started':
        return;
      case 'outsider':
        await whisper(
          'Sorry, I only work for people of this workspace’s own organisation, so I left this message alone. The bot’s operator can allow others (ALLOW_EXTERNAL_USERS).',
        );
        return;
      case 'repos-not-allowed':
        await reply(
          `${decision.repos.map((r) => `*${r}*`).join(', ')} ${decision.repos.length === 1 ? 'is' : 'are'} linked here but no longer on the bot’s list of allowed repos (ALLOW_REPOS), so I left this alone. Ask the bot’s operator.`,
        );
        return;
      case 'not-allowed':
        await whisper(
          'Sorry, you are not on the list of people who may start or steer my work here, so I left this message alone. Ask the bot’s operator (ALLOW_RUN_USERS).',
        );
        return;
      case 'links-gone':
        await reply(
          `${decision.repos.map((r) => `*${r}*`).join(', ')} is no longer linked to this channel (or no longer allowed), so I left this alone. Link it again with \`/ai-dev link owner/repo\` to go on.`,
        );
        return;
      case 'no-link':
        await reply(
          'No GitHub repo is linked to this channel yet. Link one with `/ai-dev link owner/repo`, then mention me again with the task.',
        );
        return;
      case 'empty':
        await reply('What should I do? Mention me with a task, e.g. `@ai-dev fix the flaky date test`.');
        return;
      case 'queued':
        await reply('Got it: I’ll read this at my next step.');
        return;
      case 'options-refused':
        await reply(`I did not start: ${decision.problems.join(' ')} Mention me again with the task.`);
        return;
    }
  } catch (error) {
    await reply(describeFailure(error, log, { stage: 'incoming message' })).catch((postError: unknown) =>
      log.error({ err: postError }, 'could not tell the thread about a failure'),
    );
  }
}

/** The writer's organisation as Slack sends it (`user_team`; Slack Connect users' differs from the app's). */
export function userTeam(event: object): { team?: string } {
  const team = (event as { user_team?: unknown }).user_team;
  return typeof team === 'string' && team !== '' ? { team } : {};
}
