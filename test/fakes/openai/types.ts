/** Public types of the fake OpenAI server (see ../openai-server.ts). */
import type { ResponseCreateParamsBase } from 'openai/resources/responses/responses';
import type { RecordedCompaction } from './compaction.js';
import type { ScriptHandle, StepError } from './script.js';
import type { ErrorSpec, StepResult, StoredItem } from './steps.js';
import type { PromptTokens } from './tokens.js';
import type { WireResponse } from './wire.js';

export type { RecordedCompaction } from './compaction.js';
export type { ScriptHandle, StepError } from './script.js';
export type { PromptTokens } from './tokens.js';

export interface FakeOpenAIOptions {
  /** Expected bearer key (default `sk-test-fake`). */
  apiKey?: string;
  /** `model` echoed when the request has none (default `gpt-fake`). */
  defaultModel?: string;
  /**
   * Usage of scripted responses that do not set their own. Default: 20 output tokens, and input tokens counted from
   * what the request carries (see `RecordedRequest.tokens`); an `input_tokens` here replaces that count.
   */
  defaultUsage?: { input_tokens?: number; output_tokens?: number };
  /** Ids `GET /v1/models/{model}` knows (default `DEFAULT_MODELS`: gpt-6.2-sol, gpt-6.1-sol, gpt-6-sol, gpt-6.2-astra). */
  models?: readonly string[];
  /** Called whenever `script()` / `enqueue()` add steps (the harness arms its per-test check there). */
  onScript?: () => void;
  /**
   * `retry-after-ms` added to scripted HTTP errors that set neither `retry-after-ms` nor `retry-after`, so SDK
   * retries are instant (default 0). `null` sends none: the SDK then backs off 0.5 s·2ⁿ with jitter.
   */
  retryAfterMs?: number | null;
}

/** A step decided at request time; `conversationItems` = the conversation before this request (a copy). */
export type StepFn = (request: RecordedRequest, conversationItems: StoredItem[]) => StepResult | Promise<StepResult>;
export type Step = StepResult | StepFn;

export type RequestOutcome =
  | 'pending'
  | 'completed'
  | 'incomplete'
  | 'failed'
  | 'http_error'
  | 'hang'
  | 'broken_stream'
  | 'stream_error'
  /** Script exhausted: 500 `fake_script_exhausted`. */
  | 'no_step'
  /** The step function threw: 500 `fake_step_threw`. */
  | 'step_threw'
  /**
   * Refused before any step was consumed: unknown conversation (404), or a 400 for a bad field, a bad input item or
   * a broken function-call protocol (see `RecordedRequest.rejection`). Nothing is appended.
   */
  | 'rejected';

/** One `POST /v1/responses` as the fake received it. */
export interface RecordedRequest {
  /** 0-based position in `fake.requests`. */
  index: number;
  body: ResponseCreateParamsBase & Record<string, unknown>;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  /** From `x-stainless-retry-count` (0 on the first attempt). */
  retryCount: number;
  stream: boolean;
  /** From `conversation` (string or `{id}`). */
  conversationId: string | null;
  /** `input` normalized as the API stores it (a string becomes a user message); no ids assigned. */
  inputItems: StoredItem[];
  /** Text of the input messages, joined by newlines. */
  inputText: string;
  /** The `function_call_output` items of `input`. */
  functionCallOutputs: Array<{ call_id: string; output: unknown }>;
  /** Conversation items before this request (the prior context). */
  priorItems: StoredItem[];
  outcome: RequestOutcome;
  httpStatus: number | null;
  responseId: string | null;
  /** The client disconnected before the fake finished answering. */
  aborted: boolean;
  /** Why the fake refused the request (outcome `rejected`). */
  rejection: { status: number; error: ErrorSpec } | null;
  /**
   * Input tokens the request carries (instructions + tools + the conversation's items from its last compaction on +
   * input, ≈ characters / 4) and the part of that prefix the previous request of the conversation sent. Reported
   * as `usage` unless the step sets `input_tokens`. Zero for a rejected request.
   */
  tokens: PromptTokens;
}

export interface Rejection {
  method: string;
  path: string;
  /** `fake.requests` index for `POST /responses`, else null. */
  requestIndex: number | null;
  status: number;
  error: ErrorSpec;
}

export interface UnexpectedCall {
  method: string;
  path: string;
  reason: string;
}

export interface HttpLogEntry {
  method: string;
  /** Path with query string. */
  path: string;
  status: number | null;
  aborted: boolean;
}

export interface FakeOpenAI {
  /** `http://127.0.0.1:<port>/v1`, for `baseURL`. */
  readonly url: string;
  readonly apiKey: string;
  /** Every `POST /v1/responses`, in arrival order (retries included). */
  readonly requests: readonly RecordedRequest[];
  /** Calls with no scripted step, unknown routes, unparsable bodies. */
  readonly unexpectedCalls: readonly UnexpectedCall[];
  /** Errors thrown by step functions (each answered 400 `fake_step_threw`, which the bot does not retry). */
  readonly stepErrors: readonly StepError[];
  /**
   * Every 400 the fake gave on its own, on any route: requests the API would refuse (a bad item, a broken call
   * protocol, a bad parameter). Scripted errors are not listed. A client defect, so `problems()` reports them.
   */
  readonly rejections: readonly Rejection[];
  /** Every `POST /v1/responses/compact`, in arrival order. */
  readonly compactions: readonly RecordedCompaction[];
  /** Every HTTP request (all routes) with its status. */
  readonly httpLog: readonly HttpLogEntry[];
  /** How many requests the client abandoned before the fake finished answering. */
  readonly aborted: number;
  /** Appends steps as one script; each `POST /responses` consumes one step, scripts in the order added. */
  enqueue(...steps: Step[]): ScriptHandle;
  /** Same as `enqueue(...steps)`, with a label that problems are reported under (default `script #n`). */
  script(steps: Step[], label?: string): ScriptHandle;
  /** Drops every script's leftover steps. */
  clearScript(): void;
  remainingSteps(): number;
  /** Seeds a conversation without going through HTTP. */
  createConversation(options?: { metadata?: Record<string, string>; items?: unknown[] }): { id: string };
  /** Copy of a conversation's items, oldest first. Throws for an unknown id. */
  conversationItems(conversationId: string): StoredItem[];
  /** `function_call_output` items of a conversation, optionally only those for one `call_id`. */
  functionCallOutputs(conversationId: string, callId?: string): StoredItem[];
  /** `call_id`s with more than one `function_call_output` (the double-append oracle; `[]` when clean). */
  duplicateCallOutputs(conversationId: string): string[];
  /** A stored response (as served by `GET /v1/responses/{id}`). */
  response(responseId: string): WireResponse | undefined;
  /** Resolves with `requests[n - 1]` once `n` `POST /responses` requests have arrived (default timeout 2 s). */
  waitForRequests(n: number, timeoutMs?: number): Promise<RecordedRequest>;
  /** Resolves once `aborted >= n` (default 1, timeout 2 s). */
  waitForAborts(n?: number, timeoutMs?: number): Promise<void>;
  /**
   * What `assertDone()` complains about: leftover steps and step errors (per script), unexpected calls, and requests
   * refused as the API would refuse them (each is a defect of the client or of the test).
   */
  problems(): string[];
  /**
   * `problems()`, then forgets them: drops leftover steps and clears step errors, unexpected calls and rejections, so
   * the next test starts clean. Requests, conversations and counters are kept.
   */
  takeProblems(): string[];
  /** Throws if `problems()` is not empty. */
  assertDone(): void;
  /** Forgets script, records, conversations and responses. */
  reset(): void;
  /** Stops the server, destroying open sockets (hanging requests included). */
  close(): Promise<void>;
}
