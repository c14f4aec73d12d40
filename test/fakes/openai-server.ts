/**
 * Loopback fake of the OpenAI Responses + Conversations API for integration tests that drive the real `openai`
 * SDK: `new OpenAI({apiKey: fake.apiKey, baseURL: fake.url})`. Wire shapes follow docs/platform-notes.md §1.
 *
 * Each `POST /v1/responses` consumes the next scripted step (`fake.script([text('done')])`); when the script is
 * exhausted the fake answers 500 (`x-should-retry: false`) and records the call in `fake.unexpectedCalls`.
 * With `conversation`, the request's input items and the output items are appended to the conversation only
 * when the response completes.
 *
 * Before a step is consumed the fake refuses, with the API's 400, what the API refuses (./openai/protocol.ts):
 * input items of the wrong shape, an output for an unknown call, a function call left without output, a forged
 * compaction item, `context_management` with `conversation`. A refused request consumes no step, appends nothing
 * and is listed in `fake.rejections`, which `assertDone()` / `takeProblems()` report.
 *
 * Also served: `POST /v1/responses/compact` (./openai/compaction.ts), `GET /v1/models[/{id}]`, the conversation
 * routes. Every route answers 401 `invalid_api_key` to a wrong bearer key.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { CompactionIssuer, compact, type RecordedCompaction } from './openai/compaction.js';
import { conversationRoute, createConversationRoute } from './openai/conversation-routes.js';
import { ConversationStore, type StoredConversation } from './openai/conversations.js';
import {
  describe,
  type Exchange,
  errorReply,
  isRecord,
  jsonHeaders,
  type Reply,
  readBody,
  SSE_HEADERS,
  send,
  sendHeadersOnly,
  sseFrames,
  writeBroken,
  writeSse,
} from './openai/http.js';
import { DEFAULT_MODELS, modelsRoute } from './openai/models.js';
import { checkCallPairing, checkItemCount, type Parsed, parseItems } from './openai/protocol.js';
import { describeStepError, type ScriptHandle, ScriptQueue, type StepError } from './openai/script.js';
import type { ErrorSpec, FinalStatus, StepResult, StoredItem } from './openai/steps.js';
import { promptSegments, promptTokens, type Segment } from './openai/tokens.js';
import type {
  FakeOpenAI,
  FakeOpenAIOptions,
  HttpLogEntry,
  RecordedRequest,
  Rejection,
  Step,
  UnexpectedCall,
} from './openai/types.js';
import {
  buildOutputItems,
  buildResponse,
  buildUsage,
  IdGenerator,
  itemsText,
  normalizeInputItems,
  nowSeconds,
  openingEvents,
  responseEvents,
  type WireResponse,
} from './openai/wire.js';

export type { ItemList, StoredConversation } from './openai/conversations.js';
export { DEFAULT_MODELS } from './openai/models.js';
export * from './openai/steps.js';
export { CHARS_PER_TOKEN, COMPACTION_ITEM_TOKENS } from './openai/tokens.js';
export type * from './openai/types.js';
export type { WireResponse } from './openai/wire.js';

interface Waiter {
  check: () => boolean;
  resolve: () => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

class FakeOpenAIServer implements FakeOpenAI {
  readonly apiKey: string;
  readonly requests: RecordedRequest[] = [];
  readonly unexpectedCalls: UnexpectedCall[] = [];
  readonly stepErrors: StepError[] = [];
  readonly rejections: Rejection[] = [];
  readonly compactions: RecordedCompaction[] = [];
  readonly httpLog: HttpLogEntry[] = [];
  url = '';
  readonly #server: Server;
  readonly #defaultModel: string;
  readonly #defaultUsage: { input?: number; output: number };
  readonly #retryAfterMs: number | null;
  readonly #models: readonly string[];
  readonly #onScript: (() => void) | undefined;
  readonly #ids = new IdGenerator();
  readonly #store = new ConversationStore(this.#ids);
  readonly #issuer = new CompactionIssuer(this.#ids);
  readonly #responses = new Map<string, WireResponse>();
  /** The prompt segments of the last accepted request of each conversation (for `cached_tokens`). */
  readonly #lastPrompt = new Map<string, Segment[]>();
  readonly #sockets = new Set<Socket>();
  readonly #inflight = new Set<AbortController>();
  readonly #waiters = new Set<Waiter>();
  readonly #scripts = new ScriptQueue();
  #aborted = 0;
  #closing = false;

  constructor(options: FakeOpenAIOptions) {
    this.apiKey = options.apiKey ?? 'sk-test-fake';
    this.#defaultModel = options.defaultModel ?? 'gpt-fake';
    this.#defaultUsage = { output: options.defaultUsage?.output_tokens ?? 20 };
    if (options.defaultUsage?.input_tokens !== undefined) this.#defaultUsage.input = options.defaultUsage.input_tokens;
    this.#models = options.models ?? DEFAULT_MODELS;
    this.#onScript = options.onScript;
    this.#retryAfterMs = options.retryAfterMs === undefined ? 0 : options.retryAfterMs;
    this.#server = createServer((req, res) => {
      void this.#handle(req, res);
    });
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = this.#server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}/v1`;
  }

  get aborted(): number {
    return this.#aborted;
  }

  enqueue(...steps: Step[]): ScriptHandle {
    return this.script(steps);
  }

  script(steps: Step[], label?: string): ScriptHandle {
    const script = this.#scripts.add(steps, label);
    this.#onScript?.();
    return script;
  }

  clearScript(): void {
    this.#scripts.clear();
  }

  remainingSteps(): number {
    return this.#scripts.remaining();
  }

  createConversation(options: { metadata?: Record<string, string>; items?: unknown[] } = {}): { id: string } {
    return this.#store.view(this.#store.create(options));
  }

  conversationItems(conversationId: string): StoredItem[] {
    const conversation = this.#store.get(conversationId);
    if (!conversation) throw new Error(`openai fake: unknown conversation ${conversationId}`);
    return structuredClone(conversation.items);
  }

  functionCallOutputs(conversationId: string, callId?: string): StoredItem[] {
    return this.conversationItems(conversationId).filter(
      (item) => item.type === 'function_call_output' && (callId === undefined || item.call_id === callId),
    );
  }

  duplicateCallOutputs(conversationId: string): string[] {
    const counts = new Map<string, number>();
    for (const item of this.functionCallOutputs(conversationId)) {
      const callId = String(item.call_id);
      counts.set(callId, (counts.get(callId) ?? 0) + 1);
    }
    return [...counts].filter(([, count]) => count > 1).map(([callId]) => callId);
  }

  response(responseId: string): WireResponse | undefined {
    const stored = this.#responses.get(responseId);
    return stored === undefined ? undefined : structuredClone(stored);
  }

  async waitForRequests(n: number, timeoutMs = 2000): Promise<RecordedRequest> {
    await this.#waitFor(`${n} POST /responses request(s)`, () => this.requests.length >= n, timeoutMs);
    const record = this.requests[n - 1];
    if (!record) throw new Error(`openai fake: request #${n - 1} missing`);
    return record;
  }

  waitForAborts(n = 1, timeoutMs = 2000): Promise<void> {
    return this.#waitFor(`${n} aborted request(s)`, () => this.#aborted >= n, timeoutMs);
  }

  problems(): string[] {
    const problems = this.#scripts.leftovers();
    problems.push(...this.stepErrors.map(describeStepError));
    for (const call of this.unexpectedCalls) problems.push(`unexpected ${call.method} ${call.path}: ${call.reason}`);
    for (const rejection of this.rejections) {
      const which = rejection.requestIndex === null ? '' : ` (request #${rejection.requestIndex})`;
      problems.push(
        `refused ${rejection.method} ${rejection.path}${which} with ${rejection.status}: ${rejection.error.message}`,
      );
    }
    return problems;
  }

  takeProblems(): string[] {
    const problems = this.problems();
    this.#scripts.clear();
    this.stepErrors.length = 0;
    this.unexpectedCalls.length = 0;
    this.rejections.length = 0;
    return problems;
  }

  assertDone(): void {
    const problems = this.problems();
    if (problems.length > 0) throw new Error(`openai fake: ${problems.join('; ')}`);
  }

  reset(): void {
    this.#scripts.clear();
    this.requests.length = 0;
    this.unexpectedCalls.length = 0;
    this.stepErrors.length = 0;
    this.rejections.length = 0;
    this.compactions.length = 0;
    this.httpLog.length = 0;
    this.#aborted = 0;
    this.#store.clear();
    this.#issuer.clear();
    this.#responses.clear();
    this.#lastPrompt.clear();
  }

  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    for (const control of this.#inflight) control.abort();
    for (const waiter of this.#waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error('openai fake: closed while waiting'));
    }
    this.#waiters.clear();
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
      for (const socket of this.#sockets) socket.destroy();
    });
  }

  // -------------------------------------------------------------------------------------------------------------

  #waitFor(description: string, check: () => boolean, timeoutMs: number): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        check,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          reject(new Error(`openai fake: timed out after ${timeoutMs} ms waiting for ${description}`));
        }, timeoutMs),
      };
      this.#waiters.add(waiter);
    });
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) {
      if (!waiter.check()) continue;
      clearTimeout(waiter.timer);
      this.#waiters.delete(waiter);
      waiter.resolve();
    }
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const entry: HttpLogEntry = { method, path: url.pathname + url.search, status: null, aborted: false };
    this.httpLog.push(entry);
    const requestId = this.#ids.next('req');
    const ex: Exchange = { req, res, requestId, entry, control: new AbortController(), selfClosed: false };
    this.#inflight.add(ex.control);
    res.on('close', () => {
      this.#inflight.delete(ex.control);
      if (res.writableFinished || ex.selfClosed || this.#closing) return;
      ex.control.abort();
      entry.aborted = true;
      if (ex.record) ex.record.aborted = true;
      this.#aborted += 1;
      this.#notify();
    });
    try {
      const reply = await this.#route(ex, method, url);
      if (reply) send(ex, reply);
    } catch (error) {
      this.unexpectedCalls.push({ method, path: entry.path, reason: `fake crashed: ${describe(error)}` });
      send(ex, errorReply(500, { message: `openai fake crashed: ${describe(error)}`, type: 'server_error' }));
    }
  }

  /** Returns a JSON reply, or null when the handler answers (or deliberately does not answer) itself. */
  async #route(ex: Exchange, method: string, url: URL): Promise<Reply | null> {
    const authorization = ex.req.headers.authorization;
    if (authorization !== `Bearer ${this.apiKey}`) {
      const key = authorization?.replace(/^Bearer /, '') ?? '';
      const message =
        authorization === undefined
          ? "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)." // (unverified)
          : `Incorrect API key provided: ${key}. You can find your API key at https://platform.openai.com/account/api-keys.`;
      return errorReply(401, { message, type: 'invalid_request_error', code: 'invalid_api_key' });
    }
    const raw = await readBody(ex.req);
    let body: unknown = {};
    try {
      if (raw.length > 0) body = JSON.parse(raw);
    } catch {
      this.unexpectedCalls.push({ method, path: ex.entry.path, reason: 'request body is not JSON' });
      return errorReply(400, { message: 'We could not parse the JSON body of your request.' });
    }
    const path = url.pathname.replace(/\/+$/, '');
    const segments = path.startsWith('/v1/') ? path.slice(4).split('/').map(decodeURIComponent) : [];
    const [resource, id, sub, itemId, extra] = segments;
    const validate = (items: unknown) => this.#validateItems(items);
    let reply: Reply | null = null;
    if (extra === undefined && resource === 'conversations' && id !== undefined) {
      const suffix = `${sub === undefined ? '' : `/${sub}`}${itemId === undefined ? '' : '/:item'}`;
      reply = conversationRoute(this.#store, `${method} ${suffix}`, id, body, url.searchParams, itemId, validate);
    } else if (segments.length === 1 && method === 'POST' && resource === 'conversations') {
      reply = createConversationRoute(this.#store, body, validate);
    } else if (segments.length === 1 && method === 'POST' && resource === 'responses') {
      await this.#createResponse(ex, body);
      return null;
    } else if (segments.length === 2 && method === 'POST' && resource === 'responses' && id === 'compact') {
      reply = this.#compact(body);
    } else if (segments.length === 2 && method === 'GET' && resource === 'responses' && id !== undefined) {
      const stored = this.#responses.get(id);
      if (stored) return { status: 200, body: stored };
      return errorReply(404, { message: `Response with id '${id}' not found.`, param: 'response_id' });
    } else if (segments.length <= 2 && resource === 'models') {
      reply = modelsRoute(this.#models, method, id);
    }
    if (reply) {
      if (reply.status === 400) this.#reject(method, ex.entry.path, null, reply);
      return reply;
    }
    this.unexpectedCalls.push({ method, path: ex.entry.path, reason: 'no such route in the fake' });
    return errorReply(404, { message: `Invalid URL (${method} ${url.pathname})` });
  }

  /** Records a 400 the fake gave on its own (a request the API would refuse). */
  #reject(method: string, path: string, requestIndex: number | null, reply: Reply): void {
    const error = (reply.body as { error: ErrorSpec }).error;
    this.rejections.push({ method, path, requestIndex, status: reply.status, error });
  }

  /** `items` of the conversation routes: at most 20, each of the right shape, compaction items issued here. */
  #validateItems(items: unknown): Parsed {
    const tooMany = checkItemCount(items);
    if (tooMany) return { ok: false, error: tooMany };
    const parsed = parseItems(items, 'items');
    if (!parsed.ok) return parsed;
    const forged = this.#issuer.verify(parsed.items, 'items');
    return forged ? { ok: false, error: forged } : parsed;
  }

  #compact(rawBody: unknown): Reply {
    const body = isRecord(rawBody) ? rawBody : {};
    const parsed = parseItems(body.input, 'input');
    const outcome = compact(body, parsed, this.#issuer, this.#ids, (items) => checkCallPairing([], items));
    const record: RecordedCompaction = {
      body: structuredClone(body),
      inputItems: parsed.ok ? parsed.items : [],
      status: outcome.ok ? 200 : outcome.status,
    };
    this.compactions.push(record);
    if (!outcome.ok) {
      record.error = outcome.error;
      return errorReply(outcome.status, outcome.error);
    }
    record.response = structuredClone(outcome.response);
    return { status: 200, body: outcome.response };
  }

  /** Why the API would refuse this `POST /responses` (400), or null. */
  #refusal(
    body: RecordedRequest['body'],
    conversation: StoredConversation | undefined,
    parsed: Parsed,
  ): ErrorSpec | null {
    if (conversation && body.previous_response_id) {
      const message = "Parameters 'previous_response_id' and 'conversation' cannot be used together.";
      return { message, param: 'conversation' };
    }
    if (conversation && body.context_management !== undefined && body.context_management !== null) {
      // Server-side compaction is documented for input arrays and previous_response_id chains, not for
      // conversations (platform notes §6). The fake refuses the combination so the bot cannot rely on it; the
      // wording is the fake's own (unverified).
      const message = "Parameter 'context_management' is not supported together with 'conversation'.";
      return { message, param: 'context_management', code: 'unsupported_parameter' };
    }
    if (!parsed.ok) return parsed.error;
    if (conversation) {
      const trigger = parsed.items.findIndex((item) => item.type === 'compaction_trigger');
      if (trigger >= 0) {
        // Same as context_management: compacting a stored conversation in place is not documented (unverified).
        const message = "Item type 'compaction_trigger' is not supported together with 'conversation'.";
        return { message, param: `input[${trigger}].type`, code: 'unsupported_parameter' };
      }
    }
    const forged = this.#issuer.verify(parsed.items, 'input');
    if (forged) return forged;
    // With previous_response_id the context is a stored response chain, which the fake does not keep: no pairing.
    if (!conversation && body.previous_response_id) return null;
    return checkCallPairing(conversation?.items ?? [], parsed.items);
  }

  async #createResponse(ex: Exchange, rawBody: unknown): Promise<void> {
    const body = (isRecord(rawBody) ? rawBody : {}) as RecordedRequest['body'];
    const conversationId = conversationIdOf(body.conversation);
    const conversation = conversationId === null ? undefined : this.#store.get(conversationId);
    const parsed = parseItems(body.input, 'input');
    // A refused input is still recorded as sent (leniently normalized) so tests can see it.
    const inputItems = parsed.ok ? parsed.items : normalizeInputItems(body.input);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(ex.req.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const record: RecordedRequest = {
      index: this.requests.length,
      body,
      headers,
      retryCount: Number(headers['x-stainless-retry-count'] ?? 0),
      stream: body.stream === true,
      conversationId,
      inputItems,
      inputText: itemsText(inputItems),
      functionCallOutputs: inputItems
        .filter((item) => item.type === 'function_call_output')
        .map((item) => ({ call_id: String(item.call_id), output: item.output })),
      priorItems: [],
      outcome: 'pending',
      httpStatus: null,
      responseId: null,
      aborted: ex.entry.aborted,
      rejection: null,
      tokens: { input: 0, cached: 0 },
    };
    // Stored items are never changed once appended: keep references now, copy only when a test reads them (a long
    // run's history copied on every request is quadratic).
    const prior = conversation ? [...conversation.items] : [];
    let priorCopy: StoredItem[] | undefined;
    Object.defineProperty(record, 'priorItems', {
      enumerable: true,
      get: () => {
        priorCopy ??= structuredClone(prior);
        return priorCopy;
      },
    });
    ex.record = record;
    this.requests.push(record);
    this.#notify();

    if (conversationId !== null && !conversation) {
      record.outcome = 'rejected';
      const error = { message: `Conversation with id '${conversationId}' not found.`, param: 'conversation' };
      record.rejection = { status: 404, error };
      return send(ex, errorReply(404, error));
    }
    const refusal = this.#refusal(body, conversation, parsed);
    if (refusal) {
      record.outcome = 'rejected';
      record.rejection = { status: 400, error: refusal };
      const reply = errorReply(400, refusal);
      this.#reject('POST', ex.entry.path, record.index, reply);
      return send(ex, reply);
    }
    const segments = promptSegments(body, conversation?.items ?? [], inputItems);
    record.tokens = promptTokens(segments, conversationId === null ? undefined : this.#lastPrompt.get(conversationId));
    if (conversationId !== null) this.#lastPrompt.set(conversationId, segments);

    const noRetry = { 'x-should-retry': 'false' };
    const next = this.#scripts.next();
    if (next === undefined) {
      record.outcome = 'no_step';
      const reason = `no scripted step left for POST /v1/responses (request #${record.index})`;
      this.unexpectedCalls.push({ method: 'POST', path: ex.entry.path, reason });
      const error = { message: `openai fake: ${reason}`, type: 'server_error', code: 'fake_script_exhausted' };
      return send(ex, errorReply(500, error, noRetry));
    }
    const { step, script } = next;
    let result: StepResult;
    try {
      result = typeof step === 'function' ? await step(record, structuredClone(prior)) : step;
    } catch (error) {
      record.outcome = 'step_threw';
      const stepError: StepError = { requestIndex: record.index, script: script.label, error };
      script.errors.push(stepError);
      this.stepErrors.push(stepError);
      // 400, not 500: the client must not retry into the next step; the test fails on the error itself.
      const message = `openai fake: step function threw: ${describe(error)}`;
      return send(ex, errorReply(400, { message, type: 'invalid_request_error', code: 'fake_step_threw' }, noRetry));
    }
    await this.#play(ex, record, result);
  }

  #newResponse(
    record: RecordedRequest,
    result: StepResult,
    status: FinalStatus | 'in_progress',
    output: WireResponse['output'],
  ): WireResponse {
    const response = buildResponse({
      id: this.#ids.next('resp'),
      createdAt: nowSeconds(),
      body: record.body,
      conversationId: record.conversationId,
      output,
      status,
      usage: result.kind === 'response' ? buildUsage(result.usage, this.#defaultUsage, record.tokens) : undefined,
      defaultModel: this.#defaultModel,
      ...(result.kind === 'stream_error' ? { error: { code: result.code, message: result.message } } : {}),
    });
    record.responseId = response.id;
    return response;
  }

  async #play(ex: Exchange, record: RecordedRequest, result: StepResult): Promise<void> {
    if (ex.control.signal.aborted) return;
    switch (result.kind) {
      case 'delay':
        try {
          await sleep(result.ms, undefined, { signal: ex.control.signal });
        } catch {
          return;
        }
        return this.#play(ex, record, result.then);
      case 'http_error':
        record.outcome = 'http_error';
        return send(ex, errorReply(result.status, result.error, this.#errorHeaders(result.headers)));
      case 'hang':
        record.outcome = 'hang';
        if (!result.afterHeaders) return;
        if (record.stream) writeSse(ex, openingEvents(this.#newResponse(record, result, 'in_progress', [])), false);
        else sendHeadersOnly(ex);
        return;
      case 'response': {
        const status = result.status ?? 'completed';
        const response = this.#newResponse(record, result, status, buildOutputItems(result.output, this.#ids));
        record.outcome = status;
        this.#responses.set(response.id, response);
        if (status === 'completed' && record.conversationId !== null) {
          const output = response.output as unknown as StoredItem[];
          this.#store.append(record.conversationId, [...record.inputItems, ...output]);
        }
        if (record.stream) return writeSse(ex, responseEvents(response), true);
        return send(ex, { status: 200, body: response });
      }
      case 'lost_after_append': {
        if (record.conversationId !== null) {
          const output = buildOutputItems(result.output, this.#ids) as unknown as StoredItem[];
          this.#store.append(record.conversationId, [...record.inputItems, ...output]);
        }
        return this.#play(ex, record, result.failure);
      }
      case 'broken_stream': {
        record.outcome = 'broken_stream';
        const response = this.#newResponse(record, result, 'completed', buildOutputItems(result.output, this.#ids));
        if (record.stream) {
          const events = responseEvents(response).slice(0, -1).slice(0, result.cutAfterEvents);
          return writeBroken(ex, SSE_HEADERS, sseFrames(events), result.destroy);
        }
        const json = JSON.stringify(response);
        return writeBroken(ex, jsonHeaders(), json.slice(0, Math.floor(json.length / 2)), true);
      }
      case 'stream_error': {
        record.outcome = 'stream_error';
        const response = this.#newResponse(record, result, 'failed', []);
        this.#responses.set(response.id, response);
        if (!record.stream) return send(ex, { status: 200, body: response });
        const error = { code: result.code, message: result.message, param: null };
        const frame =
          result.frame === 'documented'
            ? { type: 'error', ...error }
            : { type: 'error', error: { type: 'server_error', ...error } };
        return writeSse(ex, [...openingEvents(response), frame], true);
      }
    }
  }

  #errorHeaders(headers: Record<string, string> | undefined): Record<string, string> {
    const out = { ...headers };
    const names = Object.keys(out).map((name) => name.toLowerCase());
    if (this.#retryAfterMs !== null && !names.includes('retry-after-ms') && !names.includes('retry-after')) {
      out['retry-after-ms'] = String(this.#retryAfterMs);
    }
    return out;
  }
}

function conversationIdOf(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (isRecord(value) && typeof value.id === 'string') return value.id;
  return null;
}

/** Starts the fake on 127.0.0.1 (random port). Call `close()` in `afterEach` / `afterAll`. */
export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const fake = new FakeOpenAIServer(options);
  await fake.listen();
  return fake;
}
