import { CostMeter, type CostTotals, type PriceBook } from '../agent/cost.js';
import type { ReasoningEffort } from '../config/config.js';
import type { SandboxRates } from '../config/prices.js';
import type { StoredRunSettings } from '../store/channel-settings.js';
import { type ParsedRunOptions, parseRunOptions, type RunOptions } from './run-options.js';

/** What one run goes with, once the mention, the channel and the configuration have had their say. */
export interface RunSettings {
  model: string;
  effort: ReasoningEffort;
  budgetDollars: number;
}

/** The configuration's part: OPENAI_MODEL, OPENAI_REASONING_EFFORT, RUN_MAX_DOLLARS. */
export interface RunDefaults {
  model: string;
  effort: ReasoningEffort;
  runMaxDollars: number;
}

/** How runs are priced and capped; the composition root builds it once. */
export interface RunCosting {
  prices: PriceBook;
  sandbox: SandboxRates;
  defaults: RunDefaults;
  /** The channel's defaults (`/ai-dev config`), when it set any. */
  channelSettings?: (channel: string) => Promise<StoredRunSettings | undefined>;
}

/** The thread's own settings (from its mention) win over the channel's, which win over the configuration. */
export function resolveRunSettings(
  defaults: RunDefaults,
  channel: StoredRunSettings | undefined,
  thread: StoredRunSettings | undefined,
): RunSettings {
  return {
    model: thread?.model ?? channel?.model ?? defaults.model,
    effort: thread?.effort ?? channel?.effort ?? defaults.effort,
    budgetDollars: thread?.budgetDollars ?? channel?.budgetDollars ?? defaults.runMaxDollars,
  };
}

/** A fresh meter per run: Continue gives another budget of the same size. */
export function runMeter(costing: RunCosting): CostMeter {
  return new CostMeter({ prices: costing.prices, sandbox: costing.sandbox });
}

/** The run's cost for its log line: rounded to a hundredth of a cent, numbers only. */
export function costFields(totals: CostTotals): Record<string, number> {
  const round = (value: number) => Math.round(value * 10_000) / 10_000;
  return {
    dollars: round(totals.dollars),
    modelDollars: round(totals.modelDollars),
    sandboxDollars: round(totals.sandboxDollars),
    requests: totals.requests,
    inputTokens: totals.inputTokens,
    cachedInputTokens: totals.cachedInputTokens,
    outputTokens: totals.outputTokens,
    // To the millisecond: the sandbox's dollars in the same line can be checked against it.
    sandboxSeconds: Math.round(totals.sandboxSeconds * 1000) / 1000,
  };
}

/** What the intake needs to read `budget=`, `model=` and `effort=` in a mention. */
export interface MentionOptionRules {
  allowMaxDollars: number;
  allowModels: readonly string[];
  /** The settings a run in the channel gets without options (channel defaults over the configuration). */
  resolve: (channel: string, thread?: StoredRunSettings) => Promise<RunSettings>;
  /** Asked only when the mention sets a budget: admins may go above ALLOW_MAX_DOLLARS. */
  isWorkspaceAdmin: (user: string) => Promise<boolean>;
}

/** The mention's options checked against the rules (see run-options.ts), and the task without them. */
export async function readMentionOptions(
  rules: MentionOptionRules,
  channel: string,
  user: string,
  text: string,
): Promise<ParsedRunOptions> {
  const isAdmin = /(^|\s)budget=/i.test(text) ? await rules.isWorkspaceAdmin(user).catch(() => false) : false;
  const defaults = await rules.resolve(channel);
  return parseRunOptions(text, {
    isAdmin,
    allowMaxDollars: rules.allowMaxDollars,
    allowModels: rules.allowModels,
    defaultModel: defaults.model,
  });
}

/** The run options as the thread keeps them. */
export function storedOptions(options: RunOptions): StoredRunSettings | undefined {
  const stored: StoredRunSettings = {
    ...(options.budgetDollars !== undefined ? { budgetDollars: options.budgetDollars } : {}),
    ...(options.model ? { model: options.model } : {}),
    ...(options.effort ? { effort: options.effort } : {}),
  };
  return Object.keys(stored).length > 0 ? stored : undefined;
}
