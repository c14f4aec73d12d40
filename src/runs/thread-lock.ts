import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { AppError } from '../lib/errors.js';
import { guard } from '../store/guard.js';
import type { RedisCommands } from '../store/key-value-store.js';

/**
 * A per-thread lock so that one Slack thread never runs on two bot instances at once. Holders take
 * it for a time-to-live and renew it while they work (see `keepAlive`): a bot instance that dies
 * without releasing it blocks the thread only until the lease runs out.
 */
export interface ThreadLock {
  /** Takes the lock for a thread for ttlMs; undefined when another holder has it. */
  acquire(key: string, ttlMs: number): Promise<LockLease | undefined>;
}

export interface LockLease {
  /** Extends the lease; false when it was lost (expired and taken by someone else). */
  renew(ttlMs: number): Promise<boolean>;
  release(): Promise<void>;
  /** Fires when a renewal finds the lease lost. */
  readonly lost: AbortSignal;
}

/** The reason `lost` carries: the run should stop, another holder may be running the thread. */
export class LockLostError extends AppError {
  constructor(key: string, detail: string) {
    super('thread_lock_lost', `Lost the lock on ${key}: ${detail}`, {
      kind: 'transient',
      userMessage: 'This run stopped because the bot lost its hold on the thread; mention me again to continue.',
    });
  }
}

/**
 * What a lease shares between backends. A renewal that fails because the backend is not answering
 * does not mean the lease is lost; but once the last confirmed time-to-live has run out as well, it
 * can no longer be trusted, and `lost` fires.
 */
abstract class Lease implements LockLease {
  readonly #controller = new AbortController();
  #released = false;
  /** performance.now() after which the lease may have expired on the backend. */
  #expiresAt: number;

  protected constructor(
    readonly key: string,
    ttlMs: number,
    requestedAt: number,
  ) {
    this.#expiresAt = requestedAt + ttlMs;
  }

  get lost(): AbortSignal {
    return this.#controller.signal;
  }

  async renew(ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    if (this.#released || this.lost.aborted) return false;
    const requestedAt = performance.now();
    let kept: boolean;
    try {
      kept = await this.extend(ttlMs);
    } catch (error) {
      if (!this.#released && performance.now() >= this.#expiresAt) {
        this.#lose('its time-to-live ran out while renewals were failing');
      }
      throw error;
    }
    if (this.#released) return false;
    if (!kept) {
      this.#lose('a renewal found it expired or held by someone else');
      return false;
    }
    this.#expiresAt = Math.max(this.#expiresAt, requestedAt + ttlMs);
    return true;
  }

  /** Gives the lock up if it is still ours; never touches another holder's lock. Idempotent. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await this.drop();
  }

  #lose(detail: string): void {
    if (!this.lost.aborted) this.#controller.abort(new LockLostError(this.key, detail));
  }

  /** Extends the lock if it is still ours; false when it is not. */
  protected abstract extend(ttlMs: number): Promise<boolean>;
  /** Deletes the lock if it is still ours. */
  protected abstract drop(): Promise<void>;
}

// --- In-process (SQLite: one process) ---

interface Holding {
  token: symbol;
  expiresAt: number;
}

/**
 * The lock for a single bot process (the SQLite store). Share one instance across the process:
 * two instances do not see each other's locks.
 */
export class InProcessThreadLock implements ThreadLock {
  readonly #held = new Map<string, Holding>();

  async acquire(key: string, ttlMs: number): Promise<LockLease | undefined> {
    checkTtl(ttlMs);
    const now = performance.now();
    this.#sweep(now);
    if (this.#held.has(key)) return undefined;
    const token = Symbol(key);
    this.#held.set(key, { token, expiresAt: now + ttlMs });
    return new InProcessLease(this.#held, key, token, ttlMs, now);
  }

  /** Forgets expired locks, so that holders that never released do not pile up. */
  #sweep(now: number): void {
    for (const [key, holding] of this.#held) {
      if (holding.expiresAt <= now) this.#held.delete(key);
    }
  }
}

class InProcessLease extends Lease {
  constructor(
    private readonly held: Map<string, Holding>,
    key: string,
    private readonly token: symbol,
    ttlMs: number,
    requestedAt: number,
  ) {
    super(key, ttlMs, requestedAt);
  }

  protected async extend(ttlMs: number): Promise<boolean> {
    const holding = this.held.get(this.key);
    if (holding?.token !== this.token) return false;
    const now = performance.now();
    if (holding.expiresAt <= now) {
      this.held.delete(this.key);
      return false;
    }
    holding.expiresAt = now + ttlMs;
    return true;
  }

  protected async drop(): Promise<void> {
    if (this.held.get(this.key)?.token === this.token) this.held.delete(this.key);
  }
}

// --- Redis (several bot instances) ---

/** The part of a node-redis 5 client the lock uses (`keyv.store.client` of the Redis store). */
/** The part of node-redis 5 the lock uses (the store's own client satisfies it). */
export type LockRedisClient = RedisCommands;

/** Extends the key's expiry only if it still holds our token. */
const RENEW_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

/** Deletes the key only if it still holds our token. */
const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

export interface RedisThreadLockOptions {
  /** The store's keyv namespace; the lock lives at `<namespace>::lock:<key>`. */
  namespace?: string;
}

/**
 * The lock shared by bot instances through Redis: `SET <ns>::lock:<key> <token> NX PX <ttl>`;
 * renewal and release go through Lua scripts that first check the token, so a holder whose lease
 * expired can never extend or delete the next holder's lock.
 */
export class RedisThreadLock implements ThreadLock {
  readonly #client: LockRedisClient;
  readonly #namespace: string;

  constructor(client: LockRedisClient, options: RedisThreadLockOptions = {}) {
    this.#client = client;
    this.#namespace = options.namespace ?? 'ai-dev';
  }

  async acquire(key: string, ttlMs: number): Promise<LockLease | undefined> {
    checkTtl(ttlMs);
    const redisKey = `${this.#namespace}::lock:${key}`;
    // Says who holds the lock when an operator looks at it.
    const token = `${hostname()}:${process.pid}:${randomUUID()}`;
    const requestedAt = performance.now();
    const reply = await guard(
      () => this.#client.set(redisKey, token, { condition: 'NX', expiration: { type: 'PX', value: ttlMs } }),
      'take a thread lock',
    );
    if (reply !== 'OK') return undefined;
    return new RedisLease(this.#client, key, redisKey, token, ttlMs, requestedAt);
  }
}

class RedisLease extends Lease {
  constructor(
    private readonly client: LockRedisClient,
    key: string,
    private readonly redisKey: string,
    private readonly token: string,
    ttlMs: number,
    requestedAt: number,
  ) {
    super(key, ttlMs, requestedAt);
  }

  protected async extend(ttlMs: number): Promise<boolean> {
    const reply = await guard(
      () => this.client.eval(RENEW_SCRIPT, { keys: [this.redisKey], arguments: [this.token, String(ttlMs)] }),
      'renew a thread lock',
    );
    return Number(reply) === 1;
  }

  protected async drop(): Promise<void> {
    await guard(
      () => this.client.eval(RELEASE_SCRIPT, { keys: [this.redisKey], arguments: [this.token] }),
      'release a thread lock',
    );
  }
}

// --- Keeping a lease alive ---

export interface KeepAliveOptions {
  /** Called when a renewal throws (the backend is not answering); renewals go on. */
  onError?: (error: unknown) => void;
}

/**
 * Renews the lease to ttlMs every intervalMs until stopped (call the returned function), the lease
 * is released, or it is lost. A renewal that finds the lease taken aborts `lost`; renewals that
 * throw are retried, and abort `lost` once the last confirmed time-to-live has run out.
 * Renewals never overlap, and the timer does not keep the process alive.
 */
export function keepAlive(
  lease: LockLease,
  ttlMs: number,
  intervalMs: number,
  options: KeepAliveOptions = {},
): () => void {
  checkTtl(ttlMs);
  if (!(intervalMs > 0 && intervalMs < ttlMs)) {
    throw new RangeError(`keepAlive needs 0 < intervalMs < ttlMs, got ${intervalMs} and ${ttlMs}`);
  }
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    lease.lost.removeEventListener('abort', stop);
  };
  const tick = async () => {
    timer = undefined;
    if (stopped) return;
    let kept = true;
    try {
      kept = await lease.renew(ttlMs);
    } catch (error) {
      options.onError?.(error);
    }
    if (!kept || lease.lost.aborted) {
      stop();
      return;
    }
    schedule();
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void tick(), intervalMs);
    timer.unref();
  };
  if (lease.lost.aborted) return stop;
  lease.lost.addEventListener('abort', stop, { once: true });
  schedule();
  return stop;
}

function checkTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs <= 0)
    throw new RangeError(`A lock ttl must be a positive integer, got ${ttlMs}`);
}
