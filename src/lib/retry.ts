import { setTimeout as sleep } from 'node:timers/promises';
import pRetry from 'p-retry';
import { AbortedError, isTransient } from './errors.js';

export interface RetryOptions {
  /** Retries after the first attempt. */
  retries: number;
  /** Wait before the first retry; later ones grow by `factor` up to `maxDelayMs`, with jitter. */
  minDelayMs: number;
  maxDelayMs?: number;
  factor?: number;
  /** Whether this failure may be tried again; default: transient AppErrors only. */
  shouldRetry?: (error: unknown) => boolean;
  /** A wait the failure itself asks for (a `retry-after`), taken when longer than the backoff. */
  retryAfterMs?: (error: unknown) => number;
  /** Told before each retry (for a log line). */
  onRetry?: (error: unknown, attempt: number) => void | Promise<void>;
  signal?: AbortSignal;
}

/**
 * The project's one retry helper (p-retry underneath): exponential backoff with jitter, transient
 * errors only by default, a `retry-after` honoured, and an abort that ends the waiting at once and
 * rejects with an AbortedError.
 */
export async function retrying<T>(work: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const shouldRetry = options.shouldRetry ?? isTransient;
  try {
    return await pRetry(work, {
      retries: options.retries,
      minTimeout: options.minDelayMs,
      maxTimeout: options.maxDelayMs ?? Number.POSITIVE_INFINITY,
      factor: options.factor ?? 2,
      randomize: true,
      unref: true,
      signal: options.signal,
      shouldRetry: ({ error }) => shouldRetry(error),
      onFailedAttempt: async ({ error, attemptNumber, retriesLeft, retryDelay }) => {
        if (retriesLeft === 0 || !shouldRetry(error)) return;
        await options.onRetry?.(error, attemptNumber);
        const asked = options.retryAfterMs?.(error) ?? 0;
        if (asked > retryDelay) await sleep(asked - retryDelay, undefined, { signal: options.signal, ref: false });
      },
    });
  } catch (error) {
    if (options.signal?.aborted) throw new AbortedError(options.signal.reason);
    throw error;
  }
}
