/**
 * A tiny Restate service endpoint for the harness tests, run as its own process (`node service.ts`, Node 24
 * strips the types) so a test can `kill -9` it. Env: `PORT` (0 = any), `FIXTURE_LOG` (JSON-lines file every
 * step appends to, shared by all instances), `FIXTURE_NAME`, `FIXTURE_VARIANT=2` (adds the `Extra` service),
 * `FIXTURE_DEBUG` (logs HTTP/2 streams), `FIXTURE_GRACE_MS`. Prints `READY <port>` once listening on 127.0.0.1;
 * exits when its stdin closes (the test process died).
 *
 * Objects:
 * - `Thread` (keyed by thread): `run` is a run of durable steps (`ctx.run`), each step sleeping `stepMs` with an
 *   AbortSignal that fires when the attempt ends (`ctx.request().attemptCompletedSignal`) or when the handler
 *   sees the invocation cancelled (`CancelledError`); `append` records call order; `schedule` sends a delayed
 *   call to `Recorder`; `waitMessage` awaits an awakeable; `deliver` (shared) resolves it.
 * - `ExplicitThread`: `run` with `explicitCancellation: true`, racing each step against `ctx.cancellation()`.
 * - `Inbox` (keyed by thread): `push`/`drain`, called durably from `Thread.run` between steps.
 * - `Recorder` (keyed): `record` logs that a (delayed) call arrived.
 * - `Patient` (keyed): like `Thread.run` but `inactivityTimeout`/`abortTimeout` of 1 s, to show what they do to
 *   a step longer than that.
 */
import { appendFileSync } from 'node:fs';
import { createServer, type Http2Session } from 'node:http2';
import { setTimeout as sleep } from 'node:timers/promises';
import * as restate from '@restatedev/restate-sdk';

const logFile = process.env.FIXTURE_LOG;
const name = process.env.FIXTURE_NAME ?? `fixture-${process.pid}`;

/** One JSON line per event, for the test to read (all instances append to the same file). */
function log(event: string, fields: Record<string, unknown> = {}): void {
  if (!logFile) return;
  appendFileSync(logFile, `${JSON.stringify({ t: Date.now(), pid: process.pid, name, event, ...fields })}\n`);
}

export interface RunInput {
  steps: number;
  stepMs: number;
  /** Drain the `Inbox` object of the same key after every step (a durable call to another object). */
  pullInbox?: boolean;
  /** After a cancellation, run one more durable step (what the bot needs to say "stopped"). */
  cleanup?: boolean;
  /**
   * What aborts the in-flight step: `both` (default) = the attempt ending or the handler catching
   * `CancelledError`; `attempt` = only `ctx.request().attemptCompletedSignal`.
   */
  abortOn?: 'both' | 'attempt';
}

export interface StepResult {
  step: number;
  pid: number;
  inbox?: string[];
}

/** A step: sleeps `ms` unless `signal` fires first; logs start, end or abort. */
async function step(
  key: string,
  index: number,
  ms: number,
  signal: AbortSignal,
  invocationId?: string,
): Promise<StepResult> {
  const started = Date.now();
  log('step-start', { key, step: index, invocationId });
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    log('step-aborted', { key, step: index, afterMs: Date.now() - started, reason: String(signal.reason) });
    // Terminal, so a step aborted by a cancellation is journaled as failed instead of failing the attempt and
    // being retried; when the attempt is already over, nothing is journaled either way.
    throw new restate.TerminalError(`step ${index} aborted`, { errorCode: 499 });
  }
  log('step-end', { key, step: index });
  return { step: index, pid: process.pid };
}

const inbox = restate.object({
  name: 'Inbox',
  handlers: {
    push: async (ctx: restate.ObjectContext, message: string): Promise<void> => {
      const messages = (await ctx.get<string[]>('messages')) ?? [];
      ctx.set('messages', [...messages, message]);
    },
    drain: async (ctx: restate.ObjectContext): Promise<string[]> => {
      const messages = (await ctx.get<string[]>('messages')) ?? [];
      ctx.clear('messages');
      return messages;
    },
  },
});

const recorder = restate.object({
  name: 'Recorder',
  handlers: {
    record: async (ctx: restate.ObjectContext, tag: string): Promise<void> => {
      await ctx.run('record', () => log('record', { key: ctx.key, tag }));
    },
  },
});

async function runSteps(ctx: restate.ObjectContext, input: RunInput): Promise<StepResult[]> {
  // Aborted when this attempt ends (suspension, retry, lost connection, completion) or on cancellation below.
  const controller = new AbortController();
  const attempt = ctx.request().attemptCompletedSignal;
  const onAttemptEnd = () => {
    log('attempt-end', { key: ctx.key });
    controller.abort(new Error('attempt completed'));
  };
  if (attempt.aborted) onAttemptEnd();
  else attempt.addEventListener('abort', onAttemptEnd, { once: true });
  const results: StepResult[] = [];
  try {
    for (let index = 0; index < input.steps; index++) {
      const result = await ctx.run(`step-${index}`, () =>
        step(ctx.key, index, input.stepMs, controller.signal, ctx.request().id),
      );
      if (input.pullInbox) result.inbox = await ctx.objectClient(inbox, ctx.key).drain();
      results.push(result);
    }
    return results;
  } catch (error) {
    const err = error as Error & { code?: number };
    log('handler-error', {
      key: ctx.key,
      errorName: err.name,
      message: err.message,
      code: err.code,
      cancelled: error instanceof restate.CancelledError,
      terminal: error instanceof restate.TerminalError,
    });
    if (error instanceof restate.CancelledError) {
      if (input.abortOn !== 'attempt') controller.abort(new Error('invocation cancelled'));
      if (input.cleanup) await ctx.run('cleanup', () => log('cleanup', { key: ctx.key }));
    }
    throw error;
  }
}

const thread = restate.object({
  name: 'Thread',
  handlers: {
    run: async (ctx: restate.ObjectContext, input: RunInput): Promise<StepResult[]> => runSteps(ctx, input),

    append: async (ctx: restate.ObjectContext, input: { tag: string; ms: number }): Promise<string[]> => {
      await ctx.run('append', async () => {
        log('append-start', { key: ctx.key, tag: input.tag });
        await sleep(input.ms);
        log('append-end', { key: ctx.key, tag: input.tag });
      });
      const order = [...((await ctx.get<string[]>('order')) ?? []), input.tag];
      ctx.set('order', order);
      return order;
    },

    schedule: async (ctx: restate.ObjectContext, input: { tag: string; delayMs: number }): Promise<void> => {
      ctx.objectSendClient(recorder, ctx.key).record(input.tag, restate.rpc.sendOpts({ delay: input.delayMs }));
    },

    waitMessage: async (ctx: restate.ObjectContext): Promise<string> => {
      const awakeable = ctx.awakeable<string>();
      ctx.set('awakeable', awakeable.id);
      await ctx.run('announce', () => log('awaiting', { key: ctx.key, awakeableId: awakeable.id }));
      const message = await awakeable.promise;
      ctx.clear('awakeable');
      return message;
    },

    deliver: restate.handlers.object.shared(
      async (ctx: restate.ObjectSharedContext, message: string): Promise<boolean> => {
        const id = await ctx.get<string>('awakeable');
        if (!id) return false;
        ctx.resolveAwakeable(id, message);
        return true;
      },
    ),
  },
});

const patient = restate.object({
  name: 'Patient',
  handlers: {
    run: async (ctx: restate.ObjectContext, input: RunInput): Promise<StepResult[]> => runSteps(ctx, input),
  },
  options: { inactivityTimeout: 1000, abortTimeout: 1000 },
});

/**
 * `explicitCancellation: true`: awaiting a RestatePromise no longer throws `CancelledError`; the handler races
 * each step against `ctx.cancellation()` (from `restate.internal.ContextInternal`, experimental) and aborts it.
 */
const explicitThread = restate.object({
  name: 'ExplicitThread',
  handlers: {
    run: async (ctx: restate.ObjectContext, input: RunInput): Promise<StepResult[]> => {
      const internal = ctx as unknown as restate.internal.ContextInternal;
      const controller = new AbortController();
      const results: StepResult[] = [];
      for (let index = 0; index < input.steps; index++) {
        const result = await restate.RestatePromise.race([
          ctx.run(`step-${index}`, () => step(ctx.key, index, input.stepMs, controller.signal)),
          internal.cancellation().map(() => {
            log('cancellation-seen', { key: ctx.key });
            controller.abort(new Error('invocation cancelled'));
            throw new restate.CancelledError();
          }),
        ]);
        results.push(result);
      }
      return results;
    },
  },
  options: { explicitCancellation: true },
});

// FIXTURE_VARIANT=2 adds a service, to see what registering a changed deployment under the same URI answers.
const extra = restate.service({
  name: 'Extra',
  handlers: { ping: async (_ctx: restate.Context): Promise<string> => 'pong' },
});
const base = [thread, explicitThread, inbox, recorder, patient];
const services = process.env.FIXTURE_VARIANT === '2' ? [...base, extra] : base;

const sessions = new Set<Http2Session>();
const server = createServer(restate.createEndpointHandler({ services }));
server.on('session', (session) => {
  sessions.add(session);
  session.once('close', () => {
    sessions.delete(session);
    if (process.env.FIXTURE_DEBUG) log('h2-session-close');
  });
});
if (process.env.FIXTURE_DEBUG) {
  server.on('stream', (stream, headers) => {
    const path = headers[':path'];
    log('h2-stream-open', { path });
    stream.on('aborted', () => log('h2-stream-aborted', { path }));
    stream.on('close', () => log('h2-stream-close', { path, rstCode: stream.rstCode }));
  });
}
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address !== 'string') process.stdout.write(`READY ${address.port}\n`);
});

// The test process keeps our stdin open; EOF means it died without stopping us.
process.stdin.on('end', () => process.exit(1));
process.stdin.resume();

// Graceful shutdown: stop accepting, GOAWAY on every session (Restate opens new connections elsewhere, streams in
// flight go on), then cut what is left after FIXTURE_GRACE_MS; Restate retries those attempts on another
// instance and replays the journal, so finished steps are not run again.
process.once('SIGTERM', () => {
  log('sigterm', { sessions: sessions.size });
  process.stdin.destroy();
  server.close();
  const exitWhenIdle = () => {
    if (sessions.size > 0) return;
    log('sessions-closed');
    setTimeout(() => process.exit(0), 50); // let aborted steps settle (and log) first
  };
  for (const session of sessions) {
    session.once('close', exitWhenIdle);
    session.close();
  }
  exitWhenIdle();
  setTimeout(
    () => {
      for (const session of sessions) session.destroy();
      process.exit(0);
    },
    Number(process.env.FIXTURE_GRACE_MS ?? 2000),
  ).unref();
});
