import { z } from 'zod';
import type { Logger } from '../lib/logger.js';
import type { KeyValueStore } from './key-value-store.js';
import { readValidList } from './typed-value.js';

export const followedPrSchema = z.object({
  channel: z.string(),
  threadTs: z.string(),
  /** `owner/name` as the thread record spells it. */
  repo: z.string(),
  pr: z.number().int(),
});

export type FollowedPr = z.infer<typeof followedPrSchema>;

const KEY = 'followed-prs';

const samePr = (a: FollowedPr, b: Pick<FollowedPr, 'channel' | 'threadTs' | 'repo'>) =>
  a.channel === b.channel && a.threadTs === b.threadTs && a.repo.toLowerCase() === b.repo.toLowerCase();

/**
 * The threads' pull requests whose checks and reviews the bot follows. The CI and review loops keep
 * their watches in memory; this list is what a restarted bot follows again. A PR leaves it when it is
 * closed or merged. What was already acted on stays in the thread record (`repos[].ci`, `repos[].reviews`).
 */
export class FollowedPrStore {
  constructor(
    private readonly store: KeyValueStore,
    private readonly logger: Logger,
  ) {}

  async list(): Promise<FollowedPr[]> {
    return readValidList(followedPrSchema, await this.store.get(KEY), KEY, this.logger);
  }

  /** Follows the thread's PR in this repo (a new PR number replaces the old one). */
  async add(entry: FollowedPr): Promise<void> {
    await this.change((list) => {
      const known = list.find((e) => samePr(e, entry));
      if (known?.pr === entry.pr) return undefined;
      return [...list.filter((e) => !samePr(e, entry)), entry];
    });
  }

  /** Stops following the thread's PR in this repo (closed, merged, gone). */
  async remove(entry: Pick<FollowedPr, 'channel' | 'threadTs' | 'repo'>): Promise<void> {
    await this.change((list) =>
      list.some((e) => samePr(e, entry)) ? list.filter((e) => !samePr(e, entry)) : undefined,
    );
  }

  /**
   * The one read-modify-write of the list, atomic across bot instances; `undefined` from `edit` writes
   * nothing, and `edit` may run again on a newer list.
   */
  private async change(edit: (list: FollowedPr[]) => FollowedPr[] | undefined): Promise<void> {
    await this.store.update(KEY, (raw) => edit(readValidList(followedPrSchema, raw, KEY, this.logger)));
  }
}
