import { z } from 'zod';
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
    let result: AddLinkResult = 'added';
    await this.change(channel, (links) => {
      const index = links.findIndex((l) => l.repo.toLowerCase() === link.repo.toLowerCase());
      result = index >= 0 ? 'updated' : 'added';
      if (index >= 0) links[index] = link;
      else links.push(link);
      return links;
    });
    return result;
  }

  /** Removes the link; answers the removed link, or undefined when it was not linked. */
  async remove(channel: string, repo: string): Promise<ChannelLink | undefined> {
    const wanted = repo.toLowerCase();
    let removed: ChannelLink | undefined;
    await this.change(channel, (links) => {
      removed = links.find((l) => l.repo.toLowerCase() === wanted);
      return removed ? links.filter((l) => l !== removed) : undefined;
    });
    return removed;
  }

  /** One atomic change of the channel's links (bot instances share them); `edit` may run again on newer links. */
  private async change(channel: string, edit: (links: ChannelLink[]) => ChannelLink[] | undefined): Promise<void> {
    const key = linksKey(channel);
    await this.store.update(key, (raw) => edit(readValidList(channelLinkSchema, raw, key, this.logger)));
  }
}

const LINKS_PREFIX = 'links:';
const linksKey = (channel: string) => `${LINKS_PREFIX}${channel}`;
