import { z } from 'zod';
import type { Logger } from '../lib/logger.js';
import type { KeyValueStore } from './key-value-store.js';
import { readValid } from './typed-value.js';

const spendSchema = z.object({ at: z.string(), dollars: z.number().min(0), user: z.string() });
const pullSchema = z.object({
  repo: z.string(),
  number: z.number().int(),
  url: z.string(),
  title: z.string(),
  at: z.string(),
});

export const channelHistorySchema = z.object({
  /** What each finished run cost, kept for eight days (a week back from any day). */
  spend: z.array(spendSchema),
  /** The channel's newest pull requests, newest last. */
  pullRequests: z.array(pullSchema),
  /** People who ran the bot here (the Home tab shows them the channel). */
  people: z.array(z.string()),
});

export type ChannelHistory = z.infer<typeof channelHistorySchema>;
export type HistoryPullRequest = z.infer<typeof pullSchema>;

const PREFIX = 'channel-history:';
const KEEP_SPEND_MS = 8 * 24 * 3600_000;
const KEEP_PULLS = 20;
const KEEP_PEOPLE = 500;

/** What a channel's runs cost and opened, for the Home tab. */
export class ChannelHistoryStore {
  constructor(
    private readonly store: KeyValueStore,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  async get(channel: string): Promise<ChannelHistory> {
    const key = `${PREFIX}${channel}`;
    return this.parse(key, await this.store.get(key));
  }

  private parse(key: string, raw: unknown): ChannelHistory {
    return readValid(channelHistorySchema, raw, key, this.logger) ?? { spend: [], pullRequests: [], people: [] };
  }

  /** One finished run: its cost, who asked, and its pull request if it opened or updated one. */
  async recordRun(
    channel: string,
    run: { user: string; dollars: number; pullRequest?: Omit<HistoryPullRequest, 'at'> },
  ): Promise<void> {
    const key = `${PREFIX}${channel}`;
    const now = this.now();
    // Atomic: bot instances share the history; the change may run again on a newer one.
    await this.store.update(key, (raw) => {
      const history = this.parse(key, raw);
      const at = new Date(now).toISOString();
      history.spend = [
        ...history.spend.filter((s) => now - Date.parse(s.at) < KEEP_SPEND_MS),
        { at, dollars: run.dollars, user: run.user },
      ];
      if (run.pullRequest) {
        const pr = run.pullRequest;
        const others = history.pullRequests.filter((p) => p.url !== pr.url);
        history.pullRequests = [...others, { ...pr, at }].slice(-KEEP_PULLS);
      }
      history.people = [...history.people.filter((p) => p !== run.user), run.user].slice(-KEEP_PEOPLE);
      return history;
    });
  }
}

/** Monday 00:00 UTC of the week `now` is in. */
export function startOfWeek(now: number): number {
  const day = new Date(now);
  const sinceMonday = (day.getUTCDay() + 6) % 7;
  return Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate() - sinceMonday);
}
