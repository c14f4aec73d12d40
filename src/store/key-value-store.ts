import { AppError } from '../lib/errors.js';

/**
 * The storage port: a namespaced key-value store with expiry. Values are JSON-like and are
 * validated by the typed stores above it, never trusted as they come back.
 */
export interface KeyValueStore {
  readonly kind: 'sqlite' | 'redis';
  /** Prefix of every key (`ai-dev` unless STORE_URL names another). */
  readonly namespace: string;
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown, ttlMs?: number): Promise<void>;
  delete(key: string): Promise<boolean>;
  /** Stores the value only if the key is absent (atomic across bot instances on Redis). */
  setIfAbsent(key: string, value: unknown, ttlMs: number): Promise<boolean>;
  /**
   * Atomic read-modify-write: `change` gets the current value (undefined when absent) and answers the
   * new one, or undefined to leave it as it is; answers the value stored afterwards. On Redis a write by
   * another bot instance in between makes `change` run again on the newer value, so it must not act on
   * anything but its result.
   */
  update(key: string, change: (current: unknown) => unknown, ttlMs?: number): Promise<unknown>;
  /**
   * Deletes values whose time is up; answers how many. Redis expires keys itself (0), SQLite only
   * drops an expired row when it is read, so old event ids and threads would pile up without this.
   */
  sweepExpired(): Promise<number>;
  /** Every key that starts with `prefix` (a full scan: for `ai-dev doctor`, not for a request path). */
  keys(prefix: string): Promise<string[]>;
  close(): Promise<void>;
}

export class StoreError extends AppError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('store_unavailable', message, {
      kind: 'transient',
      cause: options.cause,
      userMessage: 'The bot’s storage is not answering right now; try again in a minute.',
    });
  }
}
