/**
 * Scripted answers for the fake OpenAI `POST /responses` endpoint: a small discriminated union plus builders.
 * Each `POST /responses` consumes one step; a step is a `StepResult` or a function that returns one.
 */

/**
 * Token counts a scripted response reports. Unset `input_tokens` / `cached_tokens` are what the request carries
 * (`RecordedRequest.tokens`); unset `output_tokens` is the fake's default (20).
 */
export interface UsageSpec {
  input_tokens?: number;
  output_tokens?: number;
  cached_tokens?: number;
  /** `input_tokens_details.cache_write_tokens`; default 0. */
  cache_write_tokens?: number;
  reasoning_tokens?: number;
}

/** One `function_call` output item. `arguments` is JSON-encoded; `rawArguments` is sent verbatim (may be bad JSON). */
export interface FunctionCallSpec {
  type: 'function_call';
  name: string;
  arguments?: unknown;
  rawArguments?: string;
  /** Defaults to a generated `call_…`. */
  callId?: string;
  /** Defaults to a generated `fc_…`. */
  id?: string;
}

/** One assistant `message` output item with a single `output_text` part. */
export interface MessageSpec {
  type: 'message';
  text: string;
  /** Defaults to a generated `msg_…`. */
  id?: string;
}

export type OutputSpec = FunctionCallSpec | MessageSpec;

/** Terminal status of a scripted response. Only `completed` appends to the conversation. */
export type FinalStatus = 'completed' | 'incomplete' | 'failed';

export interface ResponseResult {
  kind: 'response';
  output: OutputSpec[];
  usage?: UsageSpec;
  /** Default `completed`. SSE ends with `response.completed` / `response.incomplete` / `response.failed`. */
  status?: FinalStatus;
}

export interface ErrorSpec {
  message: string;
  type?: string;
  code?: string | null;
  param?: string | null;
}

export interface HttpErrorResult {
  kind: 'http_error';
  status: number;
  error: ErrorSpec;
  headers?: Record<string, string>;
}

export interface HangResult {
  kind: 'hang';
  /**
   * false (default): never send anything. true: send 200 headers first (for a stream also `response.created` and
   * `response.in_progress`), then stall, so the client is mid-body when it aborts.
   */
  afterHeaders: boolean;
}

export interface DelayResult {
  kind: 'delay';
  ms: number;
  then: StepResult;
}

export interface BrokenStreamResult {
  kind: 'broken_stream';
  output: OutputSpec[];
  /** Send only the first N SSE events (default: every event except the final `response.completed`). */
  cutAfterEvents?: number;
  /** true: destroy the socket instead of ending the body cleanly. */
  destroy: boolean;
}

export interface StreamErrorResult {
  kind: 'stream_error';
  code: string | null;
  message: string;
  /** `documented`: `{type: 'error', code, message, param}`; `wrapped`: `{type: 'error', error: {…}}`. */
  frame: 'documented' | 'wrapped';
}

/** The server appends input and `output` to the conversation as if it completed, then answers with `failure`. */
export interface LostAfterAppendResult {
  kind: 'lost_after_append';
  output: OutputSpec[];
  failure: HttpErrorResult | BrokenStreamResult | HangResult | StreamErrorResult;
}

export type StepResult =
  | ResponseResult
  | HttpErrorResult
  | HangResult
  | DelayResult
  | BrokenStreamResult
  | StreamErrorResult
  | LostAfterAppendResult;

/** A loosely typed stored item (conversation item or normalized input item). */
export interface StoredItem {
  type: string;
  id?: string;
  [key: string]: unknown;
}

// ---------------------------------------------------------------------------------------------------------------
// Builders

export interface ResultOptions {
  usage?: UsageSpec;
  status?: FinalStatus;
}

export interface ToolCallInput {
  name: string;
  arguments?: unknown;
  rawArguments?: string;
  callId?: string;
  id?: string;
}

/** A `function_call` output item spec (for `output([...])`). */
export function call(input: ToolCallInput): FunctionCallSpec {
  return { type: 'function_call', ...input };
}

/** An assistant message output item spec (for `output([...])`). */
export function message(text: string, id?: string): MessageSpec {
  return id === undefined ? { type: 'message', text } : { type: 'message', text, id };
}

/** A response with any mix of output items, in order. */
export function output(items: OutputSpec[], options: ResultOptions = {}): ResponseResult {
  return { kind: 'response', output: items, ...options };
}

/** A response with one or more (parallel) function calls. */
export function toolCalls(calls: ToolCallInput[], options: ResultOptions = {}): ResponseResult {
  return output(calls.map(call), options);
}

/** A response with one function call whose `arguments` string is sent verbatim (e.g. invalid JSON). */
export function rawArguments(
  name: string,
  raw: string,
  options: ResultOptions & { callId?: string } = {},
): ResponseResult {
  const { callId, ...rest } = options;
  return output([call(callId === undefined ? { name, rawArguments: raw } : { name, rawArguments: raw, callId })], rest);
}

/** A response with one assistant text message. */
export function text(value: string, options: ResultOptions = {}): ResponseResult {
  return output([message(value)], options);
}

const DEFAULT_ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'invalid_request_error',
  403: 'invalid_request_error',
  404: 'invalid_request_error',
  409: 'invalid_request_error',
  429: 'requests',
};

/** An HTTP error with the OpenAI error body. Add `{'x-should-retry': 'false'}` etc. via `headers`. */
export function httpError(
  status: number,
  error: Partial<ErrorSpec> = {},
  headers?: Record<string, string>,
): HttpErrorResult {
  const spec: ErrorSpec = {
    message: error.message ?? `Fake HTTP ${status} error`,
    type: error.type ?? DEFAULT_ERROR_TYPES[status] ?? 'server_error',
    code: error.code ?? null,
    param: error.param ?? null,
  };
  return headers === undefined
    ? { kind: 'http_error', status, error: spec }
    : { kind: 'http_error', status, error: spec, headers };
}

/** 429 `insufficient_quota`; `retryable: false` (default) adds `x-should-retry: false` so the SDK fails fast. */
export function insufficientQuota(options: { retryable?: boolean } = {}): HttpErrorResult {
  return httpError(
    429,
    {
      message: 'You exceeded your current quota, please check your plan and billing details.',
      type: 'insufficient_quota',
      code: 'insufficient_quota',
    },
    options.retryable ? undefined : { 'x-should-retry': 'false' },
  );
}

/** Never answer (until the client disconnects). */
export function hang(options: { afterHeaders?: boolean } = {}): HangResult {
  return { kind: 'hang', afterHeaders: options.afterHeaders ?? false };
}

/** Wait `ms` (aborted early if the client disconnects), then answer with `then`. */
export function delay(ms: number, then: StepResult): DelayResult {
  return { kind: 'delay', ms, then };
}

/**
 * A stream that stops before `response.completed` (the SDK resolves `finalResponse()` with the in-progress
 * snapshot). Non-streaming requests get a truncated JSON body and a destroyed socket.
 */
export function brokenStream(
  items: OutputSpec[] | ResponseResult,
  options: { cutAfterEvents?: number; destroy?: boolean } = {},
): BrokenStreamResult {
  const result: BrokenStreamResult = {
    kind: 'broken_stream',
    output: Array.isArray(items) ? items : items.output,
    destroy: options.destroy ?? false,
  };
  if (options.cutAfterEvents !== undefined) result.cutAfterEvents = options.cutAfterEvents;
  return result;
}

/**
 * An SSE `error` frame after `response.created` (streaming). Non-streaming requests get a 200 response with
 * `status: 'failed'` and `error: {code, message}`.
 */
export function streamError(
  code: string | null,
  message: string,
  frame: StreamErrorResult['frame'] = 'documented',
): StreamErrorResult {
  return { kind: 'stream_error', code, message, frame };
}

/**
 * The response is lost after the server stored it: the request's input and `output` are appended to the conversation
 * (with ids, as a completed response would be), then the client gets `failure` (an HTTP error, a broken stream, a
 * hang). The client's next request must answer the calls it never saw (`No tool output found…` otherwise).
 */
export function lostAfterAppend(
  output: OutputSpec[] | ResponseResult,
  failure: HttpErrorResult | BrokenStreamResult | HangResult | StreamErrorResult,
): LostAfterAppendResult {
  return { kind: 'lost_after_append', output: Array.isArray(output) ? output : output.output, failure };
}
