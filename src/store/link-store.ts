import { z } from 'zod';
import { KeyedMutex } from '../lib/keyed-mutex.js';
import type { Logger } from '../lib/logger.js';
import type { KeyValueStore } from './key-value-store.js';
import { readValidList } from './typed-value.js';

export const channelLinkSchema = z.object({
  repo: z.string().regex(/^[^/\s]+\/[^/\s]+$/),
  defaultBranch: z.string().min(1),
  private: z.boolean(),
  linkedBy: z.string().min(1),
  linkedAt: z.string().min(1),
  /** `--setup`: commands run once in each new sandbox of this repo (instead of its `.ai-dev/setup.sh`). */
  setup: z.string().optional(),
  /** `--template`: the E2B template of this repo's sandboxes (instead of E2B_TEMPLATE). */
  template: z.string().optional(),
});

export type ChannelLink = z.infer<typeof channelLinkSchema>;

export type AddLinkResult = 'added' | 'updated';

/** The repos linked to each Slack channel. */
export class LinkStore {
  private readonly mutex = new KeyedMutex();

  constructor(
    private readonly store: KeyValueStore,
    private readonly logger: Logger,
  ) {}

  async list(channel: string): Promise<ChannelLink[]> {
    const key = linksKey(channel);
    return readValidList(channelLinkSchema, await this.store.get(key), key, this.logger);
  }

  /** Every channel with linked repos, and its links (a full scan of the store: for `ai-dev doctor`). */
  async all(): Promise<Array<{ channel: string; links: ChannelLink[] }>> {
    const channels = (await this.store.keys(LINKS_PREFIX)).map((key) => key.slice(LINKS_PREFIX.length));
    const all = await Promise.all(channels.map(async (channel) => ({ channel, links: await this.list(channel) })));
    return all.filter((entry) => entry.links.length > 0);
  }

  async find(channel: string, repo: string): Promise<ChannelLink | undefined> {
    const wanted = repo.toLowerCase();
    return (await this.list(channel)).find((link) => link.repo.toLowerCase() === wanted);
  }

  /** Adds or refreshes the link; repo names compare case-insensitively, as on GitHub. */
  async add(channel: string, link: ChannelLink): Promise<AddLinkResult> {
    return this.mutex.run(channel, async () => {
      const links = await this.list(channel);
      const index = links.findIndex((l) => l.repo.toLowerCase() === link.repo.toLowerCase());
      if (index >= 0) links[index] = link;
      else links.push(link);
      await this.store.set(linksKey(channel), links);
      return index >= 0 ? 'updated' : 'added';
    });
  }

  /** Removes the link; answers the removed link, or undefined when it was not linked. */
  async remove(channel: string, repo: string): Promise<ChannelLink | undefined> {
    return this.mutex.run(channel, async () => {
      const links = await this.list(channel);
      const wanted = repo.toLowerCase();
      const removed = links.find((l) => l.repo.toLowerCase() === wanted);
      if (!removed) return undefined;
      await this.store.set(
        linksKey(channel),
        links.filter((l) => l !== removed),
      );
      return removed;
    });
  }
}

const LINKS_PREFIX = 'links:';
const linksKey = (channel: string) => `${LINKS_PREFIX}${channel}`;
