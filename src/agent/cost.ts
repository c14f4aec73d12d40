import type { ModelPrice, PriceTable, SandboxRates } from '../config/prices.js';
import type { Logger } from '../lib/logger.js';

/** The tokens of one model request, as the Responses API reports them. */
export interface TokenUsage {
  /** Every input token, cached ones included (`usage.input_tokens`). */
  inputTokens: number;
  /** The part of the input served from the prompt cache (`usage.input_tokens_details.cached_tokens`). */
  cachedInputTokens: number;
  /** Output tokens, reasoning included (`usage.output_tokens`). */
  outputTokens: number;
}

/** What one request cost. */
export interface RequestCost {
  dollars: number;
  /** The request passed the model's long-context step and was billed at its multipliers. */
  longContext: boolean;
}

/** A run's cost so far. */
export interface CostTotals {
  /** Model plus sandbox. */
  dollars: number;
  modelDollars: number;
  sandboxDollars: number;
  requests: number;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  /** Requests billed at a long-context rate. */
  longContextRequests: number;
  sandboxSeconds: number;
}

const PER_MILLION = 1_000_000;
const count = (value: number): number => (Number.isFinite(value) && value > 0 ? value : 0);

/**
 * Dollars of one request. Cached tokens are part of the input (never more than it); past the long-context step the
 * multipliers apply to the whole request, cached input included.
 */
export function requestDollars(price: ModelPrice, usage: TokenUsage): RequestCost {
  const input = count(usage.inputTokens);
  const cached = Math.min(count(usage.cachedInputTokens), input);
  const output = count(usage.outputTokens);
  const step = price.longContext;
  const longContext = step !== undefined && input > step.aboveInputTokens;
  const inputMultiplier = longContext ? step.inputMultiplier : 1;
  const outputMultiplier = longContext ? step.outputMultiplier : 1;
  const inputDollars = ((input - cached) * price.input + cached * price.cachedInput) * inputMultiplier;
  const outputDollars = output * price.output * outputMultiplier;
  return { dollars: (inputDollars + outputDollars) / PER_MILLION, longContext };
}

/** Dollars of `seconds` of one sandbox of the configured size. */
export function sandboxDollars(rates: SandboxRates, seconds: number): number {
  return count(seconds) * (rates.vcpus * rates.vcpuSecondDollars + rates.memoryGib * rates.gibSecondDollars);
}

export interface PriceBookOptions {
  table: PriceTable;
  /** Told once per unknown model that the fallback price is used. */
  logger?: Pick<Logger, 'warn'>;
}

/**
 * Prices by model name; one per process, so an unknown model is reported once however many runs use it. A dated
 * snapshot (`gpt-6.1-sol-2026-09-29`) takes the price of its model; any other unknown name gets the fallback price.
 */
export class PriceBook {
  private readonly table: PriceTable;
  private readonly logger: Pick<Logger, 'warn'> | undefined;
  private readonly warned = new Set<string>();

  constructor(options: PriceBookOptions) {
    this.table = options.table;
    this.logger = options.logger;
  }

  /** The price of `model`, and whether the table knows it. Never throws: an unknown model must not end a run. */
  lookup(model: string): { price: ModelPrice; known: boolean } {
    const name = model.trim().toLowerCase();
    const exact = this.table.models[name];
    if (exact) return { price: exact, known: true };
    const snapshot = /^(.+)-\d{4}-\d{2}-\d{2}$/.exec(name)?.[1];
    const base = snapshot === undefined ? undefined : this.table.models[snapshot];
    if (base) return { price: base, known: true };
    if (!this.warned.has(name)) {
      this.warned.add(name);
      this.logger?.warn(
        { model, fallback: this.table.fallback },
        'no price for this model: counting it at the fallback price (set MODEL_PRICES to price it)',
      );
    }
    return { price: this.table.fallback, known: false };
  }

  priceOf(model: string): ModelPrice {
    return this.lookup(model).price;
  }
}

/** A run's cost meter: adds requests and sandbox time, answers dollars so far. Pure arithmetic, no I/O. */
export class CostMeter {
  private readonly prices: PriceBook;
  private readonly sandboxRates: SandboxRates;
  private readonly sums: CostTotals;

  constructor(options: { prices: PriceBook; sandbox: SandboxRates; start?: CostTotals }) {
    this.prices = options.prices;
    this.sandboxRates = options.sandbox;
    this.sums = options.start ? { ...options.start } : emptyTotals();
  }

  /** Adds one model request and answers what it cost. */
  addRequest(model: string, usage: TokenUsage): RequestCost {
    const cost = requestDollars(this.prices.priceOf(model), usage);
    const input = count(usage.inputTokens);
    this.sums.requests += 1;
    this.sums.inputTokens += input;
    this.sums.cachedInputTokens += Math.min(count(usage.cachedInputTokens), input);
    this.sums.outputTokens += count(usage.outputTokens);
    if (cost.longContext) this.sums.longContextRequests += 1;
    this.sums.modelDollars += cost.dollars;
    this.sums.dollars = this.sums.modelDollars + this.sums.sandboxDollars;
    return cost;
  }

  /** Adds sandbox time (seconds of one sandbox of the configured size). */
  addSandboxSeconds(seconds: number): void {
    this.sums.sandboxSeconds += count(seconds);
    this.sums.sandboxDollars = sandboxDollars(this.sandboxRates, this.sums.sandboxSeconds);
    this.sums.dollars = this.sums.modelDollars + this.sums.sandboxDollars;
  }

  /**
   * Sets the run's sandbox time so far (seconds of one sandbox of the configured size), for a meter that is read
   * while the sandboxes still run. Never lowers it: time once counted stays counted, so the figure never goes back.
   */
  setSandboxSeconds(seconds: number): void {
    const next = count(seconds);
    if (next <= this.sums.sandboxSeconds) return;
    this.addSandboxSeconds(next - this.sums.sandboxSeconds);
  }

  get dollars(): number {
    return this.sums.dollars;
  }

  /** True once the dollars so far reach `budget`. */
  reached(budget: number): boolean {
    return this.sums.dollars >= budget;
  }

  /** A copy of the totals so far. */
  totals(): CostTotals {
    return { ...this.sums };
  }
}

export function emptyTotals(): CostTotals {
  return {
    dollars: 0,
    modelDollars: 0,
    sandboxDollars: 0,
    requests: 0,
    inputTokens: 0,
    cachedInputTokens: 0,
    outputTokens: 0,
    longContextRequests: 0,
    sandboxSeconds: 0,
  };
}

/** "$0.42", "$12.30", "<$0.01" for a small positive amount. */
export function formatDollars(value: number): string {
  if (value > 0 && value < 0.005) return '<$0.01';
  return `$${value.toFixed(2)}`;
}
