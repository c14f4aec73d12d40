import type { RunOutcome } from '../agent/events.js';
import { KeyedMutex } from '../lib/keyed-mutex.js';
import type { Logger } from '../lib/logger.js';
import type { QueuedMessage, ThreadRepo, ThreadState, ThreadStore } from '../store/thread-store.js';
import { keepAlive, type LockLease, type ThreadLock } from './thread-lock.js';
import { executeRun, type RunnerDeps } from './thread-runner.js';

const LOCK_TTL_MS = 60_000;
const LOCK_RENEW_MS = 15_000;
const LOCK_POLL_MS = 1_000;

export interface NewThread {
  startedBy: string;
  repos: Array<Omit<ThreadRepo, 'sandboxId' | 'sandboxProvider' | 'published' | 'pr'>>;
}

export type SubmitResult = 'started' | 'queued' | 'unknown-thread';

interface ActiveRun {
  controller: AbortController;
  stoppedBy?: string;
  done: Promise<void>;
}

/**
 * One run per thread at a time. Messages for a thread that is running are queued (in the
 * store, so a restart keeps them) and reach the model at its next turn or in the next run.
 */
export class RunCoordinator {
  private readonly active = new Map<string, ActiveRun>();
  private readonly mutex = new KeyedMutex();

  constructor(
    private readonly deps: RunnerDeps & { threads: ThreadStore; logger: Logger; lock: ThreadLock },
    private readonly onRunEnd: (channel: string, threadTs: string, outcome: RunOutcome) => void = () => {},
  ) {}

  /** Whether a thread is known (a reply in it is a follow-up). */
  async knows(channel: string, threadTs: string): Promise<boolean> {
    return (await this.deps.threads.get(channel, threadTs)) !== undefined;
  }

  /**
   * Hands a message to a thread: creates the thread when `newThread` is given and it does not
   * exist yet, queues the message, and starts a run unless one is going.
   */
  async submit(
    channel: string,
    threadTs: string,
    message: QueuedMessage,
    newThread?: NewThread,
  ): Promise<SubmitResult> {
    const key = `${channel}:${threadTs}`;
    return this.mutex.run(key, async () => {
      let state = await this.deps.threads.get(channel, threadTs);
      if (!state) {
        if (!newThread) return 'unknown-thread';
        const now = new Date().toISOString();
        state = {
          channel,
          threadTs,
          startedBy: newThread.startedBy,
          repos: newThread.repos.map((r) => ({ ...r })),
          status: 'idle',
          queued: [],
          pendingInput: [],
          createdAt: now,
          updatedAt: now,
        };
      }
      state.queued.push(message);
      if (this.active.has(key)) {
        await this.deps.threads.put(state);
        return 'queued';
      }
      state.status = 'running';
      await this.deps.threads.put(state);
      this.launch(channel, threadTs);
      return 'started';
    });
  }

  /** Continues a thread that paused on its budget, with a fresh budget and no new message. */
  async resume(channel: string, threadTs: string): Promise<SubmitResult> {
    const key = `${channel}:${threadTs}`;
    return this.mutex.run(key, async () => {
      const state = await this.deps.threads.get(channel, threadTs);
      if (!state) return 'unknown-thread';
      if (this.active.has(key)) return 'queued';
      state.queued.push({ user: state.startedBy, text: 'Continue where you stopped.', ts: `continue-${Date.now()}` });
      state.status = 'running';
      await this.deps.threads.put(state);
      this.launch(channel, threadTs);
      return 'started';
    });
  }

  /** Stops the thread's run at once; false when nothing was running. */
  stop(channel: string, threadTs: string, user: string): boolean {
    const run = this.active.get(`${channel}:${threadTs}`);
    if (!run || run.controller.signal.aborted) return false;
    run.stoppedBy = user;
    run.controller.abort(new Error(`stopped by ${user}`));
    return true;
  }

  isRunning(channel: string, threadTs: string): boolean {
    return this.active.has(`${channel}:${threadTs}`);
  }

  /** Waits for every run in progress (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.active.size > 0) await Promise.all([...this.active.values()].map((r) => r.done));
  }

  /** Aborts every run (shutdown). */
  stopAll(reason: string): void {
    for (const run of this.active.values()) run.controller.abort(new Error(reason));
  }

  private launch(channel: string, threadTs: string): void {
    const key = `${channel}:${threadTs}`;
    const controller = new AbortController();
    const run: ActiveRun = { controller, done: Promise.resolve() };
    this.active.set(key, run);
    run.done = this.runUntilQueueEmpty(channel, threadTs, run)
      .catch((error: unknown) => this.deps.logger.error({ err: error, channel, threadTs }, 'thread run crashed'))
      .finally(() => {
        if (this.active.get(key) === run) this.active.delete(key);
      });
  }

  /**
   * Takes the thread's lock (another bot instance may be running it; then its run picks up the
   * queued messages, or the lock frees up and this instance does), runs, and lets go.
   */
  private async runUntilQueueEmpty(channel: string, threadTs: string, first: ActiveRun): Promise<void> {
    const key = `${channel}:${threadTs}`;
    const lease = await this.acquire(key, first.controller.signal);
    if (!lease) {
      this.active.delete(key);
      return;
    }
    const stopRenewing = keepAlive(lease, LOCK_TTL_MS, LOCK_RENEW_MS, {
      onError: (error) => this.deps.logger.warn({ err: error, thread: key }, 'could not renew the thread lock'),
    });
    const onLost = () => this.active.get(key)?.controller.abort(new Error('the thread lock was lost'));
    lease.lost.addEventListener('abort', onLost, { once: true });
    try {
      await this.runWhileQueued(channel, threadTs, first);
    } finally {
      stopRenewing();
      lease.lost.removeEventListener('abort', onLost);
      await lease.release().catch((error: unknown) => {
        this.deps.logger.warn({ err: error, thread: key }, 'could not release the thread lock; it will expire');
      });
    }
  }

  private async acquire(key: string, signal: AbortSignal): Promise<LockLease | undefined> {
    const deadline = Date.now() + (this.deps.limits.maxMinutes + 5) * 60_000;
    while (!signal.aborted && Date.now() < deadline) {
      const lease = await this.deps.lock.acquire(key, LOCK_TTL_MS);
      if (lease) return lease;
      // Another instance runs this thread; if it finishes without our message, we take over.
      const state = await this.deps.threads.get(...splitKey(key));
      if (!state || state.queued.length === 0) return undefined;
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
    }
    return undefined;
  }

  private async runWhileQueued(channel: string, threadTs: string, first: ActiveRun): Promise<void> {
    const key = `${channel}:${threadTs}`;
    let run = first;
    while (true) {
      const taken = await this.takeQueued(channel, threadTs);
      const state = await this.deps.threads.get(channel, threadTs);
      if (!state) return;
      // Another instance already answered everything that was queued while this one waited.
      if (taken.length === 0 && state.pendingInput.length === 0) {
        await this.mutex.run(key, async () => {
          await this.deps.threads.update(channel, threadTs, (s) =>
            s.queued.length === 0 && s.status === 'running' ? { ...s, status: 'idle' } : undefined,
          );
          this.active.delete(key);
        });
        return;
      }
      const outcome = await executeRun(this.deps, state, taken, {
        signal: run.controller.signal,
        stoppedBy: () => run.stoppedBy,
        takeQueued: () => this.takeQueued(channel, threadTs),
      });
      this.onRunEnd(channel, threadTs, outcome);
      const again = await this.mutex.run(key, async () => {
        const latest = await this.deps.threads.get(channel, threadTs);
        if (!latest) return false;
        // After a Stop or a budget pause, waiting messages start nothing until someone acts again.
        const more = latest.queued.length > 0 && outcome.kind !== 'budget-reached' && outcome.kind !== 'stopped';
        latest.status = more ? 'running' : outcome.kind === 'budget-reached' ? 'budget-reached' : 'idle';
        await this.deps.threads.put(latest);
        if (!more) this.active.delete(key);
        return more;
      });
      if (!again) return;
      // A message that arrived after the model's last turn starts the next run on a fresh signal.
      run = { controller: new AbortController(), done: first.done };
      this.active.set(key, run);
    }
  }

  private async takeQueued(channel: string, threadTs: string): Promise<QueuedMessage[]> {
    let taken: QueuedMessage[] = [];
    await this.mutex.run(`${channel}:${threadTs}`, async () => {
      await this.deps.threads.update(channel, threadTs, (s: ThreadState) => {
        taken = s.queued;
        if (taken.length === 0) return undefined;
        return { ...s, queued: [] };
      });
    });
    return taken;
  }
}

function splitKey(key: string): [string, string] {
  const index = key.indexOf(':');
  return [key.slice(0, index), key.slice(index + 1)];
}
