import { describe, expect, it } from 'vitest';
import { runLoop, type StepRunner } from '../../src/agent/loop.js';
import type { Model, ModelTurn } from '../../src/agent/model.js';
import type { ToolContext } from '../../src/agent/tools/kit/context.js';
import type { Tool } from '../../src/agent/tools/kit/define-tool.js';
import { AppError } from '../../src/lib/errors.js';

/** A model answering scripted turns, and one tool that counts its runs (a fake of the loop's ports). */
function fixture(turns: ModelTurn[], run: Tool['run']) {
  let requests = 0;
  const model: Model = {
    createConversation: async () => 'conv_1',
    respond: async () => {
      const turn = turns[requests++];
      if (!turn) throw new Error('no more turns');
      return turn;
    },
    reconcile: async (_id, input) => input,
  };
  const tool: Tool = {
    name: 'echo',
    description: 'echo',
    jsonSchema: {},
    parse: (args) => ({ ok: true, value: args }),
    summarize: () => 'echo',
    run,
  };
  const context = { signal: new AbortController().signal } as unknown as ToolContext;
  return { model, tool, context, requests: () => requests };
}

const usage = { inputTokens: 1, outputTokens: 1, totalTokens: 2 };
const call = (responseId: string): ModelTurn => ({
  responseId,
  calls: [{ callId: `call_${responseId}`, name: 'echo', arguments: '{}' }],
  text: '',
  usage,
});
const answer: ModelTurn = { responseId: 'r_end', calls: [], text: 'done', usage };

const loopOptions = (f: ReturnType<typeof fixture>, step?: StepRunner) => ({
  model: f.model,
  tools: [f.tool],
  context: f.context,
  conversationId: 'conv_1',
  instructions: () => 'be brief',
  input: [{ type: 'message' as const, role: 'user' as const, content: 'hi' }],
  takeQueuedInput: async () => [],
  limits: { maxTurns: 10, maxTokens: 1_000_000, deadline: Date.now() + 60_000 },
  signal: new AbortController().signal,
  emit: () => {},
  ...(step ? { step } : {}),
});

describe('the loop’s durable steps', () => {
  it('runs every model request and tool call through the step hook, named in a stable order', async () => {
    const f = fixture([call('r1'), call('r2'), answer], async () => ({ ok: true, output: 'echoed' }));
    const names: string[] = [];
    const step: StepRunner = async (name, work) => {
      names.push(name);
      // What a journal keeps: the result as JSON.
      return JSON.parse(JSON.stringify(await work(false)));
    };
    const result = await runLoop(loopOptions(f, step));
    expect(result.end).toEqual({ kind: 'answered', text: 'done' });
    expect(names).toEqual(['model-1', 'tool-1-0', 'model-2', 'tool-2-0', 'model-3']);
  });

  it('a replayed step returns its journaled result without running the work again', async () => {
    let toolRuns = 0;
    const f = fixture([call('r1'), answer], async () => {
      toolRuns += 1;
      return { ok: true, output: 'live' };
    });
    const journal = new Map<string, unknown>([
      ['tool-1-0', { output: 'from the journal', failed: false, fatal: false }],
    ]);
    const step: StepRunner = async (name, work) => (journal.has(name) ? (journal.get(name) as never) : work(false));
    const result = await runLoop(loopOptions(f, step));
    expect(toolRuns).toBe(0);
    expect(result.end).toEqual({ kind: 'answered', text: 'done' });
  });

  it('keeps the error that ends the run, with its class, across the step', async () => {
    const fatal = new AppError('sandbox_gone', 'the sandbox is gone', { endsRun: true });
    const f = fixture([call('r1')], async () => {
      throw fatal;
    });
    const step: StepRunner = async (_name, work) => JSON.parse(JSON.stringify(await work(false)));
    const result = await runLoop(loopOptions(f, step));
    expect(result.end).toEqual({ kind: 'failed', error: fatal });
  });

  it('a model request picked up after a crash is reconciled with the conversation before it is sent again', async () => {
    const sent: string[][] = [];
    const reconciled: string[][] = [];
    const f = fixture([answer], async () => ({ ok: true, output: 'unused' }));
    f.model.respond = async (request) => {
      sent.push(request.input.map((i) => (i.type === 'message' ? i.content : i.call_id)));
      return answer;
    };
    // The conversation already holds the message (the instance that died had sent it), and a call of
    // the model's that was never answered.
    f.model.reconcile = async (id, input) => {
      expect(id).toBe('conv_1');
      reconciled.push(input.map((i) => (i.type === 'message' ? i.content : i.call_id)));
      return [{ type: 'function_call_output', call_id: 'call_lost', output: 'interrupted' }];
    };
    const step: StepRunner = async (name, work) => work(name === 'model-1');
    const result = await runLoop(loopOptions(f, step));
    expect(result.end).toEqual({ kind: 'answered', text: 'done' });
    expect(reconciled).toEqual([['hi']]);
    expect(sent).toEqual([['call_lost']]);
  });

  it('a model request not picked up after a crash is sent as it is, without reading the conversation', async () => {
    const f = fixture([answer], async () => ({ ok: true, output: 'unused' }));
    let reads = 0;
    f.model.reconcile = async (_id, input) => {
      reads += 1;
      return input;
    };
    await runLoop(loopOptions(f, async (_name, work) => work(false)));
    expect(reads).toBe(0);
  });
});
