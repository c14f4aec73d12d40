import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
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
  // SQLite serves one process; an in-process lock makes setIfAbsent and update atomic there.
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
    update: (key, change, ttlMs) =>
      mutex.run(key, async () => {
        const current = await guard(() => keyv.get(key), 'read from the store');
        const next = change(current);
        if (next === undefined) return current;
        await guard(() => keyv.set(key, next, ttlMs), 'write to the store');
        return next;
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
  // keyv's own envelope and serializer, so that get() reads back what these write like any other value.
  const encode = async (value: unknown, ttlMs: number | undefined) => {
    const envelope = { value, expires: ttlMs ? Date.now() + ttlMs : undefined };
    return keyv.serialize ? await keyv.serialize(envelope) : JSON.stringify(envelope);
  };
  const decode = async (raw: string | null): Promise<unknown> => {
    if (raw === null) return undefined;
    const envelope = keyv.deserialize ? await keyv.deserialize(raw) : JSON.parse(raw);
    if (typeof envelope?.expires === 'number' && envelope.expires < Date.now()) return undefined;
    return envelope?.value;
  };
  // Writes made from this process to one key go one after the other; only another instance's write
  // in between makes a compare-and-set fail.
  const mutex = new KeyedMutex();
  return {
    kind: 'redis',
    namespace,
    get: (key) => guard(() => keyv.get(key), 'read from the store'),
    set: async (key, value, ttlMs) => {
      await guard(() => keyv.set(key, value, ttlMs), 'write to the store');
    },
    delete: (key) => guard(() => keyv.delete(key), 'delete from the store'),
    setIfAbsent: async (key, value, ttlMs) => {
      const raw = await encode(value, ttlMs);
      const result = await guard(
        () => adapter.client.set(adapter.createKeyPrefix(key, namespace), raw, { NX: true, PX: ttlMs }),
        'write to the store',
      );
      return result === 'OK';
    },
    update: (key, change, ttlMs) =>
      mutex.run(key, async () => {
        const redisKey = adapter.createKeyPrefix(key, namespace);
        for (let attempt = 1; ; attempt++) {
          const raw = await guard(() => adapter.client.get(redisKey), 'read from the store');
          const current = await decode(raw);
          const next = change(current);
          if (next === undefined) return current;
          const written = await encode(next, ttlMs);
          const swapped = await guard(
            () =>
              adapter.client.eval(COMPARE_AND_SET, {
                keys: [redisKey],
                arguments: [raw === null ? '0' : '1', raw ?? '', written, ttlMs ? String(ttlMs) : ''],
              }),
            'write to the store',
          );
          if (Number(swapped) === 1) return next;
          if (attempt >= UPDATE_ATTEMPTS) {
            throw new StoreError(`Could not update ${key}: other bot instances kept changing it`);
          }
          // Another instance wrote in between: read its value and apply the change to it, after a
          // short random pause so that two writers do not keep colliding.
          await sleep(Math.random() * 5 * attempt);
        }
      }),
    sweepExpired: async () => 0,
    keys: (prefix) => guard(() => keysOf(keyv, prefix), 'list the store’s keys'),
    close: () => keyv.disconnect(),
  };
}

const UPDATE_ATTEMPTS = 50;

/**
 * Writes ARGV[3] (expiring after ARGV[4] ms unless empty) only if the key still holds what was read:
 * nothing when ARGV[1] is 0, else exactly ARGV[2].
 */
const COMPARE_AND_SET = `local current = redis.call('GET', KEYS[1])
if ARGV[1] == '0' then
  if current then return 0 end
elseif current ~= ARGV[2] then
  return 0
end
if ARGV[4] == '' then
  redis.call('SET', KEYS[1], ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
end
return 1`;

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
  get(key: string): Promise<string | null>;
  set(key: string, value: string, options: { NX: true; PX: number }): Promise<string | null>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}
