import type { RunOutcome, RunTotals } from '../agent/events.js';
import { AbortedError, errorReference } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { QueuedMessage, ThreadState, ThreadStore } from '../store/thread-store.js';
import {
  type ApproveResult,
  type NewThread,
  newThreadState,
  type ResumeResult,
  type RunEngine,
  recordApproval,
  type SubmitResult,
} from './run-engine.js';
import { RunSlots } from './run-slots.js';
import { threadKeyOf } from './thread-key.js';
import { executeRun, type RunnerDeps } from './thread-runner.js';
import { toUserInput } from './user-input.js';

interface ActiveRun {
  controller: AbortController;
  stoppedBy?: string;
}

/**
 * The local run engine of a single bot process (several instances need RUN_ENGINE=restate): one run
 * per thread at a time, in this process. Messages for a thread are queued in the store (a restart keeps
 * them) and reach the model at its next turn or in the next run. Every change to a thread's
 * record goes through ThreadStore.mutate, so no write undoes another.
 */
export class RunCoordinator implements RunEngine {
  /** Threads this process is working on (running, or between runs), or claimed for a launch about to begin. */
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
      /** The clock recovery judges a thread's age by (tests move it forward). */
      recoveryClock?: () => number;
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
    await this.claiming(
      key,
      (claim) =>
        this.deps.threads.mutate(channel, threadTs, (existing) => {
          const state = existing ?? (newThread ? newThreadState(channel, threadTs, newThread) : undefined);
          if (!state) return undefined;
          state.queued.push(message);
          if (this.shuttingDown) {
            // Kept for the next start, whose recovery picks the thread up.
            result = 'queued';
            state.status = 'running';
            return state;
          }
          result = this.claimLaunch(key, claim) ? 'started' : 'queued';
          if (result === 'started') state.status = 'running';
          return state;
        }),
      () => result === 'started',
    );
    if (result === 'started') {
      await beforeStart?.().catch((error: unknown) =>
        this.deps.logger.warn({ err: error }, 'before-start step failed'),
      );
      this.launch(channel, threadTs);
    }
    return result;
  }

  /**
   * Runs a store change that may claim a launch with the claim it is given. The change may run more than
   * once (the store retries it on a newer record), so claiming is idempotent per call; a change that failed,
   * or whose last run did not start anything, gives the claim back.
   */
  private async claiming(
    key: string,
    change: (claim: Promise<void>) => Promise<unknown>,
    started: () => boolean,
  ): Promise<void> {
    // A fresh promise: this call's own mark in `launches`, until the launch puts the run's promise there.
    const claim = Promise.resolve();
    let ok = false;
    try {
      await change(claim);
      ok = true;
    } finally {
      if ((!ok || !started()) && this.launches.get(key) === claim) this.launches.delete(key);
    }
  }

  /** Continues a thread paused on its budget (or interrupted), with a fresh budget of the same size. */
  async resume(channel: string, threadTs: string, user: string): Promise<ResumeResult> {
    const key = threadKeyOf(channel, threadTs);
    let result = 'unknown-thread' as ResumeResult;
    await this.claiming(
      key,
      (claim) =>
        this.deps.threads.mutate(channel, threadTs, (state) => {
          if (!state) return undefined;
          if (state.status !== 'budget-reached' && state.status !== 'interrupted') {
            result = state.status === 'running' ? 'queued' : 'not-paused';
            return undefined;
          }
          if (!this.claimLaunch(key, claim)) {
            result = 'queued';
            return undefined;
          }
          state.queued.push({ user, text: 'Continue where you stopped.', ts: `continue-${Date.now()}` });
          state.status = 'running';
          result = 'started';
          return state;
        }),
      () => result === 'started',
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
    await this.claiming(
      key,
      (claim) =>
        this.deps.threads.mutate(channel, threadTs, (state) => {
          if (!state) return undefined;
          const recorded = recordApproval(state, fingerprint, user, `approve-${Date.now()}`);
          if (recorded !== 'recorded') {
            result = recorded;
            return undefined;
          }
          result = this.claimLaunch(key, claim) ? 'started' : 'queued';
          if (result === 'started') state.status = 'running';
          return state;
        }),
      () => result === 'started',
    );
    if (result === 'started') this.launch(channel, threadTs);
    return result;
  }

  /**
   * At start, after a crash or restart: every thread left `running` is picked up again (same
   * conversation, same sandbox) or, when it is too old, told it was interrupted and given a Retry
   * button. Never silence, never a second PR (publishing is idempotent). Once, at start: this process
   * is the only one running the store's threads.
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
    const now = (this.deps.recoveryClock ?? Date.now)();
    let launched = false;
    let markedInterrupted = false;
    await this.claiming(
      key,
      (claim) =>
        this.deps.threads.mutate(channel, threadTs, (state) => {
          launched = false;
          markedInterrupted = false;
          if (state?.status !== 'running') return undefined;
          if (now - Date.parse(state.updatedAt) > this.deps.limits.maxMinutes * 60_000) {
            markedInterrupted = true;
            return { ...state, status: 'interrupted' };
          }
          if (!this.claimLaunch(key, claim)) return undefined;
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
      () => launched,
    );
    const reporter = this.deps.reporterFor(channel, threadTs);
    if (!launched) {
      if (markedInterrupted) {
        reporter.handle({ type: 'run-end', outcome: { kind: 'interrupted', totals: emptyTotals() } });
      }
      return false;
    }
    reporter.handle({
      type: 'notice',
      text: 'I was restarted in the middle of this run; picking it up where it stopped.',
    });
    this.launch(channel, threadTs);
    return true;
  }

  /** Stops the thread's run at once; false when nothing is running (this process runs every thread). */
  async stop(channel: string, threadTs: string, user: string): Promise<boolean> {
    const run = this.active.get(threadKeyOf(channel, threadTs));
    if (!run || run.controller.signal.aborted) return false;
    run.stoppedBy = user;
    run.controller.abort(new Error(`stopped by ${user}`));
    return true;
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

  /** Marks the thread as launched by this claim; false when something else has it. Called inside a mutate. */
  private claimLaunch(key: string, claim: Promise<void>): boolean {
    const holder = this.launches.get(key);
    if (holder === claim) return true;
    if (this.shuttingDown || holder !== undefined) return false;
    this.launches.set(key, claim);
    return true;
  }

  private launch(channel: string, threadTs: string): void {
    const key = threadKeyOf(channel, threadTs);
    const done: Promise<void> = this.work(channel, threadTs)
      .catch((error: unknown) => this.failThread(channel, threadTs, error))
      .finally(() => {
        this.active.delete(key);
        this.working.delete(done);
        if (this.launches.get(key) === done) this.launches.delete(key);
      });
    this.launches.set(key, done);
    this.working.add(done);
  }

  /** Runs the thread until its queue is empty. */
  private async work(channel: string, threadTs: string): Promise<void> {
    while (await this.runOnce(channel, threadTs)) {
      // Messages arrived after the model's last turn: the next run takes them.
    }
  }

  /** One run; answers whether another should follow. */
  private async runOnce(channel: string, threadTs: string): Promise<boolean> {
    const key = threadKeyOf(channel, threadTs);
    if (this.shuttingDown) return false;
    const taken = await this.takeQueued(channel, threadTs);
    const state = await this.deps.threads.update(channel, threadTs, (s) => ({ ...s, status: 'running' }));
    if (!state || state.pendingInput.length === 0) {
      // Nothing left to do (the thread is gone, or its input was answered by the run before).
      await this.settle(channel, threadTs, 'idle');
      return false;
    }
    const run: ActiveRun = { controller: new AbortController() };
    this.active.set(key, run);
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
      // Decided in the record's atomic update: a message submitted from now on launches a new run.
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
      // Messages still waiting keep it `running`, so the next start's recovery takes them up.
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
