import { describe, expect, it } from 'vitest';
import type { RunOutcome } from '../../src/agent/events.js';
import { AppError } from '../../src/lib/errors.js';
import { executeRun, type RunControl, type RunnerDeps } from '../../src/runs/thread-runner.js';
import { toUserInput } from '../../src/runs/user-input.js';
import type { QueuedMessage, ThreadState, ThreadStore } from '../../src/store/thread-store.js';
import {
  answer,
  calls,
  DEFAULT_LIMITS,
  fakeRunnerPorts,
  type RecordingReporter,
  type RecordingSandboxProvider,
  ScriptedModel,
} from '../helpers/port-fakes.js';

const LIMITS = DEFAULT_LIMITS;

const MESSAGE: QueuedMessage = { user: 'U1', text: 'tidy the README', ts: '1700000000.000100' };

interface Setup {
  deps: RunnerDeps;
  threads: ThreadStore;
  reporter: RecordingReporter;
  provider: RecordingSandboxProvider;
  state: ThreadState;
  clock: { now: number };
  logs: () => string;
}

/** The thread runner with fakes of every port; the thread holds one repo and one taken message. */
async function setup(model: ScriptedModel, overrides: Partial<RunnerDeps> = {}): Promise<Setup> {
  const ports = fakeRunnerPorts(model, overrides);
  const fresh: ThreadState = {
    channel: 'C1',
    threadTs: '1700000000.000100',
    startedBy: 'U1',
    repos: [{ repo: 'acme/widgets', baseBranch: 'main', branch: 'ai-dev/tidy', private: true }],
    status: 'running',
    queued: [],
    // What the coordinator does when it takes the queue: the message is owed to the model.
    pendingInput: [toUserInput(MESSAGE)],
    createdAt: new Date(0).toISOString(),
    updatedAt: new Date(0).toISOString(),
  };
  const state = (await ports.threads.mutate('C1', fresh.threadTs, () => fresh)) as ThreadState;
  return { ...ports, state };
}

function control(overrides: Partial<RunControl> = {}): RunControl {
  return {
    signal: new AbortController().signal,
    stoppedBy: () => undefined,
    takeQueued: async () => [],
    ...overrides,
  };
}

describe('executeRun', () => {
  it('answers a question: no changes, the answer posted, nothing left owed', async () => {
    const model = new ScriptedModel([answer('The README is fine.')]);
    const s = await setup(model);
    const outcome = await executeRun(s.deps, s.state, [MESSAGE], control());
    expect(outcome).toMatchObject({ kind: 'no-changes', answer: 'The README is fine.' });
    expect(s.reporter.ofType('run-end').map((e) => e.outcome.kind)).toEqual(['no-changes']);
    expect(s.reporter.events[0]).toEqual({
      type: 'run-start',
      repo: 'acme/widgets',
      baseBranch: 'main',
      branch: 'ai-dev/tidy',
      task: 'tidy the README',
    });
    const saved = await s.threads.get('C1', s.state.threadTs);
    expect(saved?.conversationId).toBe('conv_1');
    expect(saved?.pendingInput).toEqual([]);
    expect(model.requests[0]?.input).toEqual([toUserInput(MESSAGE)]);
    model.assertDone();
  });

  it('asks for a sandbox that lives for the run plus the idle time, in minutes', async () => {
    const s = await setup(new ScriptedModel([answer('ok')]));
    await executeRun(s.deps, s.state, [MESSAGE], control());
    // RUN_MAX_MINUTES + SANDBOX_IDLE_MINUTES = 75 minutes.
    expect(s.provider.created.map((spec) => spec.timeoutMs)).toEqual([75 * 60_000]);
    expect(s.provider.created[0]?.metadata).toMatchObject({ app: 'ai-dev', channel: 'C1', repo: 'acme/widgets' });
  });

  it('ends on the time budget in minutes of its clock (S04)', async () => {
    const model = new ScriptedModel([
      (request) => {
        // Two minutes pass during the first request; the budget is one.
        s.clock.now += 2 * 60_000;
        return calls([{ name: 'echo', arguments: { value: 'a' } }])(request);
      },
    ]);
    const s = await setup(model, { limits: { ...LIMITS, maxMinutes: 1 } });
    const outcome = await executeRun(s.deps, s.state, [MESSAGE], control());
    expect(outcome).toMatchObject({ kind: 'budget-reached', limit: 'minutes' });
    expect(model.requests).toHaveLength(1);
    expect(outcome.totals.elapsedMs).toBe(2 * 60_000);
    // The tool's output is kept for a Continue.
    const saved = await s.threads.get('C1', s.state.threadTs);
    expect(saved?.pendingInput.map((i) => i.type)).toEqual(['function_call_output']);
  });

  it('keeps the deadline of a run replayed after a crash: past it, no model request is made', async () => {
    const model = new ScriptedModel([]);
    const s = await setup(model, { limits: { ...LIMITS, maxMinutes: 1 } });
    // The durable engine journaled the start two minutes ago (the instance died, another replays the run).
    const outcome = await executeRun(s.deps, s.state, [MESSAGE], control({ startedAt: s.clock.now - 2 * 60_000 }));
    expect(outcome).toMatchObject({ kind: 'budget-reached', limit: 'minutes' });
    expect(model.requests).toHaveLength(0);
    expect(outcome.totals.elapsedMs).toBe(2 * 60_000);
    model.assertDone();
  });

  it('gives the repo’s AGENTS.md to the model as input, redacted (S12)', async () => {
    const token = 'ghp_0123456789abcdefghij0123456789ABCDEF';
    const model = new ScriptedModel([answer('ok')]);
    const s = await setup(model, {
      guidance: async () => ({ file: 'AGENTS.md', text: `Run tests with GH_TOKEN=${token} npm test` }),
    });
    await executeRun(s.deps, s.state, [MESSAGE], control());
    const input = model.requests[0]?.input ?? [];
    expect(input).toHaveLength(2);
    const [guidance] = input;
    expect(guidance?.type === 'message' && guidance.content).toContain('the text of AGENTS.md');
    expect(guidance?.type === 'message' && guidance.content).toContain('GH_TOKEN=[redacted] npm test');
    expect(model.seen()).not.toContain(token);
    expect((await s.threads.get('C1', s.state.threadTs))?.repos[0]?.guidanceGiven).toBe(true);
  });

  it('reports a Stop with who pressed it', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stopped by U2'));
    const s = await setup(new ScriptedModel());
    const outcome = await executeRun(
      s.deps,
      s.state,
      [MESSAGE],
      control({ signal: controller.signal, stoppedBy: () => 'U2' }),
    );
    expect(outcome).toMatchObject({ kind: 'stopped', by: 'U2' });
    // The message was never sent: it stays owed.
    expect((await s.threads.get('C1', s.state.threadTs))?.pendingInput).toEqual([toUserInput(MESSAGE)]);
  });

  it('is interrupted, not stopped, when the bot shuts down, and says it will pick the run up', async () => {
    const controller = new AbortController();
    controller.abort(new Error('the bot is shutting down'));
    const s = await setup(new ScriptedModel());
    const outcome = await executeRun(
      s.deps,
      s.state,
      [MESSAGE],
      control({ signal: controller.signal, shuttingDown: () => true }),
    );
    expect(outcome.kind).toBe('interrupted');
    expect(s.reporter.ofType('notice').map((e) => e.text)).toEqual([
      'The bot is restarting; I will pick this run up where it stopped once I am back.',
    ]);
    expect(s.reporter.ofType('run-end')).toEqual([]);
  });

  it('fails with the error’s words for people and a reference that is also logged', async () => {
    const model = new ScriptedModel([
      () => {
        throw new AppError('model_unavailable', 'HTTP 503 from upstream', {
          userMessage: 'The model is not answering right now.',
        });
      },
    ]);
    const s = await setup(model);
    const outcome: RunOutcome = await executeRun(s.deps, s.state, [MESSAGE], control());
    expect(outcome).toMatchObject({ kind: 'failed', reason: 'The model is not answering right now.' });
    const reference = outcome.kind === 'failed' ? outcome.reference : '';
    expect(reference).toMatch(/^ERR-[0-9A-F]{8}$/);
    expect(s.logs()).toContain(reference);
  });

  it('resumes the thread’s conversation, fitting what was owed to it, redacted', async () => {
    const secret = 'ghp_0123456789abcdefghij0123456789ABCDEF';
    const model = new ScriptedModel([answer('Picked up.')]);
    const s = await setup(model);
    const owed = { type: 'function_call_output' as const, call_id: 'call_9', output: `printed ${secret}` };
    s.state.conversationId = 'conv_existing';
    s.state.pendingInput = [owed, toUserInput(MESSAGE)];
    s.state.repos[0] = { ...s.state.repos[0], guidanceGiven: true } as ThreadState['repos'][number];
    const outcome = await executeRun(s.deps, s.state, [MESSAGE], control());
    expect(outcome.kind).toBe('no-changes');
    expect(model.conversations).toEqual([]);
    expect(model.reconciled).toEqual([
      {
        conversationId: 'conv_existing',
        input: [{ ...owed, output: 'printed [redacted]' }, toUserInput(MESSAGE)],
      },
    ]);
    expect(model.requests[0]?.conversationId).toBe('conv_existing');
    expect(model.seen()).not.toContain(secret);
  });
});
