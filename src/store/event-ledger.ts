import type { KeyValueStore } from './key-value-store.js';

const SEEN_TTL_MS = 24 * 3600_000;

/**
 * Remembers which Slack messages were already taken, so a retried delivery or the
 * app_mention/message twin of one message starts work once. Claims are atomic on Redis.
 */
export class EventLedger {
  constructor(private readonly store: KeyValueStore) {}

  /** True for the first claim of this message; false for every later one. */
  claimMessage(channel: string, ts: string): Promise<boolean> {
    return this.store.setIfAbsent(`seen:${channel}:${ts}`, { at: Date.now() }, SEEN_TTL_MS);
  }
}
