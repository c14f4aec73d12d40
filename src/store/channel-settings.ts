import { z } from 'zod';
import type { Logger } from '../lib/logger.js';
import type { KeyValueStore } from './key-value-store.js';
import { readValid } from './typed-value.js';

/** What a run may be told to use: a budget in dollars, a model, an effort. */
export const runSettingsSchema = z.object({
  budgetDollars: z.number().positive().optional(),
  model: z.string().min(1).optional(),
  effort: z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max']).optional(),
});

export type StoredRunSettings = z.infer<typeof runSettingsSchema>;

export const channelSettingsSchema = runSettingsSchema.extend({
  updatedBy: z.string().optional(),
  updatedAt: z.string().optional(),
});

export type ChannelSettings = z.infer<typeof channelSettingsSchema>;

const PREFIX = 'channel-settings:';

/** Each channel's run defaults, set with `/ai-dev config budget|model|effort`. */
export class ChannelSettingsStore {
  constructor(
    private readonly store: KeyValueStore,
    private readonly logger: Logger,
  ) {}

  async get(channel: string): Promise<ChannelSettings | undefined> {
    const key = `${PREFIX}${channel}`;
    return readValid(channelSettingsSchema, await this.store.get(key), key, this.logger);
  }

  /** Merges `change` over the channel's settings and answers the result. */
  async set(channel: string, change: StoredRunSettings, by: string): Promise<ChannelSettings> {
    const key = `${PREFIX}${channel}`;
    let next: ChannelSettings = {};
    await this.store.update(key, (raw) => {
      next = {
        ...readValid(channelSettingsSchema, raw, key, this.logger),
        ...change,
        updatedBy: by,
        updatedAt: new Date().toISOString(),
      };
      return next;
    });
    return next;
  }
}
