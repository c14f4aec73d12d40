import type { RunOutcome, RunTotals } from '../agent/events.js';
import { AbortedError, errorReference } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { QueuedMessage, ThreadState, ThreadStore } from '../store/thread-store.js';
import {
  type ApproveResult,
  type NewThread,
  type ResumeResult,
  type RunEngine,
  recordApproval,
  type SubmitResult,
} from './run-engine.js';
import { RunSlots } from './run-slots.js';
import { threadKeyOf } from './thread-key.js';
import { keepAlive, type LockLease, type ThreadLock } from './thread-lock.js';
import { executeRun, type RunnerDeps } from './thread-runner.js';
import { toUserInput } from './user-input.js';

// A crashed instance's lock frees up within LOCK_TTL_MS; the recovery sweep then takes over.
const LOCK_TTL_MS = 20_000;
const LOCK_RENEW_MS = 5_000;
/** A thread that just became `running` is about to be locked by its own instance: leave it be. */
const RECOVERY_GRACE_MS = 10_000;
const LOCK_POLL_MS = 1_000;
/** Marks a thread claimed for a launch whose promise does not exist yet. */
const CLAIMED: Promise<void> = Promise.resolve();

interface ActiveRun {
  controller: AbortController;
  stoppedBy?: string;
}

/**
 * The local run engine: one run per thread at a time, in this process. Messages for a thread are queued in the store (a restart keeps
 * them) and reach the model at its next turn or in the next run. Every change to a thread's
 * record goes through ThreadStore.mutate, so no write undoes another.
 */
export class RunCoordinator implements RunEngine {
  /** Threads this instance is working on (waiting for the lock, running, or between runs). */
  private readonly launches = new Map<string, Promise<void>>();
  /**
   * Every thread's work until its last store write is done. A launch is given back inside that
   * write (so a message arriving after it starts a new run), before the write itself lands.
   */
  private readonly working = new Set<Promise<void>>();
  /** The run in progress of each launched thread, for Stop. */
  private readonly active = new Map<string, ActiveRun>();
  private shuttingDown = false;
  private readonly slots: RunSlots;

  constructor(
    private readonly deps: RunnerDeps & {
      threads: ThreadStore;
      logger: Logger;
      lock: ThreadLock;
      /** With one process (SQLite) no other instance can be about to lock a thread: 0. */
      recoveryGraceMs?: number;
      /** The clock recovery judges a thread's age by (tests move it forward). */
      recoveryClock?: () => number;
      /** With several instances, how often a run looks for a Stop pressed elsewhere (off when unset). */
      stopPollMs?: number;
    },
  ) {
    this.slots = new RunSlots(deps.limits.maxConcurrentRuns);
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
    /** Runs after the message is stored and before the run starts (the first thread reply). */
    beforeStart?: () => Promise<unknown>,
  ): Promise<SubmitResult> {
    const key = threadKeyOf(channel, threadTs);
    let result = 'unknown-thread' as SubmitResult;
    await this.claiming(key, () =>
      this.deps.threads.mutate(channel, threadTs, (existing) => {
        const state = existing ?? (newThread ? freshThread(channel, threadTs, newThread) : undefined);
        if (!state) return undefined;
        state.queued.push(message);
        if (this.shuttingDown) {
          // Kept for the next start, whose recovery picks the thread up.
          result = 'queued';
          state.status = 'running';
          return state;
        }
        result = this.claimLaunch(key) ? 'started' : 'queued';
        if (result === 'started') state.status = 'running';
        return state;
      }),
    );
    if (result === 'started') {
      await beforeStart?.().catch((error: unknown) =>
        this.deps.logger.warn({ err: error }, 'before-start step failed'),
      );
      this.launch(channel, threadTs);
    }
    return result;
  }

  /** Runs a store change that may claim a launch; a failed change gives the claim back. */
  private async claiming<T>(key: string, change: () => Promise<T>): Promise<T> {
    const claimed = this.launches.has(key);
    try {
      return await change();
    } catch (error) {
      if (!claimed && this.launches.get(key) === CLAIMED) this.launches.delete(key);
      throw error;
    }
  }

  /** Continues a thread paused on its budget (or interrupted), with a fresh budget of the same size. */
  async resume(channel: string, threadTs: string, user: string): Promise<ResumeResult> {
    const key = threadKeyOf(channel, threadTs);
    let result = 'unknown-thread' as ResumeResult;
    await this.claiming(key, () =>
      this.deps.threads.mutate(channel, threadTs, (state) => {
        if (!state) return undefined;
        if (state.status !== 'budget-reached' && state.status !== 'interrupted') {
          result = state.status === 'running' ? 'queued' : 'not-paused';
          return undefined;
        }
        if (!this.claimLaunch(key)) {
          result = 'queued';
          return undefined;
        }
        state.queued.push({ user, text: 'Continue where you stopped.', ts: `continue-${Date.now()}` });
        state.status = 'running';
        result = 'started';
        return state;
      }),
    );
    if (result === 'started') this.launch(channel, threadTs);
    return result;
  }

  /**
   * Records a person's approval of gated changes (exactly those the fingerprint names) and goes on:
   * the model is told to publish, in a run started now or at the next turn of the one going on.
   */
  async approve(channel: string, threadTs: string, fingerprint: string, user: string): Promise<ApproveResult> {
    const key = threadKeyOf(channel, threadTs);
    let result = 'unknown-thread' as ApproveResult;
    await this.claiming(key, () =>
      this.deps.threads.mutate(channel, threadTs, (state) => {
        if (!state) return undefined;
        const recorded = recordApproval(state, fingerprint, user, `approve-${Date.now()}`);
        if (recorded !== 'recorded') {
          result = recorded;
          return undefined;
        }
        result = this.claimLaunch(key) ? 'started' : 'queued';
        if (result === 'started') state.status = 'running';
        return state;
      }),
    );
    if (result === 'started') this.launch(channel, threadTs);
    return result;
  }

  /**
   * After a crash or restart: every thread left `running` that no other instance holds is picked
   * up again (same conversation, same sandbox) or, when it is too old, told it was interrupted
   * and given a Retry button. Never silence, never a second PR (publishing is idempotent).
   */
  async recoverAll(): Promise<number> {
    let recovered = 0;
    for (const state of await this.deps.threads.running()) {
      try {
        if (await this.recover(state)) recovered++;
      } catch (error) {
        this.deps.logger.error({ err: error, channel: state.channel, thread: state.threadTs }, 'could not recover');
      }
    }
    return recovered;
  }

  private async recover(stale: ThreadState): Promise<boolean> {
    const { channel, threadTs } = stale;
    const key = threadKeyOf(channel, threadTs);
    if (this.launches.has(key)) return false;
    const grace = this.deps.recoveryGraceMs ?? RECOVERY_GRACE_MS;
    const now = (this.deps.recoveryClock ?? Date.now)();
    if (now - Date.parse(stale.updatedAt) < grace) return false;
    const lease = await this.deps.lock.acquire(key, LOCK_TTL_MS);
    // Held: another bot instance is alive and working on it.
    if (!lease) return false;
    let launched = false;
    let markedInterrupted = false;
    await this.claiming(key, () =>
      this.deps.threads.mutate(channel, threadTs, (state) => {
        if (state?.status !== 'running') return undefined;
        if (!this.claimLaunch(key)) return undefined;
        if (now - Date.parse(state.updatedAt) > this.deps.limits.maxMinutes * 60_000) {
          this.launches.delete(key);
          markedInterrupted = true;
          return { ...state, status: 'interrupted' };
        }
        launched = true;
        if (state.queued.length === 0 && state.pendingInput.length === 0) {
          // It stopped after the model's last answer (while publishing, say): finish the job.
          state.queued.push({
            user: state.startedBy,
            text: 'The bot restarted before the last run finished. Check the state of the work, finish it, and make sure it is published.',
            ts: `restart-${Date.now()}`,
          });
        }
        return state;
      }),
    );
    const reporter = this.deps.reporterFor(channel, threadTs);
    if (!launched) {
      await lease.release().catch(() => {});
      if (markedInterrupted) {
        reporter.handle({ type: 'run-end', outcome: { kind: 'interrupted', totals: emptyTotals() } });
      }
      return false;
    }
    reporter.handle({
      type: 'notice',
      text: 'I was restarted in the middle of this run; picking it up where it stopped.',
    });
    this.launch(channel, threadTs, lease);
    return true;
  }

  /** Stops the thread's run at once; false when nothing was running here. */
  /**
   * Stops the thread's run at once when it runs here; when another bot instance runs it, leaves
   * a stop request in the thread's record, which that instance picks up within a second or two.
   * False when nothing is running anywhere.
   */
  async stop(channel: string, threadTs: string, user: string): Promise<boolean> {
    const run = this.active.get(threadKeyOf(channel, threadTs));
    if (run) {
      if (run.controller.signal.aborted) return false;
      run.stoppedBy = user;
      run.controller.abort(new Error(`stopped by ${user}`));
      return true;
    }
    let requested = false;
    await this.deps.threads.update(channel, threadTs, (s) => {
      if (s.status !== 'running') return undefined;
      requested = true;
      return { ...s, stopRequestedBy: user };
    });
    return requested;
  }

  isRunning(channel: string, threadTs: string): boolean {
    return this.launches.has(threadKeyOf(channel, threadTs));
  }

  /** Waits for every thread this instance is working on (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.launches.size > 0 || this.working.size > 0) {
      await Promise.allSettled([...this.launches.values(), ...this.working]);
      // A claim waiting for its store write is already settled: let the write happen.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Shutdown: aborts every run and leaves its thread `running`, so the next start picks it up. */
  shutdown(): void {
    this.shuttingDown = true;
    for (const run of this.active.values()) run.controller.abort(new Error('the bot is shutting down'));
  }

  /** Marks the thread as launched here; false when it already is. Called inside a mutate. */
  private claimLaunch(key: string): boolean {
    if (this.shuttingDown || this.launches.has(key)) return false;
    this.launches.set(key, CLAIMED);
    return true;
  }

  private launch(channel: string, threadTs: string, lease?: LockLease): void {
    const key = threadKeyOf(channel, threadTs);
    const done: Promise<void> = this.work(channel, threadTs, lease)
      .catch((error: unknown) => this.failThread(channel, threadTs, error))
      .finally(() => {
        this.active.delete(key);
        this.working.delete(done);
        if (this.launches.get(key) === done) this.launches.delete(key);
      });
    this.launches.set(key, done);
    this.working.add(done);
  }

  /**
   * Takes the thread's lock (another bot instance may hold it: its run then picks up the queued
   * messages, or the lock frees up and this instance goes on), runs until the queue is empty.
   */
  private async work(channel: string, threadTs: string, held?: LockLease): Promise<void> {
    const key = threadKeyOf(channel, threadTs);
    const lease = held ?? (await this.acquire(channel, threadTs));
    if (!lease) return;
    const stopRenewing = keepAlive(lease, LOCK_TTL_MS, LOCK_RENEW_MS, {
      onError: (error) => this.deps.logger.warn({ err: error, thread: key }, 'could not renew the thread lock'),
    });
    const onLost = () => this.active.get(key)?.controller.abort(new Error('the thread lock was lost'));
    lease.lost.addEventListener('abort', onLost, { once: true });
    try {
      while (await this.runOnce(channel, threadTs)) {
        // Messages arrived after the model's last turn: the next run takes them.
      }
    } finally {
      stopRenewing();
      lease.lost.removeEventListener('abort', onLost);
      await lease.release().catch((error: unknown) => {
        this.deps.logger.warn({ err: error, thread: key }, 'could not release the thread lock; it will expire');
      });
    }
  }

  /** One run; answers whether another should follow. */
  private async runOnce(channel: string, threadTs: string): Promise<boolean> {
    const key = threadKeyOf(channel, threadTs);
    if (this.shuttingDown) return false;
    const taken = await this.takeQueued(channel, threadTs);
    // Running here from now on (another instance may have written idle meanwhile); a stop
    // request left over from before this run does not stop it.
    const state = await this.deps.threads.update(channel, threadTs, (s) => ({
      ...s,
      status: 'running',
      stopRequestedBy: undefined,
    }));
    if (!state || state.pendingInput.length === 0) {
      // Nothing left to do: another instance answered it while this one waited for the lock.
      await this.settle(channel, threadTs, 'idle');
      return false;
    }
    const run: ActiveRun = { controller: new AbortController() };
    this.active.set(key, run);
    const watch = this.deps.stopPollMs
      ? setInterval(() => void this.checkStopRequest(channel, threadTs, run), this.deps.stopPollMs)
      : undefined;
    watch?.unref();
    let outcome: RunOutcome;
    let release: (() => void) | undefined;
    try {
      release = await this.slots.acquire(run.controller.signal, (ahead) =>
        this.deps.reporterFor(channel, threadTs).handle({
          type: 'notice',
          text: `Queued: ${ahead} run${ahead === 1 ? ' is' : 's are'} ahead of this one on this bot (at most ${this.deps.limits.maxConcurrentRuns} at once); I will start as soon as a place is free.`,
        }),
      );
      outcome = await executeRun(this.deps, state, taken, {
        signal: run.controller.signal,
        stoppedBy: () => run.stoppedBy,
        shuttingDown: () => this.shuttingDown,
        takeQueued: () => this.takeQueued(channel, threadTs),
      });
    } catch (error) {
      if (!(error instanceof AbortedError) || release) throw error;
      // Stopped (or shut down) while waiting for a place: the run never started.
      if (this.shuttingDown) {
        this.launches.delete(key);
        return false;
      }
      outcome = { kind: 'stopped', by: run.stoppedBy, totals: emptyTotals() };
      this.deps.reporterFor(channel, threadTs).handle({ type: 'run-end', outcome });
    } finally {
      release?.();
      if (watch) clearInterval(watch);
      this.active.delete(key);
    }
    if (this.shuttingDown && outcome.kind === 'interrupted') {
      // Left `running` with its pending input: the next start picks it up.
      this.launches.delete(key);
      return false;
    }
    const paused = outcome.kind === 'budget-reached' || outcome.kind === 'awaiting-approval';
    const stopped = outcome.kind === 'stopped';
    let again = false;
    let waiting = 0;
    await this.deps.threads.mutate(channel, threadTs, (latest) => {
      if (!latest) return undefined;
      waiting = latest.queued.length;
      // After a Stop or a budget pause, waiting messages start nothing until someone acts again.
      again = waiting > 0 && !paused && !stopped;
      latest.status = again ? 'running' : paused ? (outcome.kind as 'budget-reached' | 'awaiting-approval') : 'idle';
      // Decided under the record's lock: a message submitted from now on launches a new run.
      if (!again) this.launches.delete(key);
      return latest;
    });
    if (stopped && waiting > 0) {
      this.deps.reporterFor(channel, threadTs).handle({
        type: 'notice',
        text: `${waiting} message${waiting === 1 ? '' : 's'} sent while I was stopping ${waiting === 1 ? 'is' : 'are'} kept: reply in this thread when I should go on, and I will read ${waiting === 1 ? 'it' : 'them'} too.`,
      });
    }
    return again;
  }

  /** A Stop pressed on another instance, left in the record: honour it and clear it. */
  private async checkStopRequest(channel: string, threadTs: string, run: ActiveRun): Promise<void> {
    if (run.controller.signal.aborted) return;
    try {
      const state = await this.deps.threads.get(channel, threadTs);
      const by = state?.stopRequestedBy;
      if (!by) return;
      await this.deps.threads.update(channel, threadTs, (s) => ({ ...s, stopRequestedBy: undefined }));
      run.stoppedBy = by;
      run.controller.abort(new Error(`stopped by ${by}`));
    } catch (error) {
      this.deps.logger.warn({ err: error, channel, threadTs }, 'could not check for a stop request');
    }
  }

  /**
   * Moves the queued messages into the thread's pending model input in one write: from then on
   * they are only dropped once a model request carrying them has succeeded.
   */
  private async takeQueued(channel: string, threadTs: string): Promise<QueuedMessage[]> {
    let taken: QueuedMessage[] = [];
    await this.deps.threads.update(channel, threadTs, (s) => {
      taken = s.queued;
      if (taken.length === 0) return undefined;
      return { ...s, queued: [], pendingInput: [...s.pendingInput, ...taken.map(toUserInput)] };
    });
    return taken;
  }

  private async acquire(channel: string, threadTs: string): Promise<LockLease | undefined> {
    const key = threadKeyOf(channel, threadTs);
    const deadline = Date.now() + (this.deps.limits.maxMinutes + 5) * 60_000;
    while (Date.now() < deadline && !this.shuttingDown) {
      const lease = await this.deps.lock.acquire(key, LOCK_TTL_MS);
      if (lease) return lease;
      // Another instance runs this thread; if it finishes without our messages, this one takes over.
      const state = await this.deps.threads.get(channel, threadTs);
      if (!state || state.queued.length === 0) {
        this.launches.delete(key);
        return undefined;
      }
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS).unref());
    }
    this.deps.logger.error({ thread: key }, 'gave up waiting for the thread lock');
    await this.settle(channel, threadTs, 'idle');
    return undefined;
  }

  private async settle(channel: string, threadTs: string, status: ThreadState['status']): Promise<void> {
    const key = threadKeyOf(channel, threadTs);
    await this.deps.threads.update(channel, threadTs, (s) => {
      this.launches.delete(key);
      return s.queued.length === 0 && s.status === 'running' ? { ...s, status } : undefined;
    });
  }

  /** Something broke outside a run's own error handling: say so in the thread, never stay silent. */
  private async failThread(channel: string, threadTs: string, error: unknown): Promise<void> {
    const reference = errorReference();
    this.deps.logger.error({ err: error, reference, channel, threadTs }, 'thread work crashed');
    this.deps.reporterFor(channel, threadTs).handle({
      type: 'run-end',
      outcome: {
        kind: 'failed',
        reason: 'Something went wrong on my side while handling this thread. Reply here to try again.',
        reference,
        totals: emptyTotals(),
      },
    });
    await this.deps.threads
      // Messages still waiting keep it `running`, so the recovery sweep takes them up.
      .update(channel, threadTs, (s) =>
        s.status === 'running' && s.queued.length === 0 ? { ...s, status: 'idle' } : undefined,
      )
      .catch((storeError: unknown) => this.deps.logger.error({ err: storeError }, 'could not reset the thread'));
  }
}

export function emptyTotals(): RunTotals {
  return {
    turns: 0,
    inputTokens: 0,
    outputTokens: 0,
    totalTokens: 0,
    elapsedMs: 0,
    sandboxMs: 0,
    filesChanged: [],
    commands: [],
  };
}

function freshThread(channel: string, threadTs: string, thread: NewThread): ThreadState {
  const now = new Date().toISOString();
  return {
    channel,
    threadTs,
    startedBy: thread.startedBy,
    repos: thread.repos.map((r) => ({ ...r })),
    ...(thread.settings ? { settings: { ...thread.settings } } : {}),
    status: 'idle',
    queued: [],
    pendingInput: [],
    createdAt: now,
    updatedAt: now,
  };
}
