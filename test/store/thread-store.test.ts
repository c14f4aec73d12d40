import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyValueStore } from '../../src/store/key-value-store.js';
import { openStore } from '../../src/store/open-store.js';
import { type ThreadState, ThreadStore, threadKey } from '../../src/store/thread-store.js';
import { captureLogger } from '../helpers/logger.js';

function thread(threadTs: string, overrides: Partial<ThreadState> = {}): ThreadState {
  return {
    channel: 'C1',
    threadTs,
    startedBy: 'U1',
    repos: [{ repo: 'acme/widgets', baseBranch: 'main', branch: 'ai-dev/x', private: true }],
    status: 'idle',
    queued: [],
    pendingInput: [],
    createdAt: '2026-12-01T00:00:00.000Z',
    updatedAt: '2026-12-01T00:00:00.000Z',
    ...overrides,
  };
}

describe('ThreadStore over SQLite', () => {
  let dir: string;
  let store: KeyValueStore;
  let threads: ThreadStore;
  const captured = captureLogger();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'thread-store-'));
    store = await openStore(`sqlite://${join(dir, 'bot.sqlite')}`, captured.logger);
    threads = new ThreadStore(store, captured.logger);
  });
  afterAll(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a thread through mutate, stamps updatedAt and reads it back validated', async () => {
    expect(await threads.get('C1', '1.0001')).toBeUndefined();
    const created = await threads.mutate('C1', '1.0001', (existing) => existing ?? thread('1.0001'));
    expect(created?.threadTs).toBe('1.0001');
    const read = await threads.get('C1', '1.0001');
    expect(read?.repos[0]?.repo).toBe('acme/widgets');
    expect(read?.updatedAt).not.toBe('2026-12-01T00:00:00.000Z');
  });

  it('leaves a thread as it is when the change answers undefined, and update never creates one', async () => {
    await threads.mutate('C1', '1.0002', () => thread('1.0002', { conversationId: 'conv_a' }));
    const same = await threads.update('C1', '1.0002', () => undefined);
    expect(same?.conversationId).toBe('conv_a');
    expect(await threads.update('C1', '1.9999', (s) => ({ ...s, status: 'running' }))).toBeUndefined();
    expect(await threads.get('C1', '1.9999')).toBeUndefined();
  });

  it('loses no write when many changes to one thread race', async () => {
    await threads.mutate('C1', '1.0003', () => thread('1.0003'));
    await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        threads.update('C1', '1.0003', (s) => ({
          ...s,
          queued: [...s.queued, { user: 'U1', text: `m${i}`, ts: `${i}` }],
        })),
      ),
    );
    const texts = (await threads.get('C1', '1.0003'))?.queued.map((m) => m.text) ?? [];
    expect(texts).toHaveLength(25);
    expect(new Set(texts).size).toBe(25);
  });

  it('gives a change a copy: changing it without returning it changes nothing', async () => {
    await threads.mutate('C1', '1.0004', () => thread('1.0004'));
    await threads.update('C1', '1.0004', (s) => {
      s.status = 'running';
      return undefined;
    });
    expect((await threads.get('C1', '1.0004'))?.status).toBe('idle');
  });

  it('tracks the active threads of a channel and the running threads of all channels', async () => {
    await threads.mutate('C2', '2.0001', () => thread('2.0001', { channel: 'C2', status: 'running' }));
    await threads.mutate('C2', '2.0002', () => thread('2.0002', { channel: 'C2', status: 'budget-reached' }));
    await threads.mutate('C2', '2.0003', () => thread('2.0003', { channel: 'C2' }));
    expect((await threads.active('C2')).map((s) => s.threadTs).sort()).toEqual(['2.0001', '2.0002']);
    expect((await threads.running()).map((s) => `${s.channel} ${s.threadTs}`)).toContain('C2 2.0001');

    await threads.update('C2', '2.0001', (s) => ({ ...s, status: 'idle' }));
    expect((await threads.active('C2')).map((s) => s.threadTs)).toEqual(['2.0002']);
    expect((await threads.running()).map((s) => s.threadTs)).not.toContain('2.0001');
  });

  it('treats a corrupt record as absent and says so in the log', async () => {
    await store.set(threadKey('C3', '3.0001'), { channel: 'C3', status: 'exploded' });
    expect(await threads.get('C3', '3.0001')).toBeUndefined();
    expect(captured.lines().some((l) => l.msg === 'corrupt value in store; skipped')).toBe(true);
  });
});
