import { z } from 'zod';
import type { Logger } from '../lib/logger.js';
import type { KeyValueStore } from '../store/key-value-store.js';
import { readValid } from '../store/typed-value.js';

/** The channel key of terminal threads in the store (beside Slack's channel ids). */
export const CLI_CHANNEL = 'CLI';

const KEY = 'cli:last-thread';
/** As long as a thread record lives (ThreadStore keeps them 30 days). */
const TTL_MS = 30 * 24 * 3600_000;

const lastThreadSchema = z.object({ threadTs: z.string(), repo: z.string(), at: z.string() });
export type LastThread = z.infer<typeof lastThreadSchema>;

/** Which terminal thread `--follow-up` continues: the last one started, kept in the bot's store. */
export class LastThreadStore {
  constructor(
    private readonly store: KeyValueStore,
    private readonly logger: Logger,
  ) {}

  async get(): Promise<LastThread | undefined> {
    return readValid(lastThreadSchema, await this.store.get(KEY), KEY, this.logger);
  }

  async set(threadTs: string, repo: string): Promise<void> {
    await this.store.set(KEY, { threadTs, repo, at: new Date().toISOString() }, TTL_MS);
  }
}

/** A thread ts in Slack's shape (`seconds.micros`), from the clock: unique per terminal run and message. */
export function terminalTs(now = Date.now()): string {
  return `${Math.floor(now / 1000)}.${String(now % 1000).padStart(3, '0')}000`;
}
