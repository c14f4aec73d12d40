/**
 * Wire shapes of the fake OpenAI server: ids, item normalization, response objects and SSE event sequences.
 * Event payloads are checked against the `openai` 7 type declarations.
 */
import type {
  Response,
  ResponseCreateParamsBase,
  ResponseOutputItem,
  ResponseOutputText,
  ResponseStreamEvent,
  ResponseUsage,
} from 'openai/resources/responses/responses';
import type { ErrorSpec, FinalStatus, OutputSpec, StoredItem, UsageSpec } from './steps.js';

/** What the server sends; `output_text` is added by the SDK, never by the API. */
export type WireResponse = Omit<Response, 'output_text'>;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A stream event before the writer assigns its `sequence_number`. */
export type EventBody = DistributiveOmit<ResponseStreamEvent, 'sequence_number'>;

export class IdGenerator {
  #next = 1;
  next(prefix: string): string {
    const id = `${prefix}_fake${String(this.#next).padStart(6, '0')}`;
    this.#next += 1;
    return id;
  }
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export function errorBody(error: ErrorSpec): { error: Required<ErrorSpec> } {
  return {
    error: {
      message: error.message,
      type: error.type ?? 'invalid_request_error',
      param: error.param ?? null,
      code: error.code ?? null,
    },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Normalizes request `input` (or conversation `items`) the way the API stores them: a string becomes a user
 * message; `{role, content}` gets `type: 'message'`; string content becomes an `input_text` / `output_text` part.
 * Ids are not assigned here.
 */
export function normalizeInputItems(input: unknown): StoredItem[] {
  if (input === undefined || input === null) return [];
  if (typeof input === 'string') {
    return [{ type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_text', text: input }] }];
  }
  if (!Array.isArray(input)) return [];
  return input.filter(isRecord).map((raw) => {
    const item: Record<string, unknown> = structuredClone(raw);
    if (typeof item.type !== 'string' && typeof item.role === 'string') item.type = 'message';
    if (item.type === 'message') {
      if (typeof item.content === 'string') {
        item.content =
          item.role === 'assistant'
            ? [{ type: 'output_text', text: item.content, annotations: [] }]
            : [{ type: 'input_text', text: item.content }];
      }
      item.status ??= 'completed';
    }
    if (item.type === 'function_call_output') item.status ??= 'completed';
    return { ...item, type: String(item.type ?? 'unknown') };
  });
}

const ID_PREFIXES: Record<string, string> = {
  message: 'msg',
  function_call: 'fc',
  function_call_output: 'fco',
  reasoning: 'rs',
};

export function itemIdPrefix(type: string): string {
  return ID_PREFIXES[type] ?? 'item';
}

/** Concatenated `input_text` / `output_text` / string content of message items. */
export function itemsText(items: StoredItem[]): string {
  const texts: string[] = [];
  for (const item of items) {
    if (item.type !== 'message') continue;
    const content = item.content;
    if (typeof content === 'string') texts.push(content);
    else if (Array.isArray(content)) {
      for (const part of content) {
        if (isRecord(part) && typeof part.text === 'string') texts.push(part.text);
      }
    }
  }
  return texts.join('\n');
}

export function buildOutputItems(specs: OutputSpec[], ids: IdGenerator): ResponseOutputItem[] {
  return specs.map((spec): ResponseOutputItem => {
    if (spec.type === 'message') {
      return {
        type: 'message',
        id: spec.id ?? ids.next('msg'),
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: spec.text, annotations: [], logprobs: [] }],
      };
    }
    return {
      type: 'function_call',
      id: spec.id ?? ids.next('fc'),
      call_id: spec.callId ?? ids.next('call'),
      name: spec.name,
      arguments: spec.rawArguments ?? JSON.stringify(spec.arguments ?? {}),
      status: 'completed',
    };
  });
}

/**
 * `usage` of a response. Input tokens: the step's `input_tokens`, else the fake's `defaultUsage.input_tokens`, else
 * what the request carries (`counted`). Cached tokens: the step's `cached_tokens`, else the counted cached prefix
 * when the input is counted too, else 0.
 */
export function buildUsage(
  spec: UsageSpec | undefined,
  defaults: { input?: number; output: number },
  counted: { input: number; cached: number },
): ResponseUsage {
  const fixedInput = spec?.input_tokens ?? defaults.input;
  const input = fixedInput ?? counted.input;
  const cached = spec?.cached_tokens ?? (fixedInput === undefined ? counted.cached : 0);
  const outputTokens = spec?.output_tokens ?? defaults.output;
  return {
    input_tokens: input,
    input_tokens_details: {
      cached_tokens: cached,
      cache_write_tokens: spec?.cache_write_tokens ?? 0,
    },
    output_tokens: outputTokens,
    output_tokens_details: { reasoning_tokens: spec?.reasoning_tokens ?? 0 },
    total_tokens: input + outputTokens,
  };
}

export interface BuildResponseArgs {
  id: string;
  createdAt: number;
  body: ResponseCreateParamsBase;
  conversationId: string | null;
  output: ResponseOutputItem[];
  status: FinalStatus | 'in_progress';
  usage: ResponseUsage | undefined;
  error?: { code: string | null; message: string };
  defaultModel: string;
}

export function buildResponse(args: BuildResponseArgs): WireResponse {
  const { body } = args;
  const response: WireResponse = {
    id: args.id,
    object: 'response',
    access_programs: null,
    created_at: args.createdAt,
    status: args.status,
    background: false,
    completed_at: args.status === 'completed' ? nowSeconds() : null,
    conversation: args.conversationId === null ? null : { id: args.conversationId },
    error: null,
    incomplete_details: args.status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    metadata: body.metadata ?? {},
    model: body.model ?? args.defaultModel,
    output: args.output,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: body.reasoning ?? null,
    service_tier: 'default',
    temperature: body.temperature ?? 1,
    text: body.text ?? { format: { type: 'text' } },
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    top_p: body.top_p ?? 1,
    truncation: body.truncation ?? 'disabled',
  };
  if (args.usage !== undefined) response.usage = args.usage;
  if (args.status === 'failed') {
    const code = args.error?.code ?? 'server_error';
    response.error = {
      code: code as NonNullable<Response['error']>['code'],
      message: args.error?.message ?? 'The fake model failed.',
    };
  }
  return response;
}

/** The SDK's `Response` type requires `output_text`, which the SDK adds itself; the wire object omits it. */
export function asSdkResponse(response: WireResponse): Response {
  return response as Response;
}

function chunks(value: string, parts = 3): string[] {
  if (value.length === 0) return [];
  const size = Math.max(1, Math.ceil(value.length / parts));
  const out: string[] = [];
  for (let i = 0; i < value.length; i += size) out.push(value.slice(i, i + size));
  return out;
}

/** `response.created` + `response.in_progress` for a response that has not produced output yet. */
export function openingEvents(inProgress: WireResponse): EventBody[] {
  const snapshot = asSdkResponse({ ...inProgress, status: 'in_progress', output: [], completed_at: null });
  const { usage: _usage, ...withoutUsage } = snapshot;
  return [
    { type: 'response.created', response: withoutUsage as Response },
    { type: 'response.in_progress', response: structuredClone(withoutUsage) as Response },
  ];
}

/** Events that build one output item: added, argument / text deltas, done. */
export function itemEvents(item: ResponseOutputItem, outputIndex: number): EventBody[] {
  const events: EventBody[] = [];
  if (item.type === 'function_call') {
    const itemId = item.id ?? '';
    events.push({
      type: 'response.output_item.added',
      output_index: outputIndex,
      item: { ...item, arguments: '', status: 'in_progress' },
    });
    for (const delta of chunks(item.arguments)) {
      events.push({
        type: 'response.function_call_arguments.delta',
        output_index: outputIndex,
        item_id: itemId,
        delta,
      });
    }
    events.push({
      type: 'response.function_call_arguments.done',
      output_index: outputIndex,
      item_id: itemId,
      arguments: item.arguments,
    });
  } else if (item.type === 'message') {
    events.push({
      type: 'response.output_item.added',
      output_index: outputIndex,
      item: { ...item, status: 'in_progress', content: [] },
    });
    item.content.forEach((part, contentIndex) => {
      if (part.type !== 'output_text') return;
      const base = { output_index: outputIndex, item_id: item.id, content_index: contentIndex };
      const empty: ResponseOutputText = { type: 'output_text', text: '', annotations: [], logprobs: [] };
      events.push({ type: 'response.content_part.added', ...base, part: empty });
      for (const delta of chunks(part.text)) {
        events.push({ type: 'response.output_text.delta', ...base, delta, logprobs: [] });
      }
      events.push({ type: 'response.output_text.done', ...base, text: part.text, logprobs: [] });
      events.push({ type: 'response.content_part.done', ...base, part });
    });
  } else {
    events.push({ type: 'response.output_item.added', output_index: outputIndex, item });
  }
  events.push({ type: 'response.output_item.done', output_index: outputIndex, item });
  return events;
}

/** The full event sequence of a finished response, ending with completed / incomplete / failed. */
export function responseEvents(final: WireResponse): EventBody[] {
  const events = openingEvents(final);
  final.output.forEach((item, index) => {
    events.push(...itemEvents(item, index));
  });
  const response = asSdkResponse(final);
  if (final.status === 'failed') events.push({ type: 'response.failed', response });
  else if (final.status === 'incomplete') events.push({ type: 'response.incomplete', response });
  else events.push({ type: 'response.completed', response });
  return events;
}

/** One SSE frame: `event: <type>`, `data: <json with type + sequence_number>`, blank line. */
export function sseFrame(event: { type: string }, sequenceNumber: number): string {
  return `event: ${event.type}\ndata: ${JSON.stringify({ ...event, sequence_number: sequenceNumber })}\n\n`;
}
