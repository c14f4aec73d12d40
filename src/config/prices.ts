import { z } from 'zod';

/**
 * The long-context price step: a request whose input is above `aboveInputTokens` is billed at `inputMultiplier`
 * (input and cached input) and `outputMultiplier` on the whole request, not only on the tokens above the line.
 */
export interface LongContextRule {
  aboveInputTokens: number;
  inputMultiplier: number;
  outputMultiplier: number;
}

/** What one model costs, in dollars per 1 M tokens. */
export interface ModelPrice {
  input: number;
  /** Input tokens served from the prompt cache (they are part of the input tokens). */
  cachedInput: number;
  output: number;
  /** Absent: the same rates however long the request. */
  longContext?: LongContextRule;
}

/**
 * The step of the current OpenAI models: more than 272 000 input tokens (exactly 272 000 is still short) makes the
 * whole request 2× input and cached input, 1.5× output (OpenAI's gpt-6.2-sol model page; the same rule is published
 * for gpt-6.1-sol, gpt-6-sol and gpt-6.2-astra).
 */
export const LONG_CONTEXT_272K: LongContextRule = Object.freeze({
  aboveInputTokens: 272_000,
  inputMultiplier: 2,
  outputMultiplier: 1.5,
});

/**
 * Standard-tier list prices (checked 2026-12-02). gpt-6.2-sol: OpenAI's model page. gpt-6.2-astra's $8 / $40: the
 * platform notes; its $0.40 cached input comes from third-party price catalogues that agree with each other ("cached
 * input 60 % cheaper" than gpt-6 astra's $1), not read on OpenAI's page. gpt-6.1-sol ($0.10 cached) and gpt-6-sol
 * ($0.20 cached): third-party catalogues quoting OpenAI's pricing page. Override any of them with MODEL_PRICES.
 */
export const DEFAULT_MODEL_PRICES: Readonly<Record<string, ModelPrice>> = Object.freeze({
  'gpt-6.2-sol': { input: 2, cachedInput: 0.1, output: 10, longContext: LONG_CONTEXT_272K },
  'gpt-6.2-astra': { input: 8, cachedInput: 0.4, output: 40, longContext: LONG_CONTEXT_272K },
  'gpt-6.1-sol': { input: 2, cachedInput: 0.1, output: 10, longContext: LONG_CONTEXT_272K },
  'gpt-6-sol': { input: 2, cachedInput: 0.2, output: 10, longContext: LONG_CONTEXT_272K },
});

/**
 * `MODEL_PRICES` key of the price used for a model the table does not know. It defaults to the dearest known model,
 * so a budget in dollars is reached early rather than late when a price is missing.
 */
export const FALLBACK_PRICE_KEY = '*';
export const DEFAULT_FALLBACK_PRICE: ModelPrice = Object.freeze({
  input: 8,
  cachedInput: 0.4,
  output: 40,
  longContext: LONG_CONTEXT_272K,
});

/** E2B's price per second (platform notes §6) and its default sandbox size (2 vCPU, 512 MiB). */
export const SANDBOX_PRICE_DEFAULTS = {
  SANDBOX_VCPU_PRICE: 0.000014,
  SANDBOX_GIB_PRICE: 0.0000045,
  SANDBOX_VCPUS: 2,
  SANDBOX_MEMORY_GIB: 0.5,
} as const;

/** What a sandbox costs: its size and the provider's per-second rates. */
export interface SandboxRates {
  vcpus: number;
  memoryGib: number;
  /** Dollars per vCPU-second. */
  vcpuSecondDollars: number;
  /** Dollars per GiB-second of memory. */
  gibSecondDollars: number;
}

const dollars = z.number({ message: 'must be a number of dollars per 1M tokens' }).finite().min(0, {
  message: 'must not be negative',
});

const longContextSchema = z
  .object({
    aboveInputTokens: z.number().int().positive(),
    inputMultiplier: z.number().finite().min(1),
    outputMultiplier: z.number().finite().min(1),
  })
  .strict();

/** One entry of `MODEL_PRICES`: every field optional for a known model (merged over its defaults). */
const entrySchema = z
  .object({
    input: dollars.optional(),
    cachedInput: dollars.optional(),
    output: dollars.optional(),
    /** `null` removes the step. */
    longContext: longContextSchema.nullable().optional(),
  })
  .strict();

const tableSchema = z.record(z.string().trim().min(1), entrySchema);

export interface PriceTable {
  /** Known models, the defaults with MODEL_PRICES merged over them. */
  models: Readonly<Record<string, ModelPrice>>;
  /** The price of a model the table does not know. */
  fallback: ModelPrice;
}

export type PriceTableResult = { ok: true; table: PriceTable } | { ok: false; problems: string[] };

function merge(base: ModelPrice | undefined, entry: z.infer<typeof entrySchema>, name: string): ModelPrice | string {
  const input = entry.input ?? base?.input;
  const output = entry.output ?? base?.output;
  if (input === undefined || output === undefined) {
    return `MODEL_PRICES entry "${name}" needs "input" and "output" (dollars per 1M tokens): it is not a known model`;
  }
  // A new model without a cached price gets no discount: the meter would rather count too much than too little.
  const cachedInput = entry.cachedInput ?? base?.cachedInput ?? input;
  const longContext = entry.longContext === null ? undefined : (entry.longContext ?? base?.longContext);
  return { input, cachedInput, output, ...(longContext ? { longContext: { ...longContext } } : {}) };
}

/**
 * The price table: the defaults, with `MODEL_PRICES` (JSON: `{"model": {"input": 2, "cachedInput": 0.1, "output":
 * 10, "longContext": {"aboveInputTokens": 272000, "inputMultiplier": 2, "outputMultiplier": 1.5} | null}}`) merged
 * over them field by field; the key `"*"` sets the price of unknown models. Pure.
 */
export function parsePriceTable(json: string | undefined): PriceTableResult {
  const models: Record<string, ModelPrice> = {};
  for (const [name, price] of Object.entries(DEFAULT_MODEL_PRICES)) models[name] = { ...price };
  let fallback: ModelPrice = { ...DEFAULT_FALLBACK_PRICE };
  const text = (json ?? '').trim();
  if (text === '') return { ok: true, table: { models, fallback } };

  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return {
      ok: false,
      problems: [
        `MODEL_PRICES is not valid JSON (${reason}); write it as {"gpt-6.2-sol": {"input": 2, "cachedInput": 0.1, "output": 10}}`,
      ],
    };
  }
  const parsed = tableSchema.safeParse(raw);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((issue) => {
        const where = issue.path.length > 0 ? ` at ${issue.path.map(String).join('.')}` : '';
        return `MODEL_PRICES${where}: ${issue.message}`;
      }),
    };
  }
  const problems: string[] = [];
  for (const [rawName, entry] of Object.entries(parsed.data)) {
    const name = rawName.trim().toLowerCase();
    const base = name === FALLBACK_PRICE_KEY ? fallback : models[name];
    const merged = merge(base, entry, name);
    if (typeof merged === 'string') problems.push(merged);
    else if (name === FALLBACK_PRICE_KEY) fallback = merged;
    else models[name] = merged;
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, table: { models, fallback } };
}
