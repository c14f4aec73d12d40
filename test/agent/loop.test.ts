import { afterEach, describe, expect, it } from 'vitest';
import { CostMeter, PriceBook } from '../../src/agent/cost.js';
import type { RunEvent } from '../../src/agent/events.js';
import { type LoopOptions, runLoop } from '../../src/agent/loop.js';
import type { InputItem } from '../../src/agent/model.js';
import { AppError } from '../../src/lib/errors.js';
import { createRedactor } from '../../src/lib/redact.js';
import { answer, bareToolContext, calls, deferred, fakeTool, outputsOf, ScriptedModel } from '../helpers/port-fakes.js';

const HOUR = 3_600_000;
const userMessage = (content: string): InputItem => ({ type: 'message', role: 'user', content });

let model: ScriptedModel;
afterEach(() => {
  // A step left over is this test's failure, not the next one's.
  model?.assertDone();
});

function options(overrides: Partial<LoopOptions> = {}): LoopOptions & { events: RunEvent[] } {
  const events: RunEvent[] = [];
  const controller = new AbortController();
  return {
    model,
    tools: [fakeTool('echo', async ({ value }) => ({ output: `echo: ${value}` }))],
    context: bareToolContext(controller.signal),
    conversationId: 'conv_1',
    instructions: () => 'You are a test.',
    input: [userMessage('do the thing')],
    takeQueuedInput: async () => [],
    limits: { maxTurns: 10, maxTokens: 1_000_000, deadline: HOUR },
    signal: controller.signal,
    emit: (event) => events.push(event),
    // A clock that stands still: only the time-budget test moves it.
    now: () => 0,
    events,
    ...overrides,
  };
}

describe('runLoop', () => {
  it('sends tool outputs back and ends when the model answers in words', async () => {
    model = new ScriptedModel([calls([{ name: 'echo', arguments: { value: 'hi' } }]), answer('done')]);
    const result = await runLoop(options());
    expect(result.end).toEqual({ kind: 'answered', text: 'done' });
    expect(result.turns).toBe(2);
    expect(outputsOf(model.requests[1])).toEqual(['echo: hi']);
    expect(result.pendingInput).toEqual([]);
  });

  it('gives a failing tool, an unknown tool and invalid arguments back to the model as data, and goes on', async () => {
    model = new ScriptedModel([
      calls([
        { name: 'boom', arguments: { value: 'x' } },
        { name: 'nope', arguments: {} },
        { name: 'echo', arguments: '{"value": ' },
        { name: 'echo', arguments: { value: 42 } },
      ]),
      answer('I could not.'),
    ]);
    const boom = fakeTool('boom', async () => {
      throw new Error('disk on fire');
    });
    const result = await runLoop(options({ tools: [fakeTool('echo', async () => ({ output: 'x' })), boom] }));
    expect(result.end.kind).toBe('answered');
    const [failed, unknown, badJson, badArgs] = outputsOf(model.requests[1]);
    expect(failed).toBe('Error: disk on fire');
    expect(unknown).toMatch(/^Error: there is no tool named "nope"\. Available tools: echo, boom\./);
    expect(badJson).toMatch(/^Error: the arguments are not valid JSON/);
    expect(badArgs).toMatch(/^Error: invalid arguments for echo: value:/);
  });

  it('runs at most maxParallelCalls calls together and tells the model to repeat the rest', async () => {
    model = new ScriptedModel([
      calls([
        { name: 'slow', arguments: { value: 'a' } },
        { name: 'slow', arguments: { value: 'b' } },
        { name: 'slow', arguments: { value: 'c' } },
      ]),
      answer('ok'),
    ]);
    // Each running call waits until both allowed calls have started: proof they run at once.
    let started = 0;
    const bothStarted = deferred();
    const slow = fakeTool('slow', async ({ value }) => {
      started += 1;
      if (started === 2) bothStarted.resolve();
      await bothStarted.promise;
      return { output: `ran ${value}` };
    });
    await runLoop(options({ tools: [slow], maxParallelCalls: 2 }));
    const outputs = outputsOf(model.requests[1]);
    expect(outputs.slice(0, 2)).toEqual(['ran a', 'ran b']);
    expect(outputs[2]).toMatch(/too many tool calls at once: 3 in one turn, and at most 2 run together/);
    expect(started).toBe(2);
  });

  it('warns and then ends a run that repeats the same failing call', async () => {
    const same = { name: 'fail', arguments: { value: 'same' } };
    model = new ScriptedModel([calls([same]), calls([same]), calls([same])]);
    const fail = fakeTool('fail', async () => ({ ok: false, output: 'exit 1' }));
    const result = await runLoop(options({ tools: [fail] }));
    expect(result.end.kind).toBe('repeating');
    expect(outputsOf(model.requests[2])[0]).toMatch(/^exit 1\n\n\S/);
    expect(model.requests).toHaveLength(3);
  });

  it('stops when the signal fires during a tool call, owing the outputs to the next run', async () => {
    const controller = new AbortController();
    model = new ScriptedModel([calls([{ name: 'hang', arguments: { value: 'x' } }])]);
    const hang = fakeTool('hang', (_args, context) => {
      controller.abort(new Error('stopped by U1'));
      return new Promise((_resolve, reject) => {
        if (context.signal.aborted) reject(context.signal.reason);
        context.signal.addEventListener('abort', () => reject(context.signal.reason), { once: true });
      });
    });
    let saved: InputItem[] = [];
    const result = await runLoop(
      options({
        tools: [hang],
        signal: controller.signal,
        context: bareToolContext(controller.signal),
        savePendingInput: async (items) => {
          saved = items;
        },
      }),
    );
    expect(result.end).toEqual({ kind: 'stopped' });
    expect(outputsOf({ input: result.pendingInput } as never)).toEqual([
      'Error: the run was stopped while this tool was running.',
    ]);
    expect(saved).toEqual(result.pendingInput);
    expect(model.requests).toHaveLength(1);
  });

  it('stops before the first request when the signal has already fired', async () => {
    model = new ScriptedModel();
    const controller = new AbortController();
    controller.abort();
    const result = await runLoop(options({ signal: controller.signal }));
    expect(result.end).toEqual({ kind: 'stopped' });
    expect(result.pendingInput).toEqual([userMessage('do the thing')]);
  });

  it('ends on the token budget once a turn has used it up (S03)', async () => {
    model = new ScriptedModel([calls([{ name: 'echo', arguments: { value: 'a' } }], { totalTokens: 600 })]);
    const result = await runLoop(options({ limits: { maxTurns: 10, maxTokens: 500, deadline: HOUR } }));
    expect(result.end).toEqual({ kind: 'budget-reached', limit: 'tokens' });
    expect(result.usage.totalTokens).toBe(600);
    expect(model.requests).toHaveLength(1);
    // The tool's output was never sent: the next run owes it.
    expect(outputsOf({ input: result.pendingInput } as never)).toEqual(['echo: a']);
  });

  it('counts the sandbox time so far against the dollar budget, with no model dollars at all', async () => {
    // One step only: a second request would be a failure of the budget check.
    model = new ScriptedModel([calls([{ name: 'echo', arguments: { value: 'a' } }])]);
    // $1 a sandbox-second; the sandbox has been held 0.4 s when the first response is priced, 1.2 s after the tool.
    const meter = new CostMeter({
      prices: new PriceBook({ table: { models: {}, fallback: { input: 0, cachedInput: 0, output: 0 } } }),
      sandbox: { vcpus: 1, memoryGib: 1, vcpuSecondDollars: 0.5, gibSecondDollars: 0.5 },
    });
    const held = [0, 0.4, 1.2];
    let reads = 0;
    const sandboxSeconds = () => held[Math.min(reads++, held.length - 1)] ?? 0;
    const run = options({ cost: { meter, model: 'm', maxDollars: 1, sandboxSeconds } });
    const result = await runLoop(run);
    expect(result.end).toEqual({ kind: 'budget-reached', limit: 'dollars' });
    expect(model.requests).toHaveLength(1);
    const shown = run.events.flatMap((e) => (e.type === 'cost' ? [e.totals.sandboxDollars] : []));
    expect(shown).toEqual([expect.closeTo(0.4, 9), expect.closeTo(1.2, 9)]);
    expect(meter.totals()).toMatchObject({ modelDollars: 0, sandboxSeconds: 1.2 });
  });

  it('ends on the turn budget', async () => {
    model = new ScriptedModel([
      calls([{ name: 'echo', arguments: { value: 'a' } }]),
      calls([{ name: 'echo', arguments: { value: 'b' } }]),
    ]);
    const result = await runLoop(options({ limits: { maxTurns: 2, maxTokens: 1_000_000, deadline: HOUR } }));
    expect(result.end).toEqual({ kind: 'budget-reached', limit: 'turns' });
  });

  it('ends on the time budget by its clock, between turns', async () => {
    let clock = 1_000;
    model = new ScriptedModel([
      (request) => {
        clock += 61_000;
        return calls([{ name: 'echo', arguments: { value: 'late' } }])(request);
      },
    ]);
    const result = await runLoop(
      options({ now: () => clock, limits: { maxTurns: 10, maxTokens: 1_000_000, deadline: 1_000 + 60_000 } }),
    );
    expect(result.end).toEqual({ kind: 'budget-reached', limit: 'minutes' });
    expect(model.requests).toHaveLength(1);
  });

  it('gives the model messages queued during the run at its next turn, after the tool outputs', async () => {
    const queue: InputItem[][] = [[], [userMessage('also this')]];
    model = new ScriptedModel([calls([{ name: 'echo', arguments: { value: 'a' } }]), answer('both done')]);
    const result = await runLoop(options({ takeQueuedInput: async () => queue.shift() ?? [] }));
    expect(result.end.kind).toBe('answered');
    expect(model.requests[1]?.input).toEqual([
      { type: 'function_call_output', call_id: expect.any(String), output: 'echo: a' },
      userMessage('also this'),
    ]);
  });

  it('redacts the instructions, messages and tool outputs it sends', async () => {
    const secret = 'ghp_0123456789abcdefghij0123456789ABCDEF';
    model = new ScriptedModel([calls([{ name: 'echo', arguments: { value: secret } }]), answer('ok')]);
    await runLoop(
      options({
        instructions: () => `Guidance says: token ${secret}`,
        input: [userMessage(`AGENTS.md: use ${secret}`)],
        redact: createRedactor([]),
      }),
    );
    expect(model.seen()).not.toContain(secret);
    expect(model.seen()).toContain('[redacted]');
  });

  it('ends the run on a tool failure that no call can fix, still owing the model its output', async () => {
    model = new ScriptedModel([calls([{ name: 'gone', arguments: { value: 'x' } }])]);
    const gone = fakeTool('gone', async () => {
      throw new AppError('sandbox_gone', 'the sandbox is gone', { endsRun: true });
    });
    const result = await runLoop(options({ tools: [gone] }));
    expect(result.end.kind).toBe('failed');
    expect(result.end.kind === 'failed' && result.end.error).toBeInstanceOf(AppError);
    expect(outputsOf({ input: result.pendingInput } as never)).toEqual([
      'Error: gone failed and the run ended: the sandbox is gone',
    ]);
  });
});
