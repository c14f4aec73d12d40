import OpenAI from 'openai';
import type { ReasoningEffort } from '../config/config.js';
import { AbortedError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { retrying } from '../lib/retry.js';
import type { CompactRequest, InputItem, Model, ModelRequest, ModelTurn, Usage } from './model.js';
import { ModelError } from './model-errors.js';

/** `POST /conversations` and `POST /conversations/{id}/items` take at most 20 items each. */
const MAX_ITEMS_PER_CALL = 20;

export interface OpenAIModelOptions {
  client: OpenAI;
  model: string;
  reasoningEffort: ReasoningEffort;
  logger: Logger;
  /** Our own retries of a conversation-bound request (the SDK's are off, see respond). */
  retries?: number;
}

/** The Responses API adapter: a Conversation per thread, tools as strict function tools. */
export class OpenAIModel implements Model {
  constructor(private readonly options: OpenAIModelOptions) {}

  async createConversation(metadata: Record<string, string>): Promise<string> {
    try {
      const conversation = await this.options.client.conversations.create({ metadata });
      return conversation.id;
    } catch (error) {
      throw toModelError(error, 'start a conversation');
    }
  }

  async respond(request: ModelRequest): Promise<ModelTurn> {
    let input = request.input;
    return retrying(
      async (attempt) => {
        // A request that failed late may still have been appended to the conversation (with the
        // model's calls): resend only what is not there yet, and answer calls left without output.
        if (attempt > 1) input = await this.reconcile(request.conversationId, input);
        try {
          return await this.once(request, input);
        } catch (error) {
          throw toModelError(error, 'answer');
        }
      },
      {
        retries: this.options.retries ?? 2,
        minDelayMs: 500,
        maxDelayMs: 8_000,
        signal: request.signal,
        onRetry: (error, attempt) =>
          this.options.logger.warn({ err: error, attempt }, 'model request failed; retrying'),
      },
    );
  }

  private async once(request: ModelRequest, input: InputItem[]): Promise<ModelTurn> {
    const response = await this.options.client.responses.create(
      {
        model: request.model ?? this.options.model,
        conversation: request.conversationId,
        instructions: request.instructions,
        input,
        tools: request.tools.map((tool) => ({
          type: 'function' as const,
          name: tool.name,
          description: tool.description,
          parameters: tool.jsonSchema,
          strict: true,
        })),
        parallel_tool_calls: true,
        reasoning: {
          effort: effortFor(request.model ?? this.options.model, request.effort ?? this.options.reasoningEffort),
        },
      },
      // Retrying a conversation-bound request blindly can append its input twice.
      { signal: request.signal, maxRetries: 0 },
    );
    if (response.status !== 'completed') {
      const reason = response.error?.message ?? response.incomplete_details?.reason ?? response.status ?? 'unknown';
      throw new ModelError('model_incomplete', `The model did not complete its answer: ${reason}`, {
        kind: response.status === 'incomplete' ? 'permanent' : 'transient',
        userMessage: `The model did not finish its answer (${reason}).`,
      });
    }
    const calls: ModelTurn['calls'] = [];
    const texts: string[] = [];
    for (const item of response.output) {
      if (item.type === 'function_call')
        calls.push({ callId: item.call_id, name: item.name, arguments: item.arguments });
      if (item.type === 'message') {
        for (const part of item.content) if (part.type === 'output_text') texts.push(part.text);
      }
    }
    return {
      responseId: response.id,
      calls,
      text: texts.join('\n').trim(),
      usage: {
        inputTokens: response.usage?.input_tokens ?? 0,
        cachedInputTokens: response.usage?.input_tokens_details?.cached_tokens ?? 0,
        outputTokens: response.usage?.output_tokens ?? 0,
        totalTokens: response.usage?.total_tokens ?? 0,
      },
    };
  }

  async compact(request: CompactRequest): Promise<{ conversationId: string; usage: Usage }> {
    const { client } = this.options;
    try {
      const history: unknown[] = [];
      for await (const item of client.conversations.items.list(
        request.conversationId,
        { order: 'asc', limit: 100 },
        { signal: request.signal },
      )) {
        history.push(item);
      }
      const compacted = await client.responses.compact(
        {
          model: request.model ?? this.options.model,
          instructions: request.instructions,
          input: [...history, ...request.pending] as OpenAI.Responses.ResponseInputItem[],
        },
        { signal: request.signal },
      );
      // The user messages it keeps and the compaction item: what the new conversation starts from.
      const seed = compacted.output as unknown as OpenAI.Responses.ResponseInputItem[];
      const conversation = await client.conversations.create(
        { metadata: request.metadata, items: seed.slice(0, MAX_ITEMS_PER_CALL) },
        { signal: request.signal },
      );
      for (let start = MAX_ITEMS_PER_CALL; start < seed.length; start += MAX_ITEMS_PER_CALL) {
        await client.conversations.items.create(
          conversation.id,
          { items: seed.slice(start, start + MAX_ITEMS_PER_CALL) },
          { signal: request.signal },
        );
      }
      return {
        conversationId: conversation.id,
        usage: {
          inputTokens: compacted.usage.input_tokens,
          cachedInputTokens: compacted.usage.input_tokens_details?.cached_tokens ?? 0,
          outputTokens: compacted.usage.output_tokens,
          totalTokens: compacted.usage.total_tokens,
        },
      };
    } catch (error) {
      throw toModelError(error, 'compact the conversation');
    }
  }

  async reconcile(conversationId: string, input: InputItem[]): Promise<InputItem[]> {
    let page: Awaited<ReturnType<OpenAI['conversations']['items']['list']>>;
    try {
      page = await this.options.client.conversations.items.list(conversationId, { order: 'desc', limit: 100 });
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not read the conversation to reconcile; sending input as is');
      return input;
    }
    const answered = new Set<string>();
    const calls: string[] = [];
    const messages = new Set<string>();
    for (const item of page.data) {
      if (item.type === 'function_call_output' && item.call_id) answered.add(item.call_id);
      if (item.type === 'function_call') calls.push(item.call_id);
      if (item.type === 'message' && item.role === 'user') {
        for (const part of item.content) if (part.type === 'input_text') messages.add(part.text);
      }
    }
    const fresh = input.filter((item) =>
      item.type === 'function_call_output' ? !answered.has(item.call_id) : !messages.has(item.content),
    );
    const owed = new Set(fresh.flatMap((item) => (item.type === 'function_call_output' ? [item.call_id] : [])));
    // Calls the model made whose outputs never arrived (a crash between turns): answer them first.
    const orphans: InputItem[] = calls
      .filter((id) => !answered.has(id) && !owed.has(id))
      .map((id) => ({
        type: 'function_call_output',
        call_id: id,
        output: 'Error: this tool call was interrupted before it finished; check the state before repeating it.',
      }));
    return [...orphans, ...fresh];
  }
}

/** Sol 6.1 and later refuse `none` and `minimal`; `low` is the nearest they accept. */
export function effortFor(model: string, effort: ReasoningEffort): ReasoningEffort {
  const sol = /^gpt-(\d+)(?:\.(\d+))?-sol/.exec(model);
  if (!sol) return effort;
  const version = Number(sol[1]) + Number(sol[2] ?? 0) / 10;
  if (version >= 6.1 && (effort === 'none' || effort === 'minimal')) return 'low';
  return effort;
}

export function toModelError(error: unknown, doing: string): ModelError | AbortedError {
  if (error instanceof ModelError || error instanceof AbortedError) return error;
  if (error instanceof OpenAI.APIUserAbortError) return new AbortedError(error);
  if (error instanceof OpenAI.RateLimitError) {
    if (error.code === 'insufficient_quota') {
      return new ModelError('openai_insufficient_quota', `OpenAI quota exhausted while trying to ${doing}`, {
        cause: error,
        endsRun: true,
        userMessage:
          'The OpenAI account has run out of quota. Ask the operator to add credit, then reply here to retry.',
      });
    }
    return new ModelError('openai_rate_limited', `OpenAI rate limit while trying to ${doing}`, {
      kind: 'transient',
      cause: error,
      userMessage: 'OpenAI is rate-limiting the bot; try again in a minute.',
    });
  }
  if (error instanceof OpenAI.AuthenticationError) {
    return new ModelError('openai_bad_key', 'OpenAI rejected the API key', {
      cause: error,
      userMessage: 'OpenAI rejected the bot’s API key. Ask the operator to check OPENAI_API_KEY.',
    });
  }
  if (error instanceof OpenAI.APIConnectionError || (error instanceof OpenAI.APIError && isRetryable(error.status))) {
    return new ModelError('openai_unavailable', `OpenAI failed to ${doing}: ${error.message}`, {
      kind: 'transient',
      cause: error,
      userMessage: 'OpenAI is not answering properly right now; try again in a few minutes.',
    });
  }
  if (error instanceof OpenAI.APIError) {
    // The SDK's message already starts with the status ("400 Missing required parameter …").
    return new ModelError('openai_refused', `OpenAI refused to ${doing}: ${error.message}`, {
      cause: error,
      userMessage: `OpenAI refused the request (${error.message}).`,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ModelError('openai_failed', `OpenAI failed to ${doing}: ${message}`, {
    kind: 'transient',
    cause: error,
    userMessage: 'The connection to OpenAI broke; try again.',
  });
}

const isRetryable = (status: number | undefined) =>
  status === undefined || status === 408 || status === 409 || status === 429 || status >= 500;
