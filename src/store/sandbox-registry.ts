import { z } from 'zod';
import type { Logger } from '../lib/logger.js';
import type { KeyValueStore } from './key-value-store.js';
import { readValidList } from './typed-value.js';

export const liveSandboxSchema = z.object({
  sandboxId: z.string(),
  provider: z.enum(['local', 'e2b']),
  channel: z.string(),
  threadTs: z.string(),
  repo: z.string(),
  createdAt: z.string(),
  /** When a run last used it; the idle clock starts here. */
  lastActiveAt: z.string(),
  state: z.enum(['running', 'paused']),
  /** Sandbox time billed so far, in ms, up to lastActiveAt (paused time excluded). */
  usedMs: z.number().nonnegative().default(0),
});

export type LiveSandbox = z.infer<typeof liveSandboxSchema>;

const KEY = 'sandboxes';

/**
 * Every sandbox the bot has started and not yet killed. Written right after a create, so no
 * sandbox runs without a record; read by `/ai-dev list`, the idle reaper and unlink.
 */
export class SandboxRegistry {
  constructor(
    private readonly store: KeyValueStore,
    private readonly logger: Logger,
  ) {}

  async list(): Promise<LiveSandbox[]> {
    return readValidList(liveSandboxSchema, await this.store.get(KEY), KEY, this.logger);
  }

  async forChannel(channel: string): Promise<LiveSandbox[]> {
    return (await this.list()).filter((s) => s.channel === channel);
  }

  async get(sandboxId: string): Promise<LiveSandbox | undefined> {
    return (await this.list()).find((s) => s.sandboxId === sandboxId);
  }

  async register(entry: Omit<LiveSandbox, 'createdAt' | 'lastActiveAt' | 'state' | 'usedMs'>): Promise<void> {
    const now = new Date().toISOString();
    await this.change((list) => [
      ...list.filter((s) => s.sandboxId !== entry.sandboxId),
      { ...entry, createdAt: now, lastActiveAt: now, state: 'running', usedMs: 0 },
    ]);
  }

  /** Marks a use of the sandbox: running again, idle clock reset, billed time accumulated. */
  async touch(sandboxId: string, now = Date.now()): Promise<LiveSandbox | undefined> {
    let updated: LiveSandbox | undefined;
    await this.change((list) =>
      list.map((s) => {
        if (s.sandboxId !== sandboxId) return s;
        const since = Date.parse(s.lastActiveAt);
        const billed = s.state === 'running' && Number.isFinite(since) ? Math.max(0, now - since) : 0;
        updated = { ...s, lastActiveAt: new Date(now).toISOString(), state: 'running', usedMs: s.usedMs + billed };
        return updated;
      }),
    );
    return updated;
  }

  async markPaused(sandboxId: string): Promise<void> {
    await this.change((list) => list.map((s) => (s.sandboxId === sandboxId ? { ...s, state: 'paused' } : s)));
  }

  async remove(sandboxId: string): Promise<void> {
    await this.change((list) => list.filter((s) => s.sandboxId !== sandboxId));
  }

  /** One atomic change of the list (bot instances share it); `edit` may run again on a newer list. */
  private async change(edit: (list: LiveSandbox[]) => LiveSandbox[]): Promise<void> {
    await this.store.update(KEY, (raw) => edit(readValidList(liveSandboxSchema, raw, KEY, this.logger)));
  }
}
