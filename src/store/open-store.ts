import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type KeyvRedis from '@keyv/redis';
import { createKeyv } from '@keyv/redis';
import KeyvSqlite from '@keyv/sqlite';
import Keyv from 'keyv';
import { KeyedMutex } from '../lib/keyed-mutex.js';
import type { Logger } from '../lib/logger.js';
import { guard } from './guard.js';
import { type KeyValueStore, StoreError } from './key-value-store.js';

const NAMESPACE = 'ai-dev';

/** Opens the store named by STORE_URL: `sqlite://<path>` (folder created) or `redis://…`. */
export async function openStore(url: string, logger: Logger): Promise<KeyValueStore> {
  if (url.startsWith('sqlite://')) return openSqlite(url.slice('sqlite://'.length), logger);
  if (url.startsWith('redis://') || url.startsWith('rediss://')) return openRedis(url, logger);
  throw new StoreError(`STORE_URL must start with sqlite:// or redis://, got ${url.split(':')[0]}:`);
}

async function openSqlite(path: string, logger: Logger): Promise<KeyValueStore> {
  const file = resolve(path);
  await mkdir(dirname(file), { recursive: true });
  const sqlite = new KeyvSqlite({ uri: `sqlite://${file}`, busyTimeout: 5_000 });
  const keyv = new Keyv({
    store: sqlite,
    namespace: NAMESPACE,
    throwOnErrors: true,
  });
  keyv.on('error', (error: unknown) => logger.error({ err: error }, 'sqlite store error'));
  // Fail at start-up, not at the first command, when the file cannot be opened.
  await guard(() => keyv.get('__probe__'), 'open the SQLite store');
  // SQLite serves one process; an in-process lock makes setIfAbsent atomic there.
  const mutex = new KeyedMutex();
  return {
    kind: 'sqlite',
    namespace: NAMESPACE,
    get: (key) => guard(() => keyv.get(key), 'read from the store'),
    set: async (key, value, ttlMs) => {
      await guard(() => keyv.set(key, value, ttlMs), 'write to the store');
    },
    delete: (key) => guard(() => keyv.delete(key), 'delete from the store'),
    setIfAbsent: (key, value, ttlMs) =>
      mutex.run(key, async () => {
        if ((await guard(() => keyv.get(key), 'read from the store')) !== undefined) return false;
        await guard(() => keyv.set(key, value, ttlMs), 'write to the store');
        return true;
      }),
    sweepExpired: async () => {
      // keyv keeps each value as JSON {"value": …, "expires": <epoch ms>}.
      const deleted = (await guard(
        () =>
          sqlite.query(
            `DELETE FROM keyv WHERE json_valid(value) AND json_extract(value, '$.expires') < ? RETURNING key`,
            Date.now(),
          ),
        'sweep expired values',
      )) as unknown[];
      return deleted.length;
    },
    keys: (prefix) => guard(() => keysOf(keyv, prefix), 'list the store’s keys'),
    close: () => keyv.disconnect(),
  };
}

async function openRedis(rawUrl: string, logger: Logger): Promise<KeyValueStore> {
  // `?namespace=name` lets several deployments (or test runs) share one Redis without meeting.
  const parsed = new URL(rawUrl);
  const namespace = parsed.searchParams.get('namespace') || NAMESPACE;
  parsed.searchParams.delete('namespace');
  const url = parsed.toString();
  let connectedOnce = false;
  const keyv = createKeyv(
    {
      url,
      // Commands fail at once while Redis is away instead of queueing without bound.
      disableOfflineQueue: true,
      socket: {
        connectTimeout: 5_000,
        // At start-up a Redis that is not there is a configuration problem: give up after a few
        // tries. Later an outage is transient: keep reconnecting, backing off to 5 s.
        reconnectStrategy: (retries: number, cause: Error) => {
          if (!connectedOnce && retries >= 3) return cause;
          return Math.min(100 * 2 ** retries, 5_000);
        },
      },
    },
    { namespace, throwOnErrors: true },
  );
  keyv.on('error', (error: unknown) => logger.error({ err: error }, 'redis store error'));
  await guard(() => keyv.get('__probe__'), 'connect to Redis');
  connectedOnce = true;
  const adapter = keyv.store as { client: RedisLike; createKeyPrefix(key: string, namespace?: string): string };
  return {
    kind: 'redis',
    namespace,
    get: (key) => guard(() => keyv.get(key), 'read from the store'),
    set: async (key, value, ttlMs) => {
      await guard(() => keyv.set(key, value, ttlMs), 'write to the store');
    },
    delete: (key) => guard(() => keyv.delete(key), 'delete from the store'),
    setIfAbsent: async (key, value, ttlMs) => {
      // Written in keyv's own envelope so that get() reads it back like any other value.
      const raw = JSON.stringify({ value, expires: Date.now() + ttlMs });
      const result = await guard(
        () => adapter.client.set(adapter.createKeyPrefix(key, namespace), raw, { NX: true, PX: ttlMs }),
        'write to the store',
      );
      return result === 'OK';
    },
    sweepExpired: async () => 0,
    keys: (prefix) => guard(() => keysOf(keyv, prefix), 'list the store’s keys'),
    redisClient: () => (keyv.store as KeyvRedis<unknown>).client,
    close: () => keyv.disconnect(),
  };
}

/** Keys of the namespace (keyv's iterator strips the namespace) that start with `prefix`. */
async function keysOf(keyv: Keyv, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  if (!keyv.iterator) return keys;
  for await (const [key] of keyv.iterator(keyv.namespace)) {
    if (typeof key === 'string' && key.startsWith(prefix)) keys.push(key);
  }
  return keys;
}

interface RedisLike {
  set(key: string, value: string, options: { NX: true; PX: number }): Promise<string | null>;
}
