import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyValueStore } from '../../src/store/key-value-store.js';
import { type ChannelLink, LinkStore } from '../../src/store/link-store.js';
import { openStore } from '../../src/store/open-store.js';
import { captureLogger } from '../helpers/logger.js';

const REDIS_URL = 'redis://127.0.0.1:6379';

const link = (repo: string): ChannelLink => ({
  repo,
  defaultBranch: 'main',
  private: false,
  linkedBy: 'U1',
  linkedAt: '2026-11-24T00:00:00.000Z',
});

/** The same behaviour is required of both backends. */
function storeContract(name: string, open: () => Promise<KeyValueStore>) {
  describe(name, () => {
    let store: KeyValueStore;
    const captured = captureLogger();
    // Unique channel ids keep runs on the shared Redis server apart.
    const channel = () => `C${randomUUID().replaceAll('-', '').slice(0, 10).toUpperCase()}`;

    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store.close();
    });

    it('adds, lists, refreshes and removes links, comparing names case-insensitively', async () => {
      const links = new LinkStore(store, captured.logger);
      const c = channel();
      expect(await links.list(c)).toEqual([]);
      expect(await links.add(c, link('acme/widgets'))).toBe('added');
      expect(await links.add(c, link('acme/gadgets'))).toBe('added');
      expect(await links.add(c, { ...link('Acme/Widgets'), defaultBranch: 'trunk' })).toBe('updated');
      expect((await links.list(c)).map((l) => [l.repo, l.defaultBranch])).toEqual([
        ['Acme/Widgets', 'trunk'],
        ['acme/gadgets', 'main'],
      ]);
      expect((await links.find(c, 'ACME/gadgets'))?.repo).toBe('acme/gadgets');
      expect((await links.remove(c, 'acme/widgets'))?.repo).toBe('Acme/Widgets');
      expect(await links.remove(c, 'acme/widgets')).toBeUndefined();
      expect((await links.list(c)).map((l) => l.repo)).toEqual(['acme/gadgets']);
    });

    it('keeps concurrent links to one channel', async () => {
      const links = new LinkStore(store, captured.logger);
      const c = channel();
      await Promise.all(Array.from({ length: 10 }, (_, i) => links.add(c, link(`acme/r${i}`))));
      expect((await links.list(c)).length).toBe(10);
    });

    it('reports and skips corrupt values instead of crashing', async () => {
      const links = new LinkStore(store, captured.logger);
      const c = channel();
      await store.set(`links:${c}`, [link('acme/good'), { repo: 42 }, 'junk']);
      expect((await links.list(c)).map((l) => l.repo)).toEqual(['acme/good']);
      const c2 = channel();
      await store.set(`links:${c2}`, { not: 'a list' });
      expect(await links.list(c2)).toEqual([]);
      const reports = captured.lines().filter((l) => String(l.msg).startsWith('corrupt'));
      expect(reports.map((r) => r.key)).toEqual(
        expect.arrayContaining([`links:${c}[1]`, `links:${c}[2]`, `links:${c2}`]),
      );
    });

    it('sets a value only once with setIfAbsent, and expires it', async () => {
      const key = `claim:${randomUUID()}`;
      const results = await Promise.all(Array.from({ length: 5 }, () => store.setIfAbsent(key, { by: 'x' }, 300)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.get(key)).toEqual({ by: 'x' });
      await new Promise((r) => setTimeout(r, 400));
      expect(await store.get(key)).toBeUndefined();
      expect(await store.setIfAbsent(key, 1, 1000)).toBe(true);
    });

    it('updates a value atomically, leaves it when the change answers undefined, and expires it', async () => {
      const key = `counter:${randomUUID()}`;
      await Promise.all(
        Array.from({ length: 20 }, () => store.update(key, (n) => (typeof n === 'number' ? n + 1 : 1), 400)),
      );
      expect(await store.get(key)).toBe(20);
      expect(await store.update(key, () => undefined)).toBe(20);
      // Strings that keyv's serializer escapes (a leading colon) come back as they went in.
      await store.update(key, () => ({ text: ':tada: done', list: [':x'] }), 400);
      expect(await store.get(key)).toEqual({ text: ':tada: done', list: [':x'] });
      await new Promise((r) => setTimeout(r, 500));
      expect(await store.get(key)).toBeUndefined();
      expect(await store.update(key, (current) => (current === undefined ? 'fresh' : 'stale'))).toBe('fresh');
    });
  });
}

describe('stores', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ai-dev-store-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  storeContract('SQLite (folder created on first open)', () =>
    openStore(`sqlite://${join(dir, 'nested', 'deeper', 'bot.sqlite')}`, captureLogger().logger),
  );
  storeContract('Redis on 127.0.0.1:6379', () => openStore(REDIS_URL, captureLogger().logger));

  it('loses no change when two bot instances update one Redis key at once', async () => {
    // Two connections stand for two instances: their in-process queues do not see each other, so
    // only the compare-and-set keeps one's write from undoing the other's.
    const namespace = `race-${randomUUID()}`;
    const [a, b] = await Promise.all([
      openStore(`${REDIS_URL}?namespace=${namespace}`, captureLogger().logger),
      openStore(`${REDIS_URL}?namespace=${namespace}`, captureLogger().logger),
    ]);
    try {
      const append = (store: KeyValueStore, entry: string) =>
        store.update('list', (current) => [...(Array.isArray(current) ? current : []), entry]);
      await Promise.all(Array.from({ length: 40 }, (_, i) => [append(a, `a${i}`), append(b, `b${i}`)]).flat());
      const list = (await a.get('list')) as string[];
      expect(list).toHaveLength(80);
      expect(new Set(list).size).toBe(80);
      // Each instance's own writes keep their order.
      expect(list.filter((e) => e.startsWith('a'))).toEqual(Array.from({ length: 40 }, (_, i) => `a${i}`));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('sweeps expired values out of SQLite (which only drops them when read)', async () => {
    const store = await openStore(`sqlite://${join(dir, 'sweep.sqlite')}`, captureLogger().logger);
    try {
      await store.set('short', 1, 20);
      await store.set('long', 2, 60_000);
      await store.set('forever', 3);
      await new Promise((r) => setTimeout(r, 60));
      expect(await store.sweepExpired()).toBe(1);
      expect(await store.sweepExpired()).toBe(0);
      expect(await store.get('long')).toBe(2);
      expect(await store.get('forever')).toBe(3);
    } finally {
      await store.close();
    }
  });

  it('keeps links across a reopen of the same SQLite file', async () => {
    const url = `sqlite://${join(dir, 'restart.sqlite')}`;
    const first = await openStore(url, captureLogger().logger);
    await new LinkStore(first, captureLogger().logger).add('C1', link('acme/widgets'));
    await first.close();
    const second = await openStore(url, captureLogger().logger);
    expect((await new LinkStore(second, captureLogger().logger).list('C1')).map((l) => l.repo)).toEqual([
      'acme/widgets',
    ]);
    await second.close();
  });

  it('keeps deployments apart on one Redis with ?namespace=', async () => {
    const a = await openStore(`${REDIS_URL}?namespace=test-a-${randomUUID()}`, captureLogger().logger);
    const b = await openStore(`${REDIS_URL}?namespace=test-b-${randomUUID()}`, captureLogger().logger);
    try {
      await a.set('shared-key', 'from a');
      expect(await b.get('shared-key')).toBeUndefined();
      expect(await a.get('shared-key')).toBe('from a');
      expect(a.namespace).not.toBe(b.namespace);
    } finally {
      await a.delete('shared-key');
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('fails clearly when the store cannot be opened', async () => {
    await expect(openStore('redis://127.0.0.1:1', captureLogger().logger)).rejects.toThrow(
      /Could not connect to Redis/,
    );
  });
});
