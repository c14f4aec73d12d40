import { z } from 'zod';
import type { Logger } from '../lib/logger.js';
import { runSettingsSchema } from './channel-settings.js';
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
  /** Public repos are cloned without any credential. Unknown (older records) counts as private. */
  private: z.boolean().default(true),
  sandboxId: z.string().optional(),
  sandboxProvider: z.enum(['local', 'e2b']).optional(),
  published: z.object({ localSha: z.string(), remoteSha: z.string() }).optional(),
  pr: z.object({ number: z.number().int(), url: z.string() }).optional(),
  /** The link's `--setup` commands, run once in each new sandbox instead of the repo's `.ai-dev/setup.sh`. */
  setup: z.string().optional(),
  /** The link's `--template`: the E2B template of this repo's sandboxes. */
  template: z.string().optional(),
  /** The repo's guidance (AGENTS.md …) was given to the model in this thread. */
  guidanceGiven: z.boolean().optional(),
  /** Gated changes (CI config, gitlinks, outside symlinks) people approved, by fingerprint. */
  approvals: z.array(z.string()).optional(),
  /** Gated changes waiting for an approval: what the Approve button names. */
  pendingApproval: z.object({ fingerprint: z.string(), files: z.array(z.string()) }).optional(),
  /**
   * The CI loop on the thread's PR: the last head whose checks were acted on (so a repeated event or a
   * restart does not act twice), what was reported about it, and the fix attempts made since the last green.
   */
  ci: z
    .object({
      sha: z.string(),
      verdict: z.enum(['success', 'failure', 'gave-up', 'not-fixable']),
      attempts: z.number().int().min(0),
    })
    .optional(),
  /** The tests/build/lint commands the thread ran in this repo, for the PR's Verification section (latest last). */
  verification: z
    .array(
      z.object({
        command: z.string(),
        exitCode: z.number().int(),
        durationMs: z.number(),
        timedOut: z.boolean().optional(),
        output: z.string(),
        phase: z.enum(['before', 'after']),
      }),
    )
    .optional(),
  /** Review follow-ups taken from the PR (their keys, `review:<id>`/`comment:<id>`) and not answered on it yet. */
  reviews: z
    .object({
      handled: z.array(z.string()),
      /** Taken into a run whose end has not been answered on the PR yet (the follow-ups themselves, as JSON). */
      unanswered: z.array(z.string()).default([]),
    })
    .optional(),
});

export const queuedMessageSchema = z.object({ user: z.string(), text: z.string(), ts: z.string() });

export const threadStateSchema = z.object({
  channel: z.string(),
  threadTs: z.string(),
  startedBy: z.string(),
  repos: z.array(threadRepoSchema),
  conversationId: z.string().optional(),
  /** What the mention set for this thread's runs (`budget=`, `model=`, `effort=`); channel defaults fill the rest. */
  settings: runSettingsSchema.optional(),
  /** `interrupted`: the bot stopped mid-run (crash, restart) and did not pick the run up again. */
  /** `awaiting-approval`: publishing waits for a person to approve gated changes. */
  status: z.enum(['idle', 'running', 'budget-reached', 'interrupted', 'awaiting-approval']),
  runId: z.string().optional(),
  /** Messages waiting for the model (arrived during a run, or the next run's input). */
  queued: z.array(queuedMessageSchema),
  /** Tool outputs the conversation still owes the model (a stop or crash between turns). */
  pendingInput: z.array(inputItemSchema),
  permalink: z.string().optional(),
  /** Stop pressed on another bot instance: the one running the thread stops when it sees this. */
  stopRequestedBy: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export type ThreadState = z.infer<typeof threadStateSchema>;
export type ThreadRepo = z.infer<typeof threadRepoSchema>;
export type QueuedMessage = z.infer<typeof queuedMessageSchema>;

const THREAD_TTL_MS = 30 * 24 * 3600_000;
/** Per-thread state: conversation, sandbox per repo, branch, PR, run status and queued messages. */
export class ThreadStore {
  constructor(
    private readonly store: KeyValueStore,
    private readonly logger: Logger,
  ) {}

  async get(channel: string, threadTs: string): Promise<ThreadState | undefined> {
    const key = threadKey(channel, threadTs);
    return readValid(threadStateSchema, await this.store.get(key), key, this.logger);
  }

  /** Read-modify-write of an existing thread; `change` returns undefined to leave it as it is. */
  async update(
    channel: string,
    threadTs: string,
    change: (state: ThreadState) => ThreadState | undefined,
  ): Promise<ThreadState | undefined> {
    return this.mutate(channel, threadTs, (state) => (state ? change(state) : undefined));
  }

  /**
   * The one way to change a thread: an atomic update of its record (across bot instances on Redis), so
   * no write ever undoes another (a queued message, a conversation id). `change` gets its own copy
   * (undefined when the thread does not exist); it may be called again when another instance wrote the
   * record in between, so it must not act on anything but what it answers.
   */
  async mutate(
    channel: string,
    threadTs: string,
    change: (state: ThreadState | undefined) => ThreadState | undefined,
  ): Promise<ThreadState | undefined> {
    const key = threadKey(channel, threadTs);
    let current: ThreadState | undefined;
    let written: ThreadState | undefined;
    await this.store.update(
      key,
      (raw) => {
        current = readValid(threadStateSchema, raw, key, this.logger);
        const next = change(current === undefined ? undefined : structuredClone(current));
        written = next && { ...next, updatedAt: new Date().toISOString() };
        return written;
      },
      THREAD_TTL_MS,
    );
    if (!written) return current;
    await this.trackActive(written);
    return written;
  }

  /** Threads of a channel that are running or waiting for a Continue. */
  async active(channel: string): Promise<ThreadState[]> {
    const key = activeKey(channel);
    const raw = readValid(z.array(z.string()), await this.store.get(key), key, this.logger) ?? [];
    const states = await Promise.all(raw.map((ts) => this.get(channel, ts)));
    return states.filter((s): s is ThreadState => s !== undefined && s.status !== 'idle');
  }

  /** Every thread left in `running` (all channels): after a crash, these are the ones to recover. */
  async running(): Promise<ThreadState[]> {
    const raw = readValid(z.array(z.string()), await this.store.get(RUNNING_KEY), RUNNING_KEY, this.logger) ?? [];
    const states = await Promise.all(
      raw.map((entry) => {
        const [channel = '', threadTs = ''] = entry.split(' ');
        return this.get(channel, threadTs);
      }),
    );
    return states.filter((s): s is ThreadState => s !== undefined && s.status === 'running');
  }

  private async trackActive(state: ThreadState): Promise<void> {
    await this.trackIn(activeKey(state.channel), state.threadTs, state.status !== 'idle');
    await this.trackIn(RUNNING_KEY, `${state.channel} ${state.threadTs}`, state.status === 'running');
  }

  /** The channel's and the running index lists, each changed atomically (bot instances share them). */
  private async trackIn(key: string, entry: string, want: boolean): Promise<void> {
    await this.store.update(key, (raw) => {
      const list = readValid(z.array(z.string()), raw, key, this.logger) ?? [];
      if (list.includes(entry) === want) return undefined;
      return want ? [...list, entry] : list.filter((e) => e !== entry);
    });
  }
}

export const threadKey = (channel: string, threadTs: string) => `thread:${channel}:${threadTs}`;
const activeKey = (channel: string) => `active:${channel}`;
const RUNNING_KEY = 'running-threads';
