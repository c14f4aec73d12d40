import { z } from 'zod';
import { KeyedMutex } from '../lib/keyed-mutex.js';
import type { Logger } from '../lib/logger.js';
import type { KeyValueStore } from './key-value-store.js';
import { readValid } from './typed-value.js';

const inputItemSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('message'), role: z.literal('user'), content: z.string() }),
  z.object({ type: z.literal('function_call_output'), call_id: z.string(), output: z.string() }),
]);

export const threadRepoSchema = z.object({
  repo: z.string(),
  baseBranch: z.string(),
  branch: z.string(),
  sandboxId: z.string().optional(),
  sandboxProvider: z.enum(['local', 'e2b']).optional(),
  published: z.object({ localSha: z.string(), remoteSha: z.string() }).optional(),
  pr: z.object({ number: z.number().int(), url: z.string() }).optional(),
});

export const queuedMessageSchema = z.object({ user: z.string(), text: z.string(), ts: z.string() });

export const threadStateSchema = z.object({
  channel: z.string(),
  threadTs: z.string(),
  startedBy: z.string(),
  repos: z.array(threadRepoSchema),
  conversationId: z.string().optional(),
  status: z.enum(['idle', 'running', 'budget-reached']),
  runId: z.string().optional(),
  /** Messages waiting for the model (arrived during a run, or the next run's input). */
  queued: z.array(queuedMessageSchema),
  /** Tool outputs the conversation still owes the model (a stop or crash between turns). */
  pendingInput: z.array(inputItemSchema),
  permalink: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export type ThreadState = z.infer<typeof threadStateSchema>;
export type ThreadRepo = z.infer<typeof threadRepoSchema>;
export type QueuedMessage = z.infer<typeof queuedMessageSchema>;

const THREAD_TTL_MS = 30 * 24 * 3600_000;

/** Per-thread state: conversation, sandbox per repo, branch, PR, run status and queued messages. */
export class ThreadStore {
  private readonly mutex = new KeyedMutex();

  constructor(
    private readonly store: KeyValueStore,
    private readonly logger: Logger,
  ) {}

  async get(channel: string, threadTs: string): Promise<ThreadState | undefined> {
    const key = threadKey(channel, threadTs);
    return readValid(threadStateSchema, await this.store.get(key), key, this.logger);
  }

  async put(state: ThreadState): Promise<void> {
    await this.store.set(
      threadKey(state.channel, state.threadTs),
      { ...state, updatedAt: new Date().toISOString() },
      THREAD_TTL_MS,
    );
    await this.trackActive(state);
  }

  /** Read-modify-write of one thread, serialised within this process. */
  async update(
    channel: string,
    threadTs: string,
    change: (state: ThreadState) => ThreadState | undefined,
  ): Promise<ThreadState | undefined> {
    return this.mutex.run(threadKey(channel, threadTs), async () => {
      const current = await this.get(channel, threadTs);
      if (!current) return undefined;
      const next = change(structuredClone(current));
      if (next) await this.put(next);
      return next ?? current;
    });
  }

  /** Threads of a channel that are running or waiting for a Continue. */
  async active(channel: string): Promise<ThreadState[]> {
    const key = activeKey(channel);
    const raw = readValid(z.array(z.string()), await this.store.get(key), key, this.logger) ?? [];
    const states = await Promise.all(raw.map((ts) => this.get(channel, ts)));
    return states.filter((s): s is ThreadState => s !== undefined && s.status !== 'idle');
  }

  private async trackActive(state: ThreadState): Promise<void> {
    const key = activeKey(state.channel);
    await this.mutex.run(key, async () => {
      const list = readValid(z.array(z.string()), await this.store.get(key), key, this.logger) ?? [];
      const has = list.includes(state.threadTs);
      const want = state.status !== 'idle';
      if (has === want) return;
      await this.store.set(key, want ? [...list, state.threadTs] : list.filter((ts) => ts !== state.threadTs));
    });
  }
}

export const threadKey = (channel: string, threadTs: string) => `thread:${channel}:${threadTs}`;
const activeKey = (channel: string) => `active:${channel}`;
