import type { WebClient } from '@slack/web-api';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';

/** The channels one person is in, as far as the bot may know them. */
export interface MemberChannels {
  channels: ReadonlySet<string>;
  /** The person is in more channels than were read (the page cap): some of theirs may be missing. */
  truncated: boolean;
}

export interface ChannelMembershipOptions {
  client: { users: Pick<WebClient['users'], 'conversations'> };
  logger: Pick<Logger, 'warn'>;
  /** How long an answer is reused (default 60 s): opening the Home tab again does not ask Slack again. */
  ttlMs?: number;
  /** Channels per `users.conversations` page (default 200, Slack's advice; at most 999). */
  pageSize?: number;
  /** Pages read per person (default 5, so at most 1 000 channels checked). */
  maxPages?: number;
  /** People whose answers are kept (default 500); the oldest goes first. */
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  at: number;
  answer: Promise<MemberChannels | undefined>;
}

/**
 * Which public and private channels a person is in, from `users.conversations` with the bot token
 * (`channels:read`, `groups:read`). With a bot token Slack lists the person's public channels and only the private
 * ones the bot is in too, which are the only private channels a link can be in: the bot is in every linked
 * channel. One paginated call per person rather than `conversations.members` per linked channel, whose member
 * lists are as long as the channels are big. Answers are kept briefly; `undefined` when Slack refused.
 */
export class ChannelMembership {
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly pageSize: number;
  private readonly maxPages: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(private readonly options: ChannelMembershipOptions) {
    this.ttlMs = options.ttlMs ?? 60_000;
    this.pageSize = Math.min(999, Math.max(1, options.pageSize ?? 200));
    this.maxPages = Math.max(1, options.maxPages ?? 5);
    this.maxEntries = Math.max(1, options.maxEntries ?? 500);
    this.now = options.now ?? Date.now;
  }

  channelsOf(user: string): Promise<MemberChannels | undefined> {
    const now = this.now();
    const kept = this.entries.get(user);
    if (kept && now - kept.at < this.ttlMs) return kept.answer;
    const answer = this.read(user);
    this.entries.delete(user);
    this.entries.set(user, { at: now, answer });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    return answer;
  }

  private async read(user: string): Promise<MemberChannels | undefined> {
    const channels = new Set<string>();
    let cursor: string | undefined;
    try {
      for (let page = 0; page < this.maxPages; page += 1) {
        const answer = await this.options.client.users.conversations({
          user,
          types: 'public_channel,private_channel',
          exclude_archived: true,
          limit: this.pageSize,
          ...(cursor ? { cursor } : {}),
        });
        for (const channel of answer.channels ?? []) if (channel.id) channels.add(channel.id);
        cursor = answer.response_metadata?.next_cursor || undefined;
        if (!cursor) return { channels, truncated: false };
      }
      return { channels, truncated: true };
    } catch (error) {
      this.options.logger.warn(
        { err: error, user },
        `could not read which channels a person is in (users.conversations: ${errorMessage(error)}); the Home tab lists none. Grant channels:read and groups:read (manifest.yml) and reinstall the app`,
      );
      return undefined;
    }
  }
}
