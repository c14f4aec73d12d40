import OpenAI, {
  APIError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  NotFoundError,
  RateLimitError,
} from 'openai';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import { checkOpenAIAfterEach, perTestCheck } from './openai/test-checks.js';
import {
  brokenStream,
  CHARS_PER_TOKEN,
  COMPACTION_ITEM_TOKENS,
  DEFAULT_MODELS,
  delay,
  type FakeOpenAI,
  hang,
  httpError,
  insufficientQuota,
  lostAfterAppend,
  rawArguments,
  startFakeOpenAI,
  streamError,
  text,
  toolCalls,
} from './openai-server.js';

const tools: OpenAI.Responses.Tool[] = [
  {
    type: 'function',
    name: 'read_file',
    description: 'Read a file',
    parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
    strict: false,
  },
];

let fake: FakeOpenAI;
let client: OpenAI;

beforeEach(async () => {
  fake = await startFakeOpenAI();
  client = new OpenAI({ apiKey: fake.apiKey, baseURL: fake.url });
});

afterEach(async () => {
  await fake.close();
});

function types(items: Array<{ type: string }>): string[] {
  return items.map((item) => item.type);
}

describe('fake OpenAI: basics', () => {
  it('serves on 127.0.0.1 under /v1 and rejects a wrong key with the OpenAI error body', async () => {
    expect(fake.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const wrong = new OpenAI({ apiKey: 'sk-wrong', baseURL: fake.url, maxRetries: 0 });
    const error = await wrong.conversations.create({}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error).toMatchObject({ status: 401, code: 'invalid_api_key', type: 'invalid_request_error' });
    expect((error as AuthenticationError).requestID).toMatch(/^req_/);
  });

  it('creates conversations and lists items (order, limit, after, auto-pagination)', async () => {
    const conversation = await client.conversations.create({
      metadata: { thread: 'C1:1700000000.000100' },
      items: [{ type: 'message', role: 'user', content: 'hello' }],
    });
    expect(conversation).toMatchObject({ object: 'conversation', metadata: { thread: 'C1:1700000000.000100' } });
    expect(conversation.id).toMatch(/^conv_/);
    expect(typeof conversation.created_at).toBe('number');
    await expect(client.conversations.retrieve(conversation.id)).resolves.toMatchObject({ id: conversation.id });

    const added = await client.conversations.items.create(conversation.id, {
      items: [
        { role: 'assistant', content: 'hi' },
        { type: 'function_call_output', call_id: 'call_x', output: 'ok' },
      ],
    });
    expect(added.object).toBe('list');
    expect(added.data.map((item) => item.id)).toEqual([expect.stringMatching(/^msg_/), expect.stringMatching(/^fco_/)]);
    expect(added.first_id).toBe(added.data[0]?.id);

    const desc = await client.conversations.items.list(conversation.id, { limit: 2 });
    expect(types(desc.data)).toEqual(['function_call_output', 'message']);
    expect(desc.has_more).toBe(true);
    expect(desc.last_id).toBe(added.data[0]?.id);

    const asc = await client.conversations.items.list(conversation.id, { order: 'asc', after: desc.data[0]?.id });
    expect(asc.data).toHaveLength(0);

    const all = [];
    for await (const item of client.conversations.items.list(conversation.id, { order: 'asc', limit: 1 })) {
      all.push(item);
    }
    expect(all).toHaveLength(3);
    expect(all[0]).toMatchObject({ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello' }] });
    expect(fake.conversationItems(conversation.id)).toEqual(all);

    const missing = await client.conversations.items.list('conv_nope').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect((missing as NotFoundError).error).toMatchObject({ type: 'invalid_request_error' });
  });
});

describe('fake OpenAI: responses (JSON)', () => {
  it('answers two parallel function calls, then sees both outputs; the conversation keeps input and output in order', async () => {
    const conversation = await client.conversations.create({});
    fake.script([
      toolCalls(
        [
          { name: 'read_file', arguments: { path: 'a.ts' } },
          { name: 'read_file', arguments: { path: 'b.ts' } },
        ],
        { usage: { input_tokens: 1200, output_tokens: 80, cached_tokens: 1000 } },
      ),
      (request, priorItems) => {
        expect(request.functionCallOutputs.map((o) => o.output)).toEqual(['A', 'B']);
        expect(types(priorItems)).toEqual(['message', 'function_call', 'function_call']);
        return text('both files read');
      },
    ]);

    const first = await client.responses.create({
      model: 'gpt-6.2-sol',
      instructions: 'be brief',
      conversation: conversation.id,
      input: 'read a.ts and b.ts',
      tools,
    });
    expect(first).toMatchObject({
      object: 'response',
      status: 'completed',
      model: 'gpt-6.2-sol',
      instructions: 'be brief',
      conversation: { id: conversation.id },
      error: null,
      incomplete_details: null,
      parallel_tool_calls: true,
      usage: {
        input_tokens: 1200,
        input_tokens_details: { cached_tokens: 1000 },
        output_tokens: 80,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: 1280,
      },
    });
    expect(first.id).toMatch(/^resp_/);
    expect(first.output_text).toBe('');
    const calls = first.output.filter((item) => item.type === 'function_call');
    expect(calls).toHaveLength(2);
    expect(calls[0]).toMatchObject({ id: expect.stringMatching(/^fc_/), call_id: expect.stringMatching(/^call_/) });
    expect(calls.map((c) => JSON.parse(c.arguments))).toEqual([{ path: 'a.ts' }, { path: 'b.ts' }]);

    const second = await client.responses.create({
      model: 'gpt-6.2-sol',
      conversation: { id: conversation.id },
      input: calls.map((c, i) => ({
        type: 'function_call_output' as const,
        call_id: c.call_id,
        output: 'AB'[i] ?? '',
      })),
      tools,
    });
    expect(second.output_text).toBe('both files read');
    // No usage in the step: the input tokens are what the request carries; the default output is 20.
    const counted = fake.requests[1]?.tokens.input ?? 0;
    expect(counted).toBeGreaterThan(0);
    expect(second.usage).toMatchObject({ input_tokens: counted, output_tokens: 20, total_tokens: counted + 20 });

    const items = fake.conversationItems(conversation.id);
    expect(types(items)).toEqual([
      'message',
      'function_call',
      'function_call',
      'function_call_output',
      'function_call_output',
      'message',
    ]);
    expect(items.map((item) => item.call_id ?? item.role)).toEqual([
      'user',
      calls[0]?.call_id,
      calls[1]?.call_id,
      calls[0]?.call_id,
      calls[1]?.call_id,
      'assistant',
    ]);
    expect(fake.duplicateCallOutputs(conversation.id)).toEqual([]);
    expect(fake.functionCallOutputs(conversation.id, calls[1]?.call_id ?? '')).toHaveLength(1);
    expect(fake.requests.map((r) => r.conversationId)).toEqual([conversation.id, conversation.id]);
    expect(fake.requests[0]?.inputText).toBe('read a.ts and b.ts');
    expect(fake.requests[0]?.body.tools).toEqual(tools);
    await expect(client.responses.retrieve(second.id)).resolves.toMatchObject({ output_text: 'both files read' });
    fake.assertDone();
  });

  it('sends invalid JSON arguments verbatim and flags duplicate function_call_outputs', async () => {
    const conversation = fake.createConversation();
    fake.enqueue(rawArguments('read_file', '{not json', { callId: 'call_bad' }), text('a'), text('b'));
    const response = await client.responses.create({ model: 'm', conversation: conversation.id, input: 'x', tools });
    expect(response.output[0]).toMatchObject({ type: 'function_call', call_id: 'call_bad', arguments: '{not json' });
    const answer = { type: 'function_call_output' as const, call_id: 'call_bad', output: 'invalid JSON' };
    await client.responses.create({ model: 'm', conversation: conversation.id, input: [answer] });
    await client.responses.create({ model: 'm', conversation: conversation.id, input: [answer] });
    expect(fake.duplicateCallOutputs(conversation.id)).toEqual(['call_bad']);
  });

  it('rejects an unknown conversation with 404 without consuming a step', async () => {
    fake.enqueue(text('unused'));
    const error = await client.responses
      .create({ model: 'm', conversation: 'conv_missing', input: 'x' })
      .catch((e) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(fake.remainingSteps()).toBe(1);
    expect(fake.requests[0]?.outcome).toBe('rejected');
  });
});

describe('fake OpenAI: responses (SSE)', () => {
  it('streams parallel function calls and text; finalResponse() and event iteration work', async () => {
    const conversation = await client.conversations.create({});
    fake.enqueue(
      toolCalls([
        { name: 'read_file', arguments: { path: 'a.ts' }, callId: 'call_a' },
        { name: 'read_file', arguments: { path: 'b.ts' }, callId: 'call_b' },
      ]),
      (request) => {
        expect(request.stream).toBe(true);
        expect(request.functionCallOutputs.map((o) => o.call_id)).toEqual(['call_a', 'call_b']);
        return text('streamed answer', { usage: { input_tokens: 300, output_tokens: 7 } });
      },
    );

    const stream = client.responses.stream({ model: 'm', conversation: conversation.id, input: 'go', tools });
    const events: ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const first = await stream.finalResponse();
    expect(first.status).toBe('completed');
    expect(first.output.map((item) => item.type === 'function_call' && item.call_id)).toEqual(['call_a', 'call_b']);
    expect(first.output.map((item) => item.type === 'function_call' && JSON.parse(item.arguments))).toEqual([
      { path: 'a.ts' },
      { path: 'b.ts' },
    ]);
    expect(events[0]?.type).toBe('response.created');
    expect(events.at(-1)?.type).toBe('response.completed');
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const kinds = new Set(events.map((e) => e.type));
    for (const kind of [
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
    ]) {
      expect(kinds).toContain(kind);
    }

    const deltas: string[] = [];
    const second = client.responses.stream({
      model: 'm',
      conversation: conversation.id,
      input: [
        { type: 'function_call_output', call_id: 'call_a', output: 'A' },
        { type: 'function_call_output', call_id: 'call_b', output: 'B' },
      ],
    });
    second.on('response.output_text.delta', (event) => deltas.push(event.delta));
    const final = await second.finalResponse();
    expect(final.output_text).toBe('streamed answer');
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe('streamed answer');
    expect(final.usage).toMatchObject({ input_tokens: 300, output_tokens: 7, total_tokens: 307 });
    expect(types(fake.conversationItems(conversation.id))).toEqual([
      'message',
      'function_call',
      'function_call',
      'function_call_output',
      'function_call_output',
      'message',
    ]);
    expect(fake.requests[0]?.headers['x-stainless-helper-method']).toBe('stream');
  });

  it('a broken stream resolves finalResponse() with the in-progress snapshot and appends nothing', async () => {
    const conversation = fake.createConversation();
    fake.enqueue(
      brokenStream(toolCalls([{ name: 'read_file', arguments: { path: 'long/path.ts' } }]), { cutAfterEvents: 4 }),
    );
    const response = await client.responses
      .stream({ model: 'm', conversation: conversation.id, input: 'x' })
      .finalResponse();
    expect(response.status).toBe('in_progress');
    const item = response.output[0];
    expect(item?.type === 'function_call' && item.arguments.length).toBeGreaterThan(0);
    expect(item?.type === 'function_call' && item.arguments).not.toBe(JSON.stringify({ path: 'long/path.ts' }));
    expect(fake.conversationItems(conversation.id)).toEqual([]);
  });

  it('error frames: both the documented and the wrapped shape reject with APIError (openai 7)', async () => {
    fake.enqueue(streamError('server_error', 'boom'), streamError('server_error', 'boom', 'wrapped'));
    const plain = await client.responses
      .stream({ model: 'm', input: 'x' })
      .finalResponse()
      .catch((e: unknown) => e);
    expect(plain).toBeInstanceOf(APIError);
    expect(plain).toMatchObject({ status: undefined, message: 'boom' });
    const wrapped = await client.responses
      .stream({ model: 'm', input: 'x' })
      .finalResponse()
      .catch((e: unknown) => e);
    expect(wrapped).toBeInstanceOf(APIError);
    expect(wrapped).toMatchObject({ status: undefined, code: 'server_error' });
  });
});

describe('fake OpenAI: errors, retries, aborts', () => {
  it('an injected 500 is retried by the SDK (x-stainless-retry-count 0, 1, 2)', async () => {
    fake.script([httpError(500, { message: 'upstream hiccup' }), httpError(503), text('recovered')]);
    const response = await client.responses.create({ model: 'm', input: 'x' });
    expect(response.output_text).toBe('recovered');
    expect(fake.requests.map((r) => r.retryCount)).toEqual([0, 1, 2]);
    expect(fake.requests.map((r) => r.outcome)).toEqual(['http_error', 'http_error', 'completed']);
  });

  it('500s past maxRetries surface as InternalServerError', async () => {
    fake.script([httpError(500), httpError(500)]);
    const error = await client.responses.create({ model: 'm', input: 'x' }, { maxRetries: 1 }).catch((e) => e);
    expect(error).toBeInstanceOf(InternalServerError);
    expect(fake.requests).toHaveLength(2);
  });

  it('429 insufficient_quota with x-should-retry: false is a RateLimitError and is not retried', async () => {
    const conversation = fake.createConversation();
    fake.enqueue(insufficientQuota(), text('unused'));
    const error = await client.responses
      .create({ model: 'm', conversation: conversation.id, input: 'x' })
      .catch((e) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({ status: 429, code: 'insufficient_quota', type: 'insufficient_quota' });
    expect(fake.requests).toHaveLength(1);
    expect(fake.remainingSteps()).toBe(1);
    expect(fake.conversationItems(conversation.id)).toEqual([]);
  });

  it('a hang is aborted through signal: APIUserAbortError and the fake records the abort', async () => {
    const conversation = fake.createConversation();
    fake.enqueue(hang());
    const controller = new AbortController();
    const pending = client.responses
      .create({ model: 'm', conversation: conversation.id, input: 'x' }, { signal: controller.signal })
      .catch((e: unknown) => e);
    await fake.waitForRequests(1);
    controller.abort();
    expect(await pending).toBeInstanceOf(APIUserAbortError);
    await fake.waitForAborts(1);
    expect(fake.aborted).toBe(1);
    expect(fake.requests[0]).toMatchObject({ outcome: 'hang', aborted: true });
    expect(fake.conversationItems(conversation.id)).toEqual([]);
  });

  it('a stream stalled after response.created is aborted through signal', async () => {
    fake.enqueue(hang({ afterHeaders: true }));
    const controller = new AbortController();
    const stream = client.responses.stream({ model: 'm', input: 'x' }, { signal: controller.signal });
    const created = new Promise((resolve) => stream.on('response.created', resolve));
    const done = stream.finalResponse().catch((e: unknown) => e);
    await created;
    controller.abort();
    expect(await done).toBeInstanceOf(APIUserAbortError);
    await fake.waitForAborts(1);
    expect(fake.requests[0]?.aborted).toBe(true);
  });

  it('a delayed step still answers; aborting during the delay cancels it', async () => {
    fake.enqueue(delay(20, text('late')), delay(10_000, text('never')));
    await expect(client.responses.create({ model: 'm', input: 'x' })).resolves.toMatchObject({ output_text: 'late' });
    const controller = new AbortController();
    const pending = client.responses.create({ model: 'm', input: 'x' }, { signal: controller.signal }).catch((e) => e);
    await fake.waitForRequests(2);
    controller.abort();
    expect(await pending).toBeInstanceOf(APIUserAbortError);
    await fake.waitForAborts(1);
  });

  it('an exhausted script answers a loud 500 once and records the unexpected call', async () => {
    fake.enqueue(text('only one'));
    await client.responses.create({ model: 'm', input: 'x' });
    const error = await client.responses.create({ model: 'm', input: 'again' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InternalServerError);
    expect((error as InternalServerError).message).toContain('no scripted step left');
    expect((error as InternalServerError).code).toBe('fake_script_exhausted');
    expect(fake.requests).toHaveLength(2);
    expect(fake.unexpectedCalls).toHaveLength(1);
    expect(() => fake.assertDone()).toThrow(/no scripted step left/);
  });

  it('a step function that throws answers 400 fake_step_threw (not retried) and is reported by its script', async () => {
    const handle = fake.script(
      [
        () => {
          throw new Error('expected tool output missing');
        },
        text('never reached'),
      ],
      'the throwing script',
    );
    const error = await client.responses.create({ model: 'm', input: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error).toMatchObject({ status: 400, code: 'fake_step_threw' });
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]?.outcome).toBe('step_threw');
    expect(fake.stepErrors).toEqual([{ requestIndex: 0, script: 'the throwing script', error: expect.any(Error) }]);
    expect(handle.errors).toHaveLength(1);
    expect(handle.remaining()).toBe(1);
    expect(() => handle.assertDone()).toThrow(/the throwing script: 1 scripted step\(s\) not consumed/);
    expect(() => fake.assertDone()).toThrow(
      /the throwing script: step for request #0 threw: expected tool output missing/,
    );
  });
});

/** The request's error, which must be a 400 the fake gave on its own (no step consumed, nothing appended). */
async function refused(request: Promise<unknown>): Promise<BadRequestError> {
  const error = await request.then(
    () => new Error('the fake accepted the request'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BadRequestError);
  expect(error).toMatchObject({ status: 400, type: 'invalid_request_error' });
  return error as BadRequestError;
}

describe('fake OpenAI: the function-call protocol of a conversation (400, nothing appended, no step used)', () => {
  /** A conversation holding `read a.ts` and the model's call `call_a` (and `call_b` with `parallel`). */
  async function pendingCall(parallel = false): Promise<string> {
    const conversation = await client.conversations.create({});
    const calls = [{ name: 'read_file', arguments: { path: 'a.ts' }, callId: 'call_a' }];
    if (parallel) calls.push({ name: 'read_file', arguments: { path: 'b.ts' }, callId: 'call_b' });
    fake.script([toolCalls(calls)]);
    await client.responses.create({ model: 'm', conversation: conversation.id, input: 'read a.ts', tools });
    return conversation.id;
  }

  it('a function_call left without output: No tool output found for function call …', async () => {
    const conversation = await pendingCall();
    const before = fake.conversationItems(conversation);
    fake.script([text('unused')]);
    const error = await refused(
      client.responses.create({ model: 'm', conversation, input: 'and now something else', tools }),
    );
    expect(error.message).toBe('400 No tool output found for function call call_a.');
    expect(error).toMatchObject({ param: 'input', code: null });
    expect(fake.conversationItems(conversation)).toEqual(before);
    expect(fake.remainingSteps()).toBe(1);
    expect(fake.requests[1]).toMatchObject({ outcome: 'rejected', httpStatus: 400 });
    expect(fake.requests[1]?.rejection?.error.message).toBe('No tool output found for function call call_a.');
    expect(fake.rejections).toEqual([
      expect.objectContaining({ method: 'POST', path: '/v1/responses', requestIndex: 1, status: 400 }),
    ]);
    expect(() => fake.assertDone()).toThrow(
      /refused POST \/v1\/responses \(request #1\) with 400: No tool output found/,
    );
  });

  it('parallel calls with only one answered: the other is named', async () => {
    const conversation = await pendingCall(true);
    const error = await refused(
      client.responses.create({
        model: 'm',
        conversation,
        input: [{ type: 'function_call_output', call_id: 'call_a', output: 'A' }],
      }),
    );
    expect(error.message).toBe('400 No tool output found for function call call_b.');
  });

  it('an output whose call_id matches no call: No tool call found for function call output …', async () => {
    const conversation = await pendingCall();
    const error = await refused(
      client.responses.create({
        model: 'm',
        conversation,
        input: [
          { type: 'function_call_output', call_id: 'call_a', output: 'A' },
          { type: 'function_call_output', call_id: 'call_nope', output: '?' },
        ],
      }),
    );
    expect(error.message).toBe('400 No tool call found for function call output with call_id call_nope.');
    expect(error.param).toBe('input');
  });

  it('the same rules hold for a stateless input array', async () => {
    const error = await refused(
      client.responses.create({
        model: 'm',
        input: [
          { role: 'user', content: 'go' },
          { type: 'function_call', call_id: 'call_x', name: 'read_file', arguments: '{}' },
        ],
      }),
    );
    expect(error.message).toBe('400 No tool output found for function call call_x.');
  });

  it('answering every call (then more input) is accepted and appended in order', async () => {
    const conversation = await pendingCall(true);
    fake.script([text('done')]);
    await client.responses.create({
      model: 'm',
      conversation,
      input: [
        { type: 'function_call_output', call_id: 'call_b', output: 'B' },
        { type: 'function_call_output', call_id: 'call_a', output: 'A' },
        { role: 'user', content: 'also this' },
      ],
    });
    expect(types(fake.conversationItems(conversation))).toEqual([
      'message',
      'function_call',
      'function_call',
      'function_call_output',
      'function_call_output',
      'message',
      'message',
    ]);
    fake.assertDone();
  });

  it('a response lost after the server stored it leaves calls the next request must answer', async () => {
    const conversation = await client.conversations.create({});
    fake.script([
      lostAfterAppend(
        toolCalls([{ name: 'read_file', arguments: { path: 'a.ts' }, callId: 'call_lost' }]),
        httpError(500, { message: 'upstream died after storing' }),
      ),
      text('recovered'),
    ]);
    const lost = await client.responses
      .create({ model: 'm', conversation: conversation.id, input: 'read a.ts' }, { maxRetries: 0 })
      .catch((e: unknown) => e);
    expect(lost).toBeInstanceOf(InternalServerError);
    expect(types(fake.conversationItems(conversation.id))).toEqual(['message', 'function_call']);
    // Resending the same input blindly is what the real API refuses.
    const blind = await refused(client.responses.create({ model: 'm', conversation: conversation.id, input: 'x' }));
    expect(blind.message).toBe('400 No tool output found for function call call_lost.');
    const answered = await client.responses.create({
      model: 'm',
      conversation: conversation.id,
      input: [{ type: 'function_call_output', call_id: 'call_lost', output: 'interrupted' }],
    });
    expect(answered.output_text).toBe('recovered');
    fake.takeProblems(); // the deliberate refusal
  });
});

describe('fake OpenAI: strict input item shapes (400 with the API’s wording)', () => {
  async function conversationWithCall(): Promise<string> {
    const conversation = await client.conversations.create({});
    fake.script([toolCalls([{ name: 'read_file', arguments: { path: 'a.ts' }, callId: 'call_a' }])]);
    await client.responses.create({ model: 'm', conversation: conversation.id, input: 'read a.ts' });
    return conversation.id;
  }

  it('`id` where `call_id` belongs: Missing required parameter input[0].call_id', async () => {
    const conversation = await conversationWithCall();
    const error = await refused(
      client.responses.create({
        model: 'm',
        conversation,
        input: [{ type: 'function_call_output', id: 'call_a', output: 'A' } as never],
      }),
    );
    expect(error.message).toBe("400 Missing required parameter: 'input[0].call_id'.");
    expect(error).toMatchObject({ param: 'input[0].call_id', code: 'missing_required_parameter' });
    expect(types(fake.conversationItems(conversation))).toEqual(['message', 'function_call']);
  });

  it('a field the item does not have: Unknown parameter', async () => {
    const conversation = await conversationWithCall();
    const error = await refused(
      client.responses.create({
        model: 'm',
        conversation,
        input: [{ type: 'function_call_output', call_id: 'call_a', output: 'A', callId: 'call_a' } as never],
      }),
    );
    expect(error.message).toBe("400 Unknown parameter: 'input[0].callId'.");
    expect(error).toMatchObject({ param: 'input[0].callId', code: 'unknown_parameter' });
  });

  it('a function_call_output whose output is not a string (or a list of parts)', async () => {
    const conversation = await conversationWithCall();
    const error = await refused(
      client.responses.create({
        model: 'm',
        conversation,
        input: [{ type: 'function_call_output', call_id: 'call_a', output: { ok: true } } as never],
      }),
    );
    expect(error.message).toBe(
      "400 Invalid type for 'input[0].output': expected one of a string or array of objects, but got an object instead.",
    );
    expect(error.code).toBe('invalid_type');
  });

  it('an empty call_id', async () => {
    const error = await refused(
      client.responses.create({
        model: 'm',
        input: [{ type: 'function_call_output', call_id: '', output: 'A' }],
      }),
    );
    expect(error).toMatchObject({ param: 'input[0].call_id', code: 'empty_string' });
  });

  it('a message without role', async () => {
    const error = await refused(
      client.responses.create({ model: 'm', input: [{ type: 'message', content: 'hi' } as never] }),
    );
    expect(error.message).toBe("400 Missing required parameter: 'input[0].role'.");
  });

  it('a message without content', async () => {
    const error = await refused(client.responses.create({ model: 'm', input: [{ role: 'user' } as never] }));
    expect(error.message).toBe("400 Missing required parameter: 'input[0].content'.");
  });

  it('a message with an unknown role', async () => {
    const error = await refused(
      client.responses.create({ model: 'm', input: [{ role: 'bot', content: 'hi' } as never] }),
    );
    expect(error).toMatchObject({ param: 'input[0].role', code: 'invalid_value' });
  });

  it('an item with an unknown type', async () => {
    const error = await refused(
      client.responses.create({ model: 'm', input: [{ type: 'tool_result', call_id: 'c', output: 'x' } as never] }),
    );
    expect(error).toMatchObject({ param: 'input[0].type', code: 'invalid_value' });
  });

  it('the same shapes are checked on POST /conversations/{id}/items, and at most 20 items per call', async () => {
    const conversation = await client.conversations.create({});
    const bad = await refused(
      client.conversations.items.create(conversation.id, {
        items: [{ type: 'function_call_output', id: 'call_a', output: 'A' } as never],
      }),
    );
    expect(bad.message).toBe("400 Missing required parameter: 'items[0].call_id'.");
    const many = Array.from({ length: 21 }, (_, i) => ({ role: 'user' as const, content: `m${i}` }));
    const tooMany = await refused(client.conversations.items.create(conversation.id, { items: many }));
    expect(tooMany.message).toBe(
      "400 Invalid 'items': array too long. Expected an array with maximum length 20, but got an array with length 21 instead.",
    );
    expect(tooMany.code).toBe('array_above_max_length');
    expect(fake.conversationItems(conversation.id)).toEqual([]);
    expect(fake.rejections.map((r) => r.path)).toEqual([
      `/v1/conversations/${conversation.id}/items`,
      `/v1/conversations/${conversation.id}/items`,
    ]);
  });

  it('conversation + previous_response_id, and conversation + context_management, are refused', async () => {
    const conversation = fake.createConversation();
    fake.script([text('unused')]);
    const both = await refused(
      client.responses.create({
        model: 'm',
        conversation: conversation.id,
        previous_response_id: 'resp_x',
        input: 'x',
      }),
    );
    expect(both.param).toBe('conversation');
    const managed = await refused(
      client.responses.create({
        model: 'm',
        conversation: conversation.id,
        input: 'x',
        context_management: [{ type: 'compaction', compact_threshold: 200_000 }],
      }),
    );
    expect(managed.param).toBe('context_management');
    expect(fake.remainingSteps()).toBe(1);
  });
});

describe('fake OpenAI: per-script problems and takeProblems()', () => {
  it('reports leftovers under each script’s label, then forgets them so the next test starts clean', async () => {
    fake.script([text('one')], 'first');
    fake.script([text('two'), text('three')], 'second');
    await client.responses.create({ model: 'm', input: 'x' });
    await client.responses.create({ model: 'm', input: 'x' });
    expect(fake.problems()).toEqual(['second: 1 scripted step(s) not consumed']);
    expect(fake.takeProblems()).toEqual(['second: 1 scripted step(s) not consumed']);
    expect(fake.remainingSteps()).toBe(0);
    expect(fake.problems()).toEqual([]);
    fake.assertDone();
    // Requests and conversations are kept; only problems are forgotten.
    expect(fake.requests).toHaveLength(2);
  });

  it('onScript is called for every script', async () => {
    let calls = 0;
    const own = await startFakeOpenAI({ onScript: () => calls++ });
    own.script([text('a')]);
    own.enqueue(text('b'));
    expect(calls).toBe(2);
    await own.close();
  });
});

describe('fake OpenAI: input tokens are what the request carries', () => {
  const instructions = 'You are a careful developer. '.repeat(14); // 406 characters
  const tokensOf = (value: string) => Math.ceil(value.length / CHARS_PER_TOKEN);
  const ITEM = 4; // per-item framing

  it('instructions + tools + conversation + input ≈ characters / 4; the previous request’s prefix is cached', async () => {
    const conversation = await client.conversations.create({});
    fake.script([
      toolCalls([{ name: 'read_file', arguments: { path: 'a.ts' }, callId: 'call_1' }]),
      toolCalls([{ name: 'read_file', arguments: { path: 'b.ts' }, callId: 'call_2' }]),
      text('done'),
    ]);
    const first = await client.responses.create({
      model: 'm',
      conversation: conversation.id,
      instructions,
      tools,
      input: 'read a.ts',
    });
    const prefix = tokensOf(instructions) + tokensOf(JSON.stringify(tools));
    const firstInput = prefix + tokensOf('read a.ts') + ITEM;
    expect(first.usage).toMatchObject({ input_tokens: firstInput, input_tokens_details: { cached_tokens: 0 } });
    expect(fake.requests[0]?.tokens).toEqual({ input: firstInput, cached: 0 });

    const output = 'x'.repeat(4000);
    const second = await client.responses.create({
      model: 'm',
      conversation: conversation.id,
      instructions,
      tools,
      input: [{ type: 'function_call_output', call_id: 'call_1', output }],
    });
    const call = tokensOf(`read_file${JSON.stringify({ path: 'a.ts' })}`) + ITEM;
    const secondInput = firstInput + call + tokensOf(output) + ITEM;
    expect(second.usage).toMatchObject({
      input_tokens: secondInput,
      input_tokens_details: { cached_tokens: firstInput },
      total_tokens: secondInput + 20,
    });

    // Editing the instructions breaks the prefix: nothing is cached.
    const third = await client.responses.create({
      model: 'm',
      conversation: conversation.id,
      instructions: `${instructions} Today is Tuesday.`,
      tools,
      input: [{ type: 'function_call_output', call_id: 'call_2', output: 'B' }],
    });
    expect(third.usage?.input_tokens_details.cached_tokens).toBe(0);
    expect(third.usage?.input_tokens).toBeGreaterThan(secondInput);
  });

  it('explicit usage in a step, and defaultUsage.input_tokens, still win', async () => {
    fake.script([text('a', { usage: { input_tokens: 5, output_tokens: 1 } }), text('b')]);
    await expect(client.responses.create({ model: 'm', input: 'x' })).resolves.toMatchObject({
      usage: { input_tokens: 5, output_tokens: 1, input_tokens_details: { cached_tokens: 0 } },
    });
    const counted = await client.responses.create({ model: 'm', input: 'x' });
    expect(counted.usage?.input_tokens).toBe(fake.requests[1]?.tokens.input);

    const fixed = await startFakeOpenAI({ defaultUsage: { input_tokens: 100, output_tokens: 20 } });
    fixed.script([text('c')]);
    const own = new OpenAI({ apiKey: fixed.apiKey, baseURL: fixed.url });
    await expect(own.responses.create({ model: 'm', input: 'x' })).resolves.toMatchObject({
      usage: { input_tokens: 100, output_tokens: 20, total_tokens: 120 },
    });
    await fixed.close();
  });

  /** `turns` tool turns with a 4 000-character output each; returns the usage of the last request. */
  async function toolLoop(conversation: string, turns: number, first: OpenAI.Responses.ResponseInput | string) {
    let input = first;
    let last: OpenAI.Responses.ResponseUsage | undefined;
    for (let turn = 0; turn < turns; turn++) {
      const callId = `call_${conversation.slice(-6)}_${turn}`;
      fake.script([toolCalls([{ name: 'read_file', arguments: { path: `f${turn}.ts` }, callId }])]);
      const response = await client.responses.create({ model: 'm', conversation, instructions, tools, input });
      last = response.usage;
      input = [{ type: 'function_call_output', call_id: callId, output: 'y'.repeat(4000) }];
    }
    return { usage: last, pending: input };
  }

  it('a 200-turn run crosses 200 000 input tokens; compacted, it starts over small', { timeout: 60_000 }, async () => {
    const long = await client.conversations.create({});
    const { usage, pending } = await toolLoop(long.id, 200, 'do the long task');
    expect(usage?.input_tokens).toBeGreaterThan(200_000);
    // Almost all of it was sent before.
    expect(usage?.input_tokens_details.cached_tokens).toBeGreaterThan(199_000);

    // Compact the history with the owed output, seed a new conversation, go on there.
    const history = [];
    for await (const item of client.conversations.items.list(long.id, { order: 'asc', limit: 100 })) {
      history.push(item);
    }
    const compacted = await client.responses.compact({
      model: 'gpt-6.2-sol',
      input: [...(history as OpenAI.Responses.ResponseInputItem[]), ...(pending as OpenAI.Responses.ResponseInput)],
    });
    expect(compacted.usage.input_tokens).toBeGreaterThan(200_000);
    const seeded = await client.conversations.create({
      items: compacted.output as OpenAI.Responses.ResponseInputItem[],
    });
    const next = await toolLoop(seeded.id, 2, 'Continue.');
    expect(next.usage?.input_tokens).toBeLessThan(10_000);
    expect(fake.requests.at(-1)?.tokens.input).toBe(next.usage?.input_tokens);
  });
});

describe('fake OpenAI: compaction', () => {
  async function historyWithAnsweredCall(): Promise<{
    conversation: string;
    items: OpenAI.Responses.ResponseInputItem[];
  }> {
    const conversation = await client.conversations.create({});
    fake.script([toolCalls([{ name: 'read_file', arguments: { path: 'a.ts' }, callId: 'call_a' }]), text('read it')]);
    await client.responses.create({ model: 'm', conversation: conversation.id, input: 'read a.ts' });
    await client.responses.create({
      model: 'm',
      conversation: conversation.id,
      input: [
        { type: 'function_call_output', call_id: 'call_a', output: 'z'.repeat(2000) },
        { role: 'user', content: 'and summarise it' },
      ],
    });
    const listed = await client.conversations.items.list(conversation.id, { order: 'asc' });
    return { conversation: conversation.id, items: listed.data as OpenAI.Responses.ResponseInputItem[] };
  }

  it('responses.compact returns the user messages, then one opaque compaction item', async () => {
    const { items } = await historyWithAnsweredCall();
    const compacted = await client.responses.compact({ model: 'gpt-6.2-sol', input: items });
    expect(compacted).toMatchObject({ object: 'response.compaction', id: expect.stringMatching(/^resp_/) });
    expect(typeof compacted.created_at).toBe('number');
    expect(compacted.output.map((item) => item.type)).toEqual(['message', 'message', 'compaction']);
    expect(compacted.output.slice(0, 2)).toMatchObject([
      { role: 'user', content: [{ type: 'input_text', text: 'read a.ts' }] },
      { role: 'user', content: [{ type: 'input_text', text: 'and summarise it' }] },
    ]);
    const compaction = compacted.output[2];
    expect(compaction).toMatchObject({ type: 'compaction', encrypted_content: expect.any(String) });
    expect(JSON.stringify(compaction)).not.toContain('zzzz');
    expect(compacted.usage).toMatchObject({ output_tokens: COMPACTION_ITEM_TOKENS });
    expect(compacted.usage.input_tokens).toBeGreaterThan(500);
    expect(fake.compactions).toHaveLength(1);
    expect(fake.compactions[0]).toMatchObject({ status: 200, response: { id: compacted.id } });
  });

  it('a conversation seeded with the compacted output counts the compaction item as a fixed size', async () => {
    const { conversation, items } = await historyWithAnsweredCall();
    const compacted = await client.responses.compact({ model: 'gpt-6.2-sol', input: items });
    const seeded = await client.conversations.create({
      items: compacted.output as OpenAI.Responses.ResponseInputItem[],
    });
    expect(fake.conversationItems(seeded.id).map((item) => item.type)).toEqual(['message', 'message', 'compaction']);
    fake.script([text('old'), text('new')]);
    await client.responses.create({ model: 'm', conversation, input: 'go on' });
    await client.responses.create({ model: 'm', conversation: seeded.id, input: 'go on' });
    const [old, fresh] = fake.requests.slice(-2);
    expect(fresh?.tokens.input).toBe(COMPACTION_ITEM_TOKENS + Math.ceil('go on'.length / CHARS_PER_TOKEN) + 4);
    expect(old?.tokens.input).toBeGreaterThan(COMPACTION_ITEM_TOKENS / 2);
    fake.assertDone();
  });

  it('a compaction item added to a conversation makes the earlier history count as compacted', async () => {
    const { conversation, items } = await historyWithAnsweredCall();
    const compacted = await client.responses.compact({ model: 'gpt-6.2-sol', input: items });
    const compaction = compacted.output.at(-1) as OpenAI.Responses.ResponseCompactionItem;
    await client.conversations.items.create(conversation, {
      items: [{ type: 'compaction', id: compaction.id, encrypted_content: compaction.encrypted_content }],
    });
    fake.script([text('short')]);
    await client.responses.create({ model: 'm', conversation, input: 'go on' });
    expect(fake.requests.at(-1)?.tokens.input).toBe(COMPACTION_ITEM_TOKENS + 2 + 4);
  });

  it('refuses a compaction item it did not issue', async () => {
    const error = await refused(
      client.conversations.create({ items: [{ type: 'compaction', encrypted_content: 'gAAAAB-made-up' }] }),
    );
    expect(error).toMatchObject({ param: 'items[0].encrypted_content' });
    const asInput = await refused(
      client.responses.create({ model: 'm', input: [{ type: 'compaction', encrypted_content: 'gAAAAB-made-up' }] }),
    );
    expect(asInput.param).toBe('input[0].encrypted_content');
  });

  it('refuses conversation on compact (not a parameter), a missing model, and a call left without output', async () => {
    const { conversation, items } = await historyWithAnsweredCall();
    const withConversation = await refused(client.responses.compact({ model: 'gpt-6.2-sol', conversation } as never));
    expect(withConversation.message).toBe("400 Unknown parameter: 'conversation'.");
    const noModel = await refused(client.responses.compact({ input: items } as never));
    expect(noModel).toMatchObject({ param: 'model', code: 'missing_required_parameter' });
    const pending = await refused(
      client.responses.compact({
        model: 'gpt-6.2-sol',
        input: [
          { role: 'user', content: 'x' },
          { type: 'function_call', call_id: 'call_open', name: 'read_file', arguments: '{}' },
        ],
      }),
    );
    expect(pending.message).toBe('400 No tool output found for function call call_open.');
    expect(fake.compactions.map((c) => c.status)).toEqual([400, 400, 400]);
    expect(fake.rejections.map((r) => r.path)).toEqual([
      '/v1/responses/compact',
      '/v1/responses/compact',
      '/v1/responses/compact',
    ]);
  });
});

describe('fake OpenAI: models and keys', () => {
  it('GET /v1/models/{model} knows the current models and 404s the rest', async () => {
    await expect(client.models.retrieve('gpt-6.2-sol')).resolves.toEqual({
      id: 'gpt-6.2-sol',
      object: 'model',
      created: expect.any(Number),
      owned_by: 'system',
    });
    for (const id of DEFAULT_MODELS) await expect(client.models.retrieve(id)).resolves.toMatchObject({ id });
    expect(DEFAULT_MODELS).toEqual(expect.arrayContaining(['gpt-6.2-sol', 'gpt-6.1-sol', 'gpt-6.2-astra']));
    const gone = await client.models.retrieve('gpt-5').catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(NotFoundError);
    expect(gone).toMatchObject({
      status: 404,
      code: 'model_not_found',
      message: '404 The model `gpt-5` does not exist or you do not have access to it.',
    });
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual([...DEFAULT_MODELS]);
  });

  it('the list of models is configurable', async () => {
    const own = await startFakeOpenAI({ models: ['gpt-7-nova'] });
    const ownClient = new OpenAI({ apiKey: own.apiKey, baseURL: own.url });
    await expect(ownClient.models.retrieve('gpt-7-nova')).resolves.toMatchObject({ id: 'gpt-7-nova' });
    await expect(ownClient.models.retrieve('gpt-6.2-sol')).rejects.toBeInstanceOf(NotFoundError);
    await own.close();
  });

  it('every route answers 401 invalid_api_key to a wrong key', async () => {
    const conversation = fake.createConversation();
    const wrong = new OpenAI({ apiKey: 'sk-wrong', baseURL: fake.url, maxRetries: 0 });
    const calls: Array<() => Promise<unknown>> = [
      () => wrong.conversations.create({}),
      () => wrong.conversations.retrieve(conversation.id),
      () => wrong.conversations.items.list(conversation.id),
      () => wrong.conversations.items.create(conversation.id, { items: [] }),
      () => wrong.responses.create({ model: 'm', input: 'x' }),
      () => wrong.responses.retrieve('resp_x'),
      () => wrong.responses.compact({ model: 'gpt-6.2-sol', input: 'x' }),
      () => wrong.models.retrieve('gpt-6.2-sol'),
      () => wrong.models.list(),
    ];
    for (const call of calls) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthenticationError);
      expect(error).toMatchObject({ status: 401, code: 'invalid_api_key' });
    }
    expect(fake.requests).toHaveLength(0);
    expect(fake.compactions).toHaveLength(0);
  });
});

describe('fake OpenAI: the per-test check (what the harness arms)', () => {
  // One fake shared by the tests of this block, as a flow file shares its harness.
  let shared: FakeOpenAI | undefined;
  let sharedClient: OpenAI;
  const arm = perTestCheck(() => shared);
  const failures: string[] = [];
  const recordFailure = () =>
    onTestFailed(({ task }) => {
      failures.push((task.result?.errors ?? []).map((e) => e.message).join('\n'));
    });

  beforeAll(async () => {
    shared = await startFakeOpenAI({ onScript: arm });
    sharedClient = new OpenAI({ apiKey: shared.apiKey, baseURL: shared.url, maxRetries: 0 });
  });
  afterAll(async () => {
    await shared?.close();
  });

  it.fails('a step that throws fails the test that ran it…', async () => {
    recordFailure();
    shared?.script([
      () => {
        throw new Error('the model saw no tool output');
      },
    ]);
    await sharedClient.responses.create({ model: 'm', input: 'x' }).catch(() => undefined);
  });

  it('…with the step’s own error, and the next test starts clean', async () => {
    expect(failures.shift()).toMatch(/script #1: step for request #0 threw: the model saw no tool output/);
    shared?.script([text('fine')]);
    await expect(sharedClient.responses.create({ model: 'm', input: 'x' })).resolves.toMatchObject({
      output_text: 'fine',
    });
    expect(shared?.problems()).toEqual([]);
  });

  it.fails('a step left unconsumed fails the test that left it…', () => {
    recordFailure();
    shared?.script([text('never asked for')], 'leftover script');
  });

  it('…and is gone for the next test', () => {
    expect(failures.shift()).toMatch(/leftover script: 1 scripted step\(s\) not consumed/);
    expect(shared?.remainingSteps()).toBe(0);
  });

  it.fails('a request the API would refuse fails the test that sent it…', async () => {
    arm();
    recordFailure();
    await sharedClient.responses
      .create({ model: 'm', input: [{ type: 'function_call_output', id: 'call_1', output: 'x' } as never] })
      .catch(() => undefined);
  });

  it('…naming the rule it broke', () => {
    expect(failures.shift()).toMatch(
      /refused POST \/v1\/responses \(request #\d+\) with 400: Missing required parameter: 'input\[0\]\.call_id'/,
    );
    expect(shared?.problems()).toEqual([]);
    expect(typeof checkOpenAIAfterEach).toBe('function');
  });
});
