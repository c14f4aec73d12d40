import { AppError } from '../lib/errors.js';

/**
 * The storage port: a namespaced key-value store with expiry. Values are JSON-like and are
 * validated by the typed stores above it, never trusted as they come back.
 */
export interface KeyValueStore {
  readonly kind: 'sqlite' | 'redis';
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown, ttlMs?: number): Promise<void>;
  delete(key: string): Promise<boolean>;
  /** Stores the value only if the key is absent (atomic across bot instances on Redis). */
  setIfAbsent(key: string, value: unknown, ttlMs: number): Promise<boolean>;
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
