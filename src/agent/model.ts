import type { ReasoningEffort } from '../config/config.js';
import type { Tool } from './tools/kit/define-tool.js';

/** What the loop sends the model besides the conversation's history. */
export type InputItem =
  | { type: 'message'; role: 'user'; content: string }
  | { type: 'function_call_output'; call_id: string; output: string };

export interface FunctionCall {
  callId: string;
  name: string;
  /** The raw JSON text the model sent; it may be invalid. */
  arguments: string;
}

export interface Usage {
  inputTokens: number;
  /** The part of the input served from the prompt cache (billed cheaper); absent when the API did not say. */
  cachedInputTokens?: number;
  outputTokens: number;
  totalTokens: number;
}

export interface ModelTurn {
  responseId: string;
  calls: FunctionCall[];
  /** Assistant text of this turn (may be empty when it only calls tools). */
  text: string;
  usage: Usage;
}

export interface ModelRequest {
  conversationId: string;
  /** This run's model and effort when they differ from the adapter's defaults (`model=`, `effort=`, channel). */
  model?: string;
  effort?: ReasoningEffort;
  instructions: string;
  input: InputItem[];
  tools: Tool[];
  signal: AbortSignal;
}

/** The model port: one conversation per Slack thread, one request per turn. */
export interface Model {
  createConversation(metadata: Record<string, string>): Promise<string>;
  respond(request: ModelRequest): Promise<ModelTurn>;
  /**
   * Makes input that was owed from an interrupted run fit the conversation as it really is:
   * drops what the API already appended, and answers calls that were left without an output.
   */
  reconcile(conversationId: string, input: InputItem[]): Promise<InputItem[]>;
  /**
   * Compacts the conversation and what is still owed to it (`pending`) into a new conversation seeded with the
   * compacted items (a stored conversation cannot be compacted in place); answers its id and the compaction's usage.
   * Absent: the model cannot compact, and long runs go on as they are.
   */
  compact?(request: CompactRequest): Promise<{ conversationId: string; usage: Usage }>;
}

export interface CompactRequest {
  conversationId: string;
  instructions: string;
  /** Outputs and messages not yet sent: compacted with the history, as the calls they answer are in it. */
  pending: InputItem[];
  model?: string;
  metadata: Record<string, string>;
  signal: AbortSignal;
}
