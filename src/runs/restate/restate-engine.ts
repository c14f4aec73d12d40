import { randomUUID } from 'node:crypto';
import type { Logger } from '../../lib/logger.js';
import type { QueuedMessage, ThreadStore } from '../../store/thread-store.js';
import {
  type ApproveResult,
  type NewThread,
  newThreadState,
  type ResumeResult,
  type RunEngine,
  recordApproval,
  type SubmitResult,
} from '../run-engine.js';
import { threadKeyOf } from '../thread-key.js';
import type { RestateClient } from './restate-client.js';
import { type LocalRuns, THREAD_OBJECT, type ThreadRunInput } from './thread-object.js';

/**
 * The run engine of several bot instances: a thread's runs are invocations of the `Thread` virtual
 * object on a Restate server, which runs one at a time per thread on any instance and picks a run up
 * on another instance when the one running it dies. The thread's record decides, atomically, whether a
 * message starts a run or waits for the one going on (which takes it at the model's next step).
 */
export class RestateRunEngine implements RunEngine, LocalRuns {
  private readonly running = new Map<string, Set<AbortController>>();
  private readonly settled = new Set<() => void>();

  constructor(private readonly deps: { threads: ThreadStore; client: RestateClient; logger: Logger }) {}

  async submit(
    channel: string,
    threadTs: string,
    message: QueuedMessage,
    newThread?: NewThread,
    beforeStart?: () => Promise<unknown>,
  ): Promise<SubmitResult> {
    let result = 'unknown-thread' as SubmitResult;
    await this.deps.threads.mutate(channel, threadTs, (existing) => {
      const state = existing ?? (newThread ? newThreadState(channel, threadTs, newThread) : undefined);
      if (!state) return undefined;
      state.queued.push(message);
      result = state.status === 'running' ? 'queued' : 'started';
      state.status = 'running';
      return state;
    });
    if (result === 'started') {
      await beforeStart?.().catch((error: unknown) =>
        this.deps.logger.warn({ err: error }, 'before-start step failed'),
      );
    }
    // Every message is an invocation, keyed by the Slack message (a retried delivery, on any instance, is
    // the same one). One that arrives during a run is taken by that run at its next step, and its own
    // invocation then finds nothing to do; but if the instance that started the run died before reaching
    // Restate, this one does the run's work, so no thread stays `running` with nothing running it.
    await this.invoke(channel, threadTs, `message:${channel}:${message.ts}`, result === 'started');
    return result;
  }

  async resume(channel: string, threadTs: string, user: string): Promise<ResumeResult> {
    let result = 'unknown-thread' as ResumeResult;
    const ts = `continue-${randomUUID()}`;
    await this.deps.threads.mutate(channel, threadTs, (state) => {
      if (!state) return undefined;
      if (state.status !== 'budget-reached' && state.status !== 'interrupted') {
        result = state.status === 'running' ? 'queued' : 'not-paused';
        return undefined;
      }
      state.queued.push({ user, text: 'Continue where you stopped.', ts });
      state.status = 'running';
      result = 'started';
      return state;
    });
    if (result === 'started') await this.invoke(channel, threadTs, ts, true);
    return result;
  }

  async approve(channel: string, threadTs: string, fingerprint: string, user: string): Promise<ApproveResult> {
    let result = 'unknown-thread' as ApproveResult;
    const ts = `approve-${randomUUID()}`;
    await this.deps.threads.mutate(channel, threadTs, (state) => {
      if (!state) return undefined;
      const recorded = recordApproval(state, fingerprint, user, ts);
      if (recorded !== 'recorded') {
        result = recorded;
        return undefined;
      }
      result = state.status === 'running' ? 'queued' : 'started';
      state.status = 'running';
      return state;
    });
    if (result === 'started') await this.invoke(channel, threadTs, ts, true);
    return result;
  }

  /** Cancels the invocation that holds the thread, wherever it runs; its step in flight is aborted. */
  async stop(channel: string, threadTs: string, user: string): Promise<boolean> {
    let running = false;
    await this.deps.threads.update(channel, threadTs, (s) => {
      if (s.status !== 'running') return undefined;
      running = true;
      return { ...s, stopRequestedBy: user };
    });
    if (!running) return false;
    const invocation = await this.deps.client.holder(THREAD_OBJECT, threadKeyOf(channel, threadTs));
    if (!invocation) return false;
    return this.deps.client.cancel(invocation);
  }

  /**
   * At start-up: a thread whose record says running while no invocation holds its object was left by an
   * instance that died between writing the record and reaching Restate. It is sent again, so its message
   * does not wait for the thread's next one; instances starting together send it once (the key names the
   * record's version), and a run that does start meanwhile takes the message first, leaving this one idle.
   */
  async adoptOrphans(): Promise<number> {
    let sent = 0;
    for (const state of await this.deps.threads.running()) {
      const key = threadKeyOf(state.channel, state.threadTs);
      if (await this.deps.client.holder(THREAD_OBJECT, key)) continue;
      this.deps.logger.info(
        { channel: state.channel, thread: state.threadTs },
        'a running thread had no run: sending it',
      );
      await this.invoke(state.channel, state.threadTs, `orphan:${key}:${state.updatedAt}`, false);
      sent++;
    }
    return sent;
  }

  isRunning(channel: string, threadTs: string): boolean {
    return (this.running.get(threadKeyOf(channel, threadTs))?.size ?? 0) > 0;
  }

  async idle(): Promise<void> {
    while (this.running.size > 0) await new Promise<void>((resolve) => this.settled.add(resolve));
  }

  /**
   * Nothing to abort here: the runs of this instance end when its endpoint closes (their attempts end,
   * and an attempt that ended journals nothing), and Restate gives them to another instance.
   */
  shutdown(): void {}

  add(key: string, controller: AbortController): void {
    const set = this.running.get(key) ?? new Set();
    set.add(controller);
    this.running.set(key, set);
  }

  remove(key: string, controller: AbortController): void {
    const set = this.running.get(key);
    set?.delete(controller);
    if (set?.size === 0) this.running.delete(key);
    for (const resolve of this.settled) resolve();
    this.settled.clear();
  }

  private async invoke(channel: string, threadTs: string, idempotencyKey: string, starts: boolean): Promise<void> {
    const input: ThreadRunInput = { channel, threadTs };
    try {
      await this.deps.client.send(THREAD_OBJECT, threadKeyOf(channel, threadTs), 'run', input, idempotencyKey);
    } catch (error) {
      // A run going on takes the message anyway.
      if (!starts) return;
      // Nothing will run it: the thread must not look busy for ever.
      await this.deps.threads
        .update(channel, threadTs, (s) => (s.status === 'running' ? { ...s, status: 'idle' } : undefined))
        .catch(() => {});
      throw error;
    }
  }
}
