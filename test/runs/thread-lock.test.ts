import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@keyv/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InProcessThreadLock,
  keepAlive,
  type LockLease,
  LockLostError,
  type LockRedisClient,
  RedisThreadLock,
  type ThreadLock,
} from '../../src/runs/thread-lock.js';
import { StoreError } from '../../src/store/key-value-store.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
/** Keeps this run's keys apart from anything else on the shared Redis server. */
const NAMESPACE = `test-thread-lock-${randomUUID()}`;

const connect = () => createClient({ url: REDIS_URL }).connect();
type RedisClient = Awaited<ReturnType<typeof connect>>;

/** Resolves true as soon as the signal aborts, false when it has not within ms. */
function aborted(signal: AbortSignal, ms: number): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function defined(lease: LockLease | undefined): LockLease {
  if (lease === undefined) throw new Error('expected the lock to be taken');
  return lease;
}

/** The same behaviour is required of both locks; `a` and `b` are two contenders for one thread. */
function lockContract(name: string, contenders: () => { a: ThreadLock; b: ThreadLock }) {
  describe(name, () => {
    const key = () => `thread:${randomUUID()}`;

    it('lets exactly one of two racing contenders in, every time', async () => {
      const { a, b } = contenders();
      const rounds = await Promise.all(
        Array.from({ length: 20 }, async () => {
          const k = key();
          const leases = await Promise.all([a.acquire(k, 5_000), b.acquire(k, 5_000)]);
          const winners = leases.filter((lease) => lease !== undefined);
          await Promise.all(winners.map((lease) => lease.release()));
          return winners.length;
        }),
      );
      expect(rounds).toEqual(Array.from({ length: 20 }, () => 1));
    });

    it('lets the other in once released, and a released lease stays released', async () => {
      const { a, b } = contenders();
      const k = key();
      const first = defined(await a.acquire(k, 5_000));
      expect(await b.acquire(k, 5_000)).toBeUndefined();
      expect(await a.acquire(k, 5_000)).toBeUndefined();
      await first.release();
      await first.release();
      expect(await first.renew(5_000)).toBe(false);
      expect(first.lost.aborted).toBe(false);
      const second = defined(await b.acquire(k, 5_000));
      expect(await first.renew(5_000)).toBe(false);
      await first.release();
      expect(await a.acquire(k, 5_000)).toBeUndefined();
      expect(await second.renew(5_000)).toBe(true);
      await second.release();
    });

    it('lets the other take an expired lease; the old holder can then neither renew nor release it', async () => {
      const { a, b } = contenders();
      const k = key();
      const first = defined(await a.acquire(k, 100));
      expect(await b.acquire(k, 100)).toBeUndefined();
      await sleep(150);
      const second = defined(await b.acquire(k, 5_000));
      expect(first.lost.aborted).toBe(false);
      expect(await first.renew(5_000)).toBe(false);
      expect(first.lost.aborted).toBe(true);
      expect(first.lost.reason).toBeInstanceOf(LockLostError);
      await first.release();
      expect(await a.acquire(k, 5_000)).toBeUndefined();
      expect(await second.renew(5_000)).toBe(true);
      await second.release();
      defined(await a.acquire(k, 100));
    });

    it('renewing extends the lease', async () => {
      const { a, b } = contenders();
      const k = key();
      const lease = defined(await a.acquire(k, 150));
      await sleep(80);
      expect(await lease.renew(1_000)).toBe(true);
      await sleep(150);
      expect(await b.acquire(k, 1_000)).toBeUndefined();
      await lease.release();
    });

    it('keepAlive holds the lock past several time-to-lives, until stopped', async () => {
      const { a, b } = contenders();
      const k = key();
      const lease = defined(await a.acquire(k, 150));
      const stop = keepAlive(lease, 150, 40);
      await sleep(600);
      expect(await b.acquire(k, 150)).toBeUndefined();
      expect(lease.lost.aborted).toBe(false);
      stop();
      await sleep(200);
      defined(await b.acquire(k, 150));
      expect(await lease.renew(150)).toBe(false);
    });

    it('keepAlive stops by itself once the lease is released', async () => {
      const { a } = contenders();
      const lease = defined(await a.acquire(key(), 150));
      let renewals = 0;
      const counted: LockLease = {
        lost: lease.lost,
        release: () => lease.release(),
        renew: (ttlMs) => {
          renewals += 1;
          return lease.renew(ttlMs);
        },
      };
      keepAlive(counted, 150, 20);
      await sleep(70);
      await lease.release();
      await sleep(60);
      const after = renewals;
      await sleep(100);
      expect(renewals).toBe(after);
      expect(lease.lost.aborted).toBe(false);
    });

    it('rejects ttls that are not positive whole milliseconds', async () => {
      const { a } = contenders();
      await expect(a.acquire(key(), 0)).rejects.toBeInstanceOf(RangeError);
      await expect(a.acquire(key(), 1.5)).rejects.toBeInstanceOf(RangeError);
      const lease = defined(await a.acquire(key(), 1_000));
      expect(() => keepAlive(lease, 1_000, 1_000)).toThrow(RangeError);
      await lease.release();
    });
  });
}

lockContract('InProcessThreadLock', () => {
  const lock = new InProcessThreadLock();
  return { a: lock, b: lock };
});

describe('RedisThreadLock', () => {
  // Two clients stand for two bot instances; `admin` plays an operator poking at the keys.
  const clients: RedisClient[] = [];
  let a: RedisThreadLock;
  let b: RedisThreadLock;
  let admin: RedisClient;

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) clients.push(await connect());
    const [first, second, third] = clients as [RedisClient, RedisClient, RedisClient];
    a = new RedisThreadLock(first, { namespace: NAMESPACE });
    b = new RedisThreadLock(second, { namespace: NAMESPACE });
    admin = third;
  });

  afterAll(async () => {
    if (admin !== undefined) {
      for await (const keys of admin.scanIterator({ MATCH: `${NAMESPACE}::*` })) {
        if (keys.length > 0) await admin.del(keys);
      }
    }
    await Promise.all(clients.map((client) => client.close()));
  });

  lockContract('contract, two clients', () => ({ a, b }));

  const key = () => `thread:${randomUUID()}`;

  it('stores the lock at <namespace>::lock:<key> with a native expiry', async () => {
    const k = key();
    const lease = defined(await a.acquire(k, 5_000));
    const ttl = await admin.pTTL(`${NAMESPACE}::lock:${k}`);
    expect(ttl).toBeGreaterThan(4_000);
    expect(ttl).toBeLessThanOrEqual(5_000);
    expect(await admin.get(`${NAMESPACE}::lock:${k}`)).toContain(`:${process.pid}:`);
    await lease.release();
    expect(await admin.exists(`${NAMESPACE}::lock:${k}`)).toBe(0);
  });

  it('fires lost when the key is deleted under a kept-alive lease', async () => {
    const k = key();
    const lease = defined(await a.acquire(k, 300));
    const stop = keepAlive(lease, 300, 40);
    await admin.del(`${NAMESPACE}::lock:${k}`);
    expect(await aborted(lease.lost, 1_000)).toBe(true);
    expect(lease.lost.reason).toBeInstanceOf(LockLostError);
    stop();
  });

  it('fires lost when the key is overwritten, and then leaves the new value alone', async () => {
    const k = key();
    const redisKey = `${NAMESPACE}::lock:${k}`;
    const lease = defined(await a.acquire(k, 300));
    const stop = keepAlive(lease, 300, 40);
    await admin.set(redisKey, 'someone-else', { expiration: { type: 'PX', value: 5_000 } });
    expect(await aborted(lease.lost, 1_000)).toBe(true);
    await lease.release();
    expect(await admin.get(redisKey)).toBe('someone-else');
    stop();
  });

  it('keeps trying while Redis fails, and fires lost once the ttl has run out', async () => {
    const [first] = clients as [RedisClient];
    let failing = false;
    const flaky: LockRedisClient = {
      set: (k, value, options) => (failing ? Promise.reject(new Error('down')) : first.set(k, value, options)),
      eval: (script, options) => (failing ? Promise.reject(new Error('down')) : first.eval(script, options)),
    };
    const lock = new RedisThreadLock(flaky, { namespace: NAMESPACE });
    const lease = defined(await lock.acquire(key(), 200));
    const errors: unknown[] = [];
    const stop = keepAlive(lease, 200, 40, { onError: (error) => errors.push(error) });
    await sleep(100);
    failing = true;
    expect(await aborted(lease.lost, 100)).toBe(false);
    expect(await aborted(lease.lost, 1_000)).toBe(true);
    expect(lease.lost.reason).toBeInstanceOf(LockLostError);
    expect(errors.length).toBeGreaterThan(1);
    expect(errors[0]).toBeInstanceOf(StoreError);
    await expect(lock.acquire(key(), 200)).rejects.toBeInstanceOf(StoreError);
    stop();
    failing = false;
    await lease.release();
  });
});
