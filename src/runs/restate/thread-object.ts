import * as restate from '@restatedev/restate-sdk';
import type { RunEvent, RunOutcome } from '../../agent/events.js';
import type { StepRunner } from '../../agent/loop.js';
import { AbortedError, errorMessage } from '../../lib/errors.js';
import type { QueuedMessage, ThreadStore } from '../../store/thread-store.js';
import { emptyTotals } from '../coordinator.js';
import type { RunReporter } from '../ports.js';
import { threadKeyOf } from '../thread-key.js';
import { executeRun, type RunnerDeps } from '../thread-runner.js';
import { toUserInput } from '../user-input.js';

const PICKED_UP =
  'The bot instance running this stopped in the middle of the run; another one picked it up where it stopped.';
const PICKED_UP_LATE = 'picked up after RUN_MAX_MINUTES had passed';

/** The virtual object that owns a Slack thread's runs, keyed by `<channel>:<thread ts>`. */
export const THREAD_OBJECT = 'Thread';

export interface ThreadRunInput {
  channel: string;
  threadTs: string;
}

/** What this instance is running right now (Stop, `isRunning`, shutdown). */
export interface LocalRuns {
  add(key: string, controller: AbortController): void;
  remove(key: string, controller: AbortController): void;
}

/**
 * `Thread.run` is exclusive per key: Restate runs one at a time per thread, on whichever instance it
 * reaches, and queues the others. Every model request, tool call and store decision is a journaled
 * step, so when the instance dies Restate runs the handler again on another one, which replays the
 * finished steps from the journal (no tool call run twice, nothing appended twice) and goes on.
 * Messages that arrive during the run wait in the thread's record (atomic store updates) and are taken
 * at the model's next step; Stop is a cancellation of the invocation from any instance.
 */
export interface IdleReaping {
  /** A thread's sandboxes are released this long after its last run ended (unless another run began). */
  idleMs: number;
  /** Releases the thread's sandboxes (pause or kill, as SANDBOX_IDLE_ACTION says); answers how many. */
  releaseThread: (channel: string, threadTs: string) => Promise<number>;
}

interface ReapInput extends ThreadRunInput {
  /** Which run's end scheduled it: a later run's end makes it stale. */
  token: string;
}

const REAP_TOKEN = 'reap-token';

export function threadObject(
  deps: RunnerDeps & { threads: ThreadStore },
  local: LocalRuns,
  reaping: IdleReaping,
  /** The clock a run picked up after a crash is judged late by (tests move it forward). */
  clock: () => number = Date.now,
) {
  // A step (a command in the sandbox) may take up to a run's whole wall time: Restate must neither
  // suspend nor abort the attempt while one is going.
  const stepBudgetMs = (deps.limits.maxMinutes + 5) * 60_000;
  return restate.object({
    name: THREAD_OBJECT,
    handlers: {
      run: async (ctx: restate.ObjectContext, input: ThreadRunInput): Promise<void> => {
        try {
          await runThread(ctx, deps, local, input, clock);
        } finally {
          if (!ctx.request().attemptCompletedSignal.aborted) scheduleReap(ctx, input, reaping.idleMs);
        }
      },
      /**
       * The idle-sandbox timer: one delayed call per thread, kept by Restate across restarts. Exclusive, so
       * it waits behind a run going on; the run's end schedules a newer one, and this one then does nothing.
       */
      reap: async (ctx: restate.ObjectContext, input: ReapInput): Promise<void> => {
        if ((await ctx.get<string>(REAP_TOKEN)) !== input.token) return;
        ctx.clear(REAP_TOKEN);
        await ctx.run('release-sandboxes', () => reaping.releaseThread(input.channel, input.threadTs));
      },
    },
    options: { inactivityTimeout: stepBudgetMs, abortTimeout: stepBudgetMs },
  });
}

function scheduleReap(ctx: restate.ObjectContext, { channel, threadTs }: ThreadRunInput, idleMs: number): void {
  const token = ctx.request().id;
  ctx.set(REAP_TOKEN, token);
  ctx.genericSend<ReapInput>({
    service: THREAD_OBJECT,
    method: 'reap',
    key: ctx.key,
    parameter: { channel, threadTs, token },
    inputSerde: restate.serde.json,
    delay: idleMs,
  });
}

async function runThread(
  ctx: restate.ObjectContext,
  deps: RunnerDeps & { threads: ThreadStore },
  local: LocalRuns,
  { channel, threadTs }: ThreadRunInput,
  clock: () => number,
): Promise<void> {
  const { threads } = deps;
  const key = threadKeyOf(channel, threadTs);
  const log = deps.logger.child({ channel, thread: threadTs, invocation: ctx.request().id });
  const controller = new AbortController();
  // Once this attempt is over (the connection dropped, this instance is shutting down, Restate moved the
  // run elsewhere) nothing it does is journaled any more: its work stops and it says nothing in the thread.
  const attempt = ctx.request().attemptCompletedSignal;
  let attemptOver = attempt.aborted;
  const onAttemptEnd = () => {
    attemptOver = true;
    controller.abort(new AbortedError('the attempt ended'));
  };
  attempt.addEventListener('abort', onAttemptEnd, { once: true });
  local.add(key, controller);
  let stoppedBy: string | undefined;
  let cancelled = false;
  const takeStop = async () => {
    if (cancelled) return;
    cancelled = true;
    stoppedBy = (await threads.get(channel, threadTs).catch(() => undefined))?.stopRequestedBy ?? 'someone';
    controller.abort(new AbortedError(`stopped by ${stoppedBy}`));
  };
  // The journal replays what an instance that died had done; the first step past it is where this one
  // picks the run up. A run picked up after its RUN_MAX_MINUTES (a long outage) is not resumed by itself:
  // it ends as interrupted, with Retry.
  const internal = ctx as unknown as restate.internal.ContextInternal;
  let replaying = false;
  let roundStartedAt: number | undefined;
  let pickedUpLate = false;
  /** True for the first step past a replayed journal: the one this attempt picks the run up at. */
  const checkPickUp = (): boolean => {
    if (!internal.isProcessing()) {
      replaying = true;
      return false;
    }
    if (!replaying) return false;
    replaying = false;
    if (roundStartedAt === undefined || clock() - roundStartedAt <= deps.limits.maxMinutes * 60_000) return true;
    pickedUpLate = true;
    controller.abort(new AbortedError(PICKED_UP_LATE));
    throw new AbortedError(PICKED_UP_LATE);
  };
  const step: StepRunner = async (name, work) => {
    const pickedUp = checkPickUp();
    // The error a step throws is journaled as a terminal failure (no retry: the loop decides what a
    // failure means); this attempt keeps the original, with its class, for the loop to judge.
    let original: unknown;
    try {
      return await ctx.run(name, async () => {
        try {
          return await work(pickedUp);
        } catch (error) {
          original = error;
          throw new restate.TerminalError(errorMessage(error));
        }
      });
    } catch (error) {
      if (error instanceof restate.CancelledError) {
        await takeStop();
        throw new AbortedError(`stopped by ${stoppedBy}`);
      }
      throw original ?? error;
    }
  };
  // While the journal replays (another instance ran this far before it died) the thread already heard
  // what happened: nothing is said again, and the first new word is that the run was picked up.
  let replayed = false;
  const reporterFor = (c: string, t: string): RunReporter => {
    const inner = deps.reporterFor(c, t);
    return {
      handle: (event: RunEvent) => {
        if (attemptOver) return;
        if (!internal.isProcessing()) {
          replayed = true;
          return;
        }
        if (replayed) {
          replayed = false;
          if (!pickedUpLate) inner.handle({ type: 'notice', text: PICKED_UP });
        }
        inner.handle(event);
      },
      flush: () => inner.flush(),
    };
  };
  let taking = 0;
  const takeQueued = () => step(`take-${++taking}`, () => moveQueued(threads, channel, threadTs));
  try {
    for (let round = 1; ; round++) {
      // Every message is an invocation, and most find their message taken by the run before them, or kept
      // after a Stop: only a thread marked running has work. (A message whose instance died before it
      // reached Restate leaves the thread running: the next message's invocation does its work.)
      const ready = await step(`ready-${round}`, () =>
        threads.update(channel, threadTs, (s) =>
          s.status === 'running' ? { ...s, stopRequestedBy: undefined } : undefined,
        ),
      );
      if (ready?.status !== 'running') return;
      const taken = await takeQueued();
      const state = await step(`start-${round}`, () => threads.get(channel, threadTs));
      if (!state || state.pendingInput.length === 0) {
        await step(`settle-${round}`, () => settle(threads, channel, threadTs));
        return;
      }
      // The repos' sandboxes and publications as they are now, not as journaled: after a crash the run
      // reconnects to the sandbox the finished steps worked in, and publishing knows what is out.
      // (They decide no step, so the replay stays the same.)
      const live = await threads.get(channel, threadTs);
      if (live) state.repos = live.repos;
      log.info({ round }, 'running the thread here');
      // Journaled: after a crash the run keeps its first deadline (RUN_MAX_MINUTES), however long the outage.
      const startedAt = await step(`started-${round}`, async () => clock());
      roundStartedAt = startedAt;
      const outcome: RunOutcome = await executeRun({ ...deps, reporterFor }, state, taken, {
        startedAt,
        signal: controller.signal,
        stoppedBy: () => stoppedBy,
        shuttingDown: () => attemptOver,
        pickedUpLate: () => pickedUpLate,
        takeQueued,
        step,
      });
      if (attemptOver) return;
      const next = await step(`end-${round}`, () => afterRun(threads, channel, threadTs, outcome));
      if (next.stoppedWaiting > 0) {
        const waiting = next.stoppedWaiting;
        reporterFor(channel, threadTs).handle({
          type: 'notice',
          text: `${waiting} message${waiting === 1 ? '' : 's'} sent while I was stopping ${waiting === 1 ? 'is' : 'are'} kept: reply in this thread when I should go on, and I will read ${waiting === 1 ? 'it' : 'them'} too.`,
        });
      }
      if (!next.again) return;
    }
  } catch (error) {
    if (attemptOver) throw error;
    // Cancelled between steps (a Stop before the run began): the thread is told, and left idle.
    if (error instanceof restate.CancelledError || cancelled) {
      if (!cancelled) await takeStop();
      await ctx.run('stopped', async () => {
        await settle(threads, channel, threadTs, true);
        reporterFor(channel, threadTs).handle({
          type: 'run-end',
          outcome: { kind: 'stopped', by: stoppedBy, totals: emptyTotals() },
        });
        await reporterFor(channel, threadTs).flush();
      });
      return;
    }
    log.error({ err: error }, 'thread run failed outside the run');
    throw error;
  } finally {
    attempt.removeEventListener('abort', onAttemptEnd);
    local.remove(key, controller);
  }
}

/** Moves the queued messages into the pending model input in one write (the coordinator's rule). */
async function moveQueued(threads: ThreadStore, channel: string, threadTs: string): Promise<QueuedMessage[]> {
  let taken: QueuedMessage[] = [];
  await threads.update(channel, threadTs, (s) => {
    taken = s.queued;
    if (taken.length === 0) return undefined;
    return { ...s, queued: [], pendingInput: [...s.pendingInput, ...taken.map(toUserInput)] };
  });
  return taken;
}

async function settle(threads: ThreadStore, channel: string, threadTs: string, force = false): Promise<void> {
  await threads.update(channel, threadTs, (s) =>
    s.status === 'running' && (force || s.queued.length === 0) ? { ...s, status: 'idle' } : undefined,
  );
}

/** After a run: another round when messages came in (not after a Stop or a pause), else the thread's new status. */
async function afterRun(
  threads: ThreadStore,
  channel: string,
  threadTs: string,
  outcome: RunOutcome,
): Promise<{ again: boolean; stoppedWaiting: number }> {
  const kind = outcome.kind;
  const paused = kind === 'budget-reached' || kind === 'awaiting-approval' || kind === 'interrupted';
  const stopped = kind === 'stopped';
  let again = false;
  let waiting = 0;
  await threads.mutate(channel, threadTs, (latest) => {
    if (!latest) return undefined;
    waiting = latest.queued.length;
    again = waiting > 0 && !paused && !stopped;
    latest.status = again
      ? 'running'
      : kind === 'budget-reached' || kind === 'awaiting-approval' || kind === 'interrupted'
        ? kind
        : 'idle';
    return latest;
  });
  return { again, stoppedWaiting: stopped ? waiting : 0 };
}
