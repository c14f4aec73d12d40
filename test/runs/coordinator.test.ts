import { describe, expect, it } from 'vitest';
import type { ModelRequest, ModelTurn } from '../../src/agent/model.js';
import { RunCoordinator } from '../../src/runs/coordinator.js';
import type { QueuedMessage } from '../../src/store/thread-store.js';
import {
  answer,
  calls,
  DEFAULT_LIMITS,
  deferred,
  fakeRunnerPorts,
  type ModelStep,
  ScriptedModel,
} from '../helpers/port-fakes.js';

const CHANNEL = 'C1';
const THREAD = '1700000000.000100';
const NEW_THREAD = {
  startedBy: 'U1',
  repos: [{ repo: 'acme/widgets', baseBranch: 'main', branch: 'ai-dev/x', private: true }],
};
const message = (text: string, user = 'U1'): QueuedMessage => ({ user, text, ts: `${text.length}.${user}` });

/** A step that waits for the test to let it answer (or for the request's signal, like the real model). */
function held(): { step: ModelStep; started: Promise<void>; release: (turn: ModelTurn) => void } {
  const started = deferred();
  const turn = deferred<ModelTurn>();
  const step: ModelStep = (request: ModelRequest) => {
    started.resolve();
    return new Promise<ModelTurn>((resolve, reject) => {
      request.signal.addEventListener('abort', () => reject(request.signal.reason), { once: true });
      void turn.promise.then(resolve);
    });
  };
  return { step, started: started.promise, release: turn.resolve };
}

function coordinator(model: ScriptedModel, limits = DEFAULT_LIMITS) {
  const ports = fakeRunnerPorts(model, { limits });
  const runs = new RunCoordinator({ ...ports.deps });
  const outcomes = () => ports.reporter.ofType('run-end').map((e) => e.outcome);
  return { ...ports, runs, outcomes };
}

describe('RunCoordinator', () => {
  it('starts one run per thread; a message during the run is queued and read at the next turn', async () => {
    const first = held();
    const model = new ScriptedModel([
      first.step,
      (request) => {
        expect(request.input.map((i) => (i.type === 'message' ? i.content : ''))).toEqual([
          expect.stringContaining('and the tests too'),
        ]);
        return answer('Both done.')(request);
      },
    ]);
    const c = coordinator(model);
    expect(await c.runs.submit(CHANNEL, THREAD, message('fix the README'), NEW_THREAD)).toBe('started');
    await first.started;
    expect(await c.runs.submit(CHANNEL, THREAD, message('and the tests too'))).toBe('queued');
    first.release(answer('README fixed.')({} as ModelRequest));
    await c.runs.idle();
    expect(c.outcomes()).toEqual([expect.objectContaining({ kind: 'no-changes', answer: 'Both done.' })]);
    expect((await c.threads.get(CHANNEL, THREAD))?.status).toBe('idle');
    model.assertDone();
  });

  it('sends no model request until the first reply is out (S14)', async () => {
    const model = new ScriptedModel([answer('Hi.')]);
    const c = coordinator(model);
    const replied = deferred();
    const submitted = c.runs.submit(CHANNEL, THREAD, message('hello'), NEW_THREAD, () => replied.promise);
    // Plenty of turns of the event loop for a run launched too early to reach the model.
    for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(model.requests).toHaveLength(0);
    expect(c.provider.created).toHaveLength(0);
    replied.resolve();
    expect(await submitted).toBe('started');
    await c.runs.idle();
    expect(model.requests).toHaveLength(1);
  });

  it('knows no thread it was not given', async () => {
    const c = coordinator(new ScriptedModel());
    expect(await c.runs.submit(CHANNEL, '9.9', message('hello'))).toBe('unknown-thread');
    expect(await c.runs.resume(CHANNEL, '9.9', 'U1')).toBe('unknown-thread');
    expect(await c.runs.stop(CHANNEL, '9.9', 'U1')).toBe(false);
  });

  it('Stop ends the run; messages sent while stopping are kept and start nothing (S05)', async () => {
    const first = held();
    const model = new ScriptedModel([first.step]);
    const c = coordinator(model);
    await c.runs.submit(CHANNEL, THREAD, message('think hard'), NEW_THREAD);
    await first.started;
    expect(await c.runs.submit(CHANNEL, THREAD, message('also this'))).toBe('queued');
    expect(await c.runs.stop(CHANNEL, THREAD, 'U2')).toBe(true);
    await c.runs.idle();
    expect(c.outcomes()).toEqual([expect.objectContaining({ kind: 'stopped', by: 'U2' })]);
    expect(c.reporter.ofType('notice').map((e) => e.text)).toContain(
      '1 message sent while I was stopping is kept: reply in this thread when I should go on, and I will read it too.',
    );
    const state = await c.threads.get(CHANNEL, THREAD);
    expect(state?.status).toBe('idle');
    expect(state?.queued.map((m) => m.text)).toEqual(['also this']);
    expect(model.requests).toHaveLength(1);
    expect(c.runs.isRunning(CHANNEL, THREAD)).toBe(false);
    // A second Stop finds nothing to stop.
    expect(await c.runs.stop(CHANNEL, THREAD, 'U2')).toBe(false);
  });

  it('pauses on the budget and goes on with Continue, with a fresh budget', async () => {
    const model = new ScriptedModel([calls([{ name: 'echo', arguments: { value: 'a' } }])]);
    const c = coordinator(model, { ...DEFAULT_LIMITS, maxTurns: 1 });
    await c.runs.submit(CHANNEL, THREAD, message('do a lot'), NEW_THREAD);
    await c.runs.idle();
    expect(c.outcomes().map((o) => o.kind)).toEqual(['budget-reached']);
    expect((await c.threads.get(CHANNEL, THREAD))?.status).toBe('budget-reached');

    model.script((request) => {
      // The owed tool output first, then the Continue.
      expect(request.input.map((i) => i.type)).toEqual(['function_call_output', 'message']);
      expect(request.input[1]?.type === 'message' && request.input[1].content).toContain('Continue where you stopped.');
      return answer('Finished.')(request);
    });
    expect(await c.runs.resume(CHANNEL, THREAD, 'U1')).toBe('started');
    await c.runs.idle();
    expect(c.outcomes().map((o) => o.kind)).toEqual(['budget-reached', 'no-changes']);
    expect(await c.runs.resume(CHANNEL, THREAD, 'U1')).toBe('not-paused');
    model.assertDone();
  });

  it('lets the model read a message that arrived while it was writing its answer, before the run ends', async () => {
    const model = new ScriptedModel();
    const c = coordinator(model);
    model.script((request) => {
      void c.runs.submit(CHANNEL, THREAD, message('one more thing'));
      return answer('First.')(request);
    });
    model.script((request) => {
      expect(request.input.map((i) => (i.type === 'message' ? i.content : ''))).toEqual([
        expect.stringContaining('one more thing'),
      ]);
      return answer('Second.')(request);
    });
    await c.runs.submit(CHANNEL, THREAD, message('start'), NEW_THREAD);
    await c.runs.idle();
    expect(c.outcomes()).toEqual([expect.objectContaining({ kind: 'no-changes', answer: 'Second.' })]);
    expect(c.reporter.ofType('model-text').map((e) => e.text)).toEqual(['First.']);
    expect((await c.threads.get(CHANNEL, THREAD))?.queued).toEqual([]);
    model.assertDone();
  });

  it('on shutdown leaves the run `running` with its input, for the next start to pick up', async () => {
    const first = held();
    const model = new ScriptedModel([first.step]);
    const c = coordinator(model);
    await c.runs.submit(CHANNEL, THREAD, message('long job'), NEW_THREAD);
    await first.started;
    c.runs.shutdown();
    await c.runs.idle();
    expect(c.outcomes()).toEqual([]);
    const state = await c.threads.get(CHANNEL, THREAD);
    expect(state?.status).toBe('running');
    expect(state?.pendingInput).toHaveLength(1);
    expect(await c.runs.submit(CHANNEL, THREAD, message('later'))).toBe('queued');
  });

  it('after a restart picks up a thread left running, and says so in the thread', async () => {
    const first = held();
    const model = new ScriptedModel([first.step]);
    const before = coordinator(model);
    await before.runs.submit(CHANNEL, THREAD, message('long job'), NEW_THREAD);
    await first.started;
    before.runs.shutdown();
    await before.runs.idle();

    // A new coordinator over the same store: the next start of the bot.
    model.script((request) => {
      expect(request.input).toEqual([
        expect.objectContaining({ type: 'message', content: expect.stringContaining('long job') }),
      ]);
      return answer('Finished after the restart.')(request);
    });
    const after = new RunCoordinator({ ...before.deps });
    expect(await after.recoverAll()).toBe(1);
    await after.idle();
    expect(before.reporter.ofType('notice').map((e) => e.text)).toContain(
      'I was restarted in the middle of this run; picking it up where it stopped.',
    );
    expect(before.outcomes()).toEqual([
      expect.objectContaining({ kind: 'no-changes', answer: 'Finished after the restart.' }),
    ]);
    expect((await before.threads.get(CHANNEL, THREAD))?.status).toBe('idle');
    model.assertDone();
  });

  it('after a long outage marks a thread left running as interrupted instead of resuming it', async () => {
    const first = held();
    const model = new ScriptedModel([first.step]);
    const before = coordinator(model);
    await before.runs.submit(CHANNEL, THREAD, message('long job'), NEW_THREAD);
    await first.started;
    before.runs.shutdown();
    await before.runs.idle();

    const later = Date.now() + (DEFAULT_LIMITS.maxMinutes + 1) * 60_000;
    const after = new RunCoordinator({
      ...before.deps,
      recoveryClock: () => later,
    });
    expect(await after.recoverAll()).toBe(0);
    expect(before.outcomes().map((o) => o.kind)).toEqual(['interrupted']);
    expect((await before.threads.get(CHANNEL, THREAD))?.status).toBe('interrupted');
    expect(model.requests).toHaveLength(1);
  });
});
