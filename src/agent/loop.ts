import type { ReasoningEffort } from '../config/config.js';
import { AbortedError, endsRun, errorMessage } from '../lib/errors.js';
import type { CostMeter } from './cost.js';
import type { ActionReport, BudgetLimit, RunEvent } from './events.js';
import type { InputItem, Model, Usage } from './model.js';
import { RepetitionGuard } from './repetition-guard.js';
import type { ToolContext } from './tools/kit/context.js';
import type { Tool } from './tools/kit/define-tool.js';

const DEFAULT_MAX_PARALLEL_CALLS = 8;

export interface LoopLimits {
  maxTurns: number;
  maxTokens: number;
  /** The moment the run must end by (epoch ms). */
  deadline: number;
}

export interface LoopOptions {
  model: Model;
  tools: Tool[];
  context: ToolContext;
  conversationId: string;
  /** Rebuilt every turn so that it can include what became known (AGENTS.md …). */
  instructions: () => string;
  /** Input for the first turn: outputs owed from an earlier run, then the user's message(s). */
  input: InputItem[];
  /** Messages that arrived while the run was going; given to the model at its next turn. */
  takeQueuedInput: () => Promise<InputItem[]>;
  limits: LoopLimits;
  signal: AbortSignal;
  emit: (event: RunEvent) => void;
  /** Called whenever the set of tool outputs not yet sent changes, so they survive a stop or crash. */
  savePendingInput?: (items: InputItem[]) => Promise<void>;
  /** Applied to everything sent to the model (tool outputs and messages): no secret leaves. */
  redact?: (text: string) => string;
  /** Tool calls of one turn run at once up to this many; the rest are told to wait for the next turn. Default 8. */
  maxParallelCalls?: number;
  /** This run's model and effort, sent with every request (default: the model adapter's own). */
  settings?: { model?: string; effort?: ReasoningEffort };
  /**
   * Prices every response as it arrives (a `cost` event each); with `maxDollars` the loop ends at the `dollars`
   * budget before the next request once the run's dollars reach it. `sandboxSeconds` answers the sandbox time the
   * run has used so far: it is priced before every budget check and every `cost` event, so a run whose sandbox
   * alone passes the budget pauses there too, not only once it ends.
   */
  cost?: { meter: CostMeter; model: string; maxDollars?: number; sandboxSeconds?: () => number };
  /**
   * Keeps every request's input under `atInputTokens`: when the next request would reach it, the conversation and
   * what is owed to it are compacted into a new conversation (Model.compact), whose id `onCompacted` records.
   */
  compaction?: {
    atInputTokens: number;
    metadata: Record<string, string>;
    onCompacted: (conversationId: string) => Promise<void>;
  };
  now?: () => number;
  /**
   * Runs one durable step (a model request, a tool call) and answers its result. The local engine runs
   * it as it is; the Restate engine journals it, so after a crash a finished step is not run again.
   * Names and order must stay stable between versions: a run in flight replays them.
   */
  step?: StepRunner;
}

/** What the model reads after a compaction, in place of the outputs and messages compacted with the history. */
export const AFTER_COMPACTION =
  'The conversation so far was compacted above (your latest tool results and any new messages included). Go on with the task from where you were.';

/** Characters per token of our estimate: fewer than the usual four, so the estimate errs high. */
const ESTIMATE_CHARS_PER_TOKEN = 3;
const ESTIMATE_ITEM_TOKENS = 16;

/** The next request's input, estimated: the last one, what the model added to it, and what we send now. */
function nextInputEstimate(last: Usage, input: InputItem[]): number {
  const sent = input.reduce(
    (sum, item) =>
      sum +
      ESTIMATE_ITEM_TOKENS +
      Math.ceil((item.type === 'message' ? item.content : item.output).length / ESTIMATE_CHARS_PER_TOKEN),
    0,
  );
  return last.inputTokens + last.outputTokens + sent;
}

/**
 * A durable step: `work` runs once per run (its result must be plain JSON). `pickedUp` is true when a
 * durable engine runs it as the first step past a crash: the instance that died may have begun it.
 */
export type StepRunner = <T>(name: string, work: (pickedUp: boolean) => Promise<T>) => Promise<T>;

const inPlace: StepRunner = (_name, work) => work(false);

export type LoopEnd =
  | { kind: 'answered'; text: string }
  | { kind: 'stopped' }
  | { kind: 'budget-reached'; limit: BudgetLimit }
  /** The model kept repeating the same failing (or fruitless) call. */
  | { kind: 'repeating'; message: string }
  | { kind: 'failed'; error: unknown };

export interface LoopResult {
  end: LoopEnd;
  turns: number;
  usage: Usage;
  /** Input that never reached the model (tool outputs owed to it); the next run sends it first. */
  pendingInput: InputItem[];
  actions: ActionReport[];
}

/**
 * One run of the model: request → tool calls (in parallel) → outputs → … until the model
 * answers without calling a tool, a limit is reached, the signal fires or something fails.
 */
export async function runLoop(options: LoopOptions): Promise<LoopResult> {
  const now = options.now ?? Date.now;
  const step = options.step ?? inPlace;
  const usage: Usage = { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, totalTokens: 0 };
  const cost = options.cost;
  let conversationId = options.conversationId;
  const actions: ActionReport[] = [];
  let turns = 0;
  const guard = new RepetitionGuard();
  let input = [...options.input, ...(await options.takeQueuedInput())];
  const result = (end: LoopEnd): LoopResult => ({ end, turns, usage, pendingInput: input, actions });
  /** Brings the meter's sandbox time up to now; true when that changed the dollars so far. */
  const meterSandbox = (): boolean => {
    if (!cost?.sandboxSeconds) return false;
    const before = cost.meter.dollars;
    cost.meter.setSandboxSeconds(cost.sandboxSeconds());
    return cost.meter.dollars !== before;
  };

  while (true) {
    if (options.signal.aborted) return result({ kind: 'stopped' });
    if (turns >= options.limits.maxTurns) return result({ kind: 'budget-reached', limit: 'turns' });
    if (usage.totalTokens >= options.limits.maxTokens) return result({ kind: 'budget-reached', limit: 'tokens' });
    if (now() >= options.limits.deadline) return result({ kind: 'budget-reached', limit: 'minutes' });
    // The tool calls just run kept the sandbox busy: the card shows that time and the budget counts it.
    if (cost && meterSandbox() && turns > 0) {
      options.emit({ type: 'cost', model: cost.model, totals: cost.meter.totals() });
    }
    if (cost?.maxDollars !== undefined && cost.meter.reached(cost.maxDollars)) {
      return result({ kind: 'budget-reached', limit: 'dollars' });
    }

    let turn: Awaited<ReturnType<Model['respond']>>;
    try {
      const sent = input;
      const into = conversationId;
      turn = await step(`model-${turns + 1}`, (pickedUp) =>
        withDeadline(options, async (signal) => {
          const redacted = redactInput(sent, options.redact);
          // The request may have reached the conversation before its instance died: what it holds
          // already is not appended twice, and calls it left unanswered are answered.
          const given = pickedUp && into ? await options.model.reconcile(into, redacted) : redacted;
          return options.model.respond({
            conversationId: into,
            ...(options.settings?.model ? { model: options.settings.model } : {}),
            ...(options.settings?.effort ? { effort: options.settings.effort } : {}),
            instructions: options.redact ? options.redact(options.instructions()) : options.instructions(),
            input: given,
            tools: options.tools,
            signal,
          });
        }),
      );
    } catch (error) {
      if (error instanceof DeadlineReached) return result({ kind: 'budget-reached', limit: 'minutes' });
      if (options.signal.aborted || error instanceof AbortedError) return result({ kind: 'stopped' });
      return result({ kind: 'failed', error });
    }
    turns += 1;
    usage.inputTokens += turn.usage.inputTokens;
    usage.cachedInputTokens = (usage.cachedInputTokens ?? 0) + (turn.usage.cachedInputTokens ?? 0);
    usage.outputTokens += turn.usage.outputTokens;
    usage.totalTokens += turn.usage.totalTokens;
    input = [];
    options.emit({
      type: 'usage',
      turns,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      totalTokens: usage.totalTokens,
    });
    if (cost) {
      const tokens = {
        inputTokens: turn.usage.inputTokens,
        cachedInputTokens: turn.usage.cachedInputTokens ?? 0,
        outputTokens: turn.usage.outputTokens,
      };
      const priced = cost.meter.addRequest(cost.model, tokens);
      meterSandbox();
      options.emit({ type: 'cost', model: cost.model, request: { ...tokens, ...priced }, totals: cost.meter.totals() });
    }

    if (turn.calls.length === 0) {
      // What was sent has reached the conversation: nothing is owed any more.
      await options.savePendingInput?.([]);
      const queued = await options.takeQueuedInput();
      // Someone wrote in the thread while the model was finishing: let it read that first.
      if (queued.length > 0) {
        if (turn.text) options.emit({ type: 'model-text', text: turn.text });
        input = queued;
        continue;
      }
      return result({ kind: 'answered', text: turn.text });
    }
    if (turn.text) options.emit({ type: 'model-text', text: turn.text });

    // Every call gets an answer before the next request, or the conversation cannot go on.
    const owed: InputItem[] = turn.calls.map((call) => ({
      type: 'function_call_output',
      call_id: call.callId,
      output: 'Error: the run was stopped before this tool call ran.',
    }));
    await options.savePendingInput?.(owed);
    let stop: string | undefined;
    let fatal: unknown;
    const allowed = options.maxParallelCalls ?? DEFAULT_MAX_PARALLEL_CALLS;
    const outputs = await Promise.all(
      turn.calls.map(async (call, index): Promise<InputItem> => {
        if (index >= allowed) {
          return {
            type: 'function_call_output',
            call_id: call.callId,
            output: `Error: too many tool calls at once: ${turn.calls.length} in one turn, and at most ${allowed} run together. This one did not run; call it again in your next turn.`,
          };
        }
        // The step's result is journaled as JSON: the error that ends the run stays here, by reference.
        let fatalError: unknown;
        const stepped = await step(`tool-${turns}-${index}`, async () => {
          const result = await runToolCall(options, call.name, call.arguments, `${turn.responseId}:${index}`, actions);
          fatalError = result.fatal;
          return { output: result.output, failed: result.failed, fatal: result.fatal !== undefined };
        });
        const ran: ToolCallResult = {
          output: stepped.output,
          failed: stepped.failed,
          ...(stepped.fatal ? { fatal: fatalError ?? new Error(stepped.output) } : {}),
        };
        if (ran.fatal !== undefined) fatal ??= ran.fatal;
        const verdict = guard.record({ name: call.name, arguments: call.arguments, ...ran });
        if (verdict.kind === 'stop') stop ??= verdict.message;
        const output = verdict.kind === 'warn' ? `${ran.output}\n\n${verdict.message}` : ran.output;
        return { type: 'function_call_output', call_id: call.callId, output };
      }),
    );
    input = [...outputs, ...(await options.takeQueuedInput())];
    await options.savePendingInput?.(input);
    if (options.signal.aborted) return result({ kind: 'stopped' });
    if (fatal !== undefined) return result({ kind: 'failed', error: fatal });
    if (stop) return result({ kind: 'repeating', message: stop });
    const compaction = options.compaction;
    if (compaction && options.model.compact && nextInputEstimate(turn.usage, input) >= compaction.atInputTokens) {
      try {
        const compact = options.model.compact.bind(options.model);
        const from = conversationId;
        const pending = redactInput(input, options.redact);
        // A step: after a crash the run goes on in the conversation this compaction made, not a second one.
        const done = await step(`compact-${turns}`, () =>
          compact({
            conversationId: from,
            instructions: options.redact ? options.redact(options.instructions()) : options.instructions(),
            pending,
            ...(options.settings?.model ? { model: options.settings.model } : {}),
            metadata: compaction.metadata,
            signal: options.signal,
          }),
        );
        conversationId = done.conversationId;
        await compaction.onCompacted(conversationId);
        input = [{ type: 'message', role: 'user', content: AFTER_COMPACTION }];
        await options.savePendingInput?.(input);
        if (cost) {
          const tokens = {
            inputTokens: done.usage.inputTokens,
            cachedInputTokens: done.usage.cachedInputTokens ?? 0,
            outputTokens: done.usage.outputTokens,
          };
          const priced = cost.meter.addRequest(cost.model, tokens);
          meterSandbox();
          options.emit({
            type: 'cost',
            model: cost.model,
            request: { ...tokens, ...priced },
            totals: cost.meter.totals(),
          });
        }
        options.emit({ type: 'compacted', inputTokensBefore: turn.usage.inputTokens, conversationId });
      } catch (error) {
        if (options.signal.aborted || error instanceof AbortedError) return result({ kind: 'stopped' });
        // Not fatal: the run goes on in the same conversation, only dearer.
        options.emit({
          type: 'notice',
          text: `Could not compact the conversation (${errorMessage(error)}); going on.`,
        });
      }
    }
  }
}

interface ToolCallResult {
  output: string;
  /** The call did not do what was asked (an error, or a command that exited non-zero). */
  failed: boolean;
  /** A failure no tool call can fix: the run ends with it (its output is still owed to the model). */
  fatal?: unknown;
}

/** Runs one call; whatever goes wrong becomes the output the model reads. */
async function runToolCall(
  options: LoopOptions,
  name: string,
  rawArguments: string,
  actionId: string,
  actions: ActionReport[],
): Promise<ToolCallResult> {
  const failure = (output: string): ToolCallResult => ({ output, failed: true });
  const tool = options.tools.find((t) => t.name === name);
  if (!tool) {
    return failure(
      `Error: there is no tool named "${name}". Available tools: ${options.tools.map((t) => t.name).join(', ')}.`,
    );
  }
  let parsedJson: unknown;
  try {
    parsedJson = JSON.parse(rawArguments || '{}');
  } catch (error) {
    return failure(
      `Error: the arguments are not valid JSON (${errorMessage(error)}). Send a JSON object matching the tool's schema.`,
    );
  }
  const args = tool.parse(parsedJson);
  if (!args.ok) return failure(`Error: invalid arguments for ${name}: ${args.error}`);
  options.emit({ type: 'action-start', id: actionId, tool: name, summary: tool.summarize(args.value) });
  try {
    const { ok, output, action } = await tool.run(args.value, options.context);
    if (action) {
      actions.push(action);
      options.emit({ type: 'action-end', id: actionId, tool: name, action });
    }
    return { output: output.trim() === '' ? '(no output)' : output, failed: !ok };
  } catch (error) {
    if (options.signal.aborted) return failure('Error: the run was stopped while this tool was running.');
    if (endsRun(error)) {
      return { output: `Error: ${name} failed and the run ended: ${errorMessage(error)}`, failed: true, fatal: error };
    }
    const failed: ActionReport = { kind: 'failed', error: `${name}: ${errorMessage(error)}` };
    options.emit({ type: 'action-end', id: actionId, tool: name, action: failed });
    return failure(`Error: ${name} failed: ${errorMessage(error)}`);
  }
}

function redactInput(items: InputItem[], redact: ((text: string) => string) | undefined): InputItem[] {
  if (!redact) return items;
  return items.map((item) =>
    item.type === 'message' ? { ...item, content: redact(item.content) } : { ...item, output: redact(item.output) },
  );
}

class DeadlineReached extends Error {}

/** Aborts the model request when the run's wall-time budget runs out, not only between turns. */
async function withDeadline<T>(options: LoopOptions, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const now = options.now ?? Date.now;
  const remaining = options.limits.deadline - now();
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new DeadlineReached()), Math.max(0, remaining));
  const signal = AbortSignal.any([options.signal, deadline.signal]);
  try {
    return await work(signal);
  } catch (error) {
    if (deadline.signal.aborted && !options.signal.aborted) throw new DeadlineReached();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
