import { describe, expect, it } from 'vitest';
import { CostMeter, formatDollars, PriceBook, requestDollars, sandboxDollars } from '../../src/agent/cost.js';
import { DEFAULT_MODEL_PRICES, type PriceTable, parsePriceTable, type SandboxRates } from '../../src/config/prices.js';
import { captureLogger } from '../helpers/logger.js';

const sol = DEFAULT_MODEL_PRICES['gpt-6.2-sol'];
const astra = DEFAULT_MODEL_PRICES['gpt-6.2-astra'];
if (!sol || !astra) throw new Error('default prices missing');

const e2b: SandboxRates = { vcpus: 2, memoryGib: 0.5, vcpuSecondDollars: 0.000014, gibSecondDollars: 0.0000045 };

function table(): PriceTable {
  const parsed = parsePriceTable(undefined);
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.table;
}

describe('requestDollars', () => {
  it('bills uncached input, cached input and output at their rates (hand computed)', () => {
    // 40 000 × $2 + 60 000 × $0.10 + 5 000 × $10 = $80 000 + $6 000 + $50 000 per million = $0.136
    const cost = requestDollars(sol, { inputTokens: 100_000, cachedInputTokens: 60_000, outputTokens: 5_000 });
    expect(cost.dollars).toBeCloseTo(0.136, 12);
    expect(cost.longContext).toBe(false);
    // 1 000 × $8 + 1 000 × $40 per million = $0.048
    expect(requestDollars(astra, { inputTokens: 1000, cachedInputTokens: 0, outputTokens: 1000 }).dollars).toBeCloseTo(
      0.048,
      12,
    );
  });

  it('keeps the short rates up to exactly 272 000 input tokens', () => {
    // 72 000 × $2 + 200 000 × $0.10 + 10 000 × $10 = 144 000 + 20 000 + 100 000 → $0.264
    const at = requestDollars(sol, { inputTokens: 272_000, cachedInputTokens: 200_000, outputTokens: 10_000 });
    expect(at).toEqual({ dollars: expect.closeTo(0.264, 12), longContext: false });
    // one token less: 71 999 × $2 → $0.263998
    const under = requestDollars(sol, { inputTokens: 271_999, cachedInputTokens: 200_000, outputTokens: 10_000 });
    expect(under.dollars).toBeCloseTo(0.263998, 12);
    expect(under.longContext).toBe(false);
  });

  it('bills the whole request at 2× input (cached too) and 1.5× output once input passes 272 000', () => {
    // (72 001 × $2 + 200 000 × $0.10) × 2 + 10 000 × $10 × 1.5 = 328 004 + 150 000 → $0.478004
    const over = requestDollars(sol, { inputTokens: 272_001, cachedInputTokens: 200_000, outputTokens: 10_000 });
    expect(over.dollars).toBeCloseTo(0.478004, 12);
    expect(over.longContext).toBe(true);
  });

  it('has no step for a price without one, and never counts cached tokens beyond the input', () => {
    const flat = { input: 1, cachedInput: 0.5, output: 2 };
    expect(requestDollars(flat, { inputTokens: 1_000_000, cachedInputTokens: 0, outputTokens: 0 })).toEqual({
      dollars: 1,
      longContext: false,
    });
    // cached (reported as more than the input) is capped at the input: 10 × $0.5
    expect(requestDollars(flat, { inputTokens: 10, cachedInputTokens: 50, outputTokens: 0 }).dollars).toBeCloseTo(
      0.000005,
      15,
    );
    expect(requestDollars(flat, { inputTokens: -5, cachedInputTokens: Number.NaN, outputTokens: 0 }).dollars).toBe(0);
  });
});

describe('sandboxDollars', () => {
  it("prices E2B's default sandbox at about $0.11 an hour", () => {
    // 3 600 s × (2 × $0.000014 + 0.5 × $0.0000045) = 3 600 × $0.00003025 = $0.1089
    expect(sandboxDollars(e2b, 3600)).toBeCloseTo(0.1089, 12);
  });
});

describe('PriceBook', () => {
  it('prices known models and their dated snapshots', () => {
    const book = new PriceBook({ table: table() });
    expect(book.lookup('gpt-6.2-sol')).toEqual({ price: sol, known: true });
    expect(book.lookup('GPT-6.1-sol-2026-09-29').known).toBe(true);
  });

  it('counts an unknown model at the fallback price and says so once', () => {
    const log = captureLogger();
    const book = new PriceBook({ table: table(), logger: log.logger });
    for (let i = 0; i < 3; i += 1) expect(book.lookup('gpt-7-nova')).toEqual({ price: table().fallback, known: false });
    book.lookup('other-model');
    const warnings = log.lines().filter((line) => line.level === 40);
    expect(warnings.map((line) => line.model)).toEqual(['gpt-7-nova', 'other-model']);
    expect(String(warnings[0]?.msg)).toMatch(/fallback price/);
  });
});

describe('CostMeter', () => {
  it('adds requests and sandbox seconds, split into model and sandbox dollars (hand computed)', () => {
    const meter = new CostMeter({ prices: new PriceBook({ table: table() }), sandbox: e2b });
    expect(
      meter.addRequest('gpt-6.2-sol', { inputTokens: 100_000, cachedInputTokens: 60_000, outputTokens: 5_000 }),
    ).toEqual({ dollars: expect.closeTo(0.136, 12), longContext: false });
    meter.addRequest('gpt-6.2-sol', { inputTokens: 272_001, cachedInputTokens: 200_000, outputTokens: 10_000 });
    meter.addRequest('gpt-6.2-astra', { inputTokens: 1000, cachedInputTokens: 0, outputTokens: 1000 });
    meter.addSandboxSeconds(1800);
    meter.addSandboxSeconds(1800);
    const totals = meter.totals();
    expect(totals.modelDollars).toBeCloseTo(0.136 + 0.478004 + 0.048, 12);
    expect(totals.sandboxDollars).toBeCloseTo(0.1089, 12);
    expect(totals.dollars).toBeCloseTo(0.136 + 0.478004 + 0.048 + 0.1089, 12);
    expect(totals).toMatchObject({
      requests: 3,
      inputTokens: 373_001,
      cachedInputTokens: 260_000,
      outputTokens: 16_000,
      longContextRequests: 1,
      sandboxSeconds: 3600,
    });
    expect(meter.reached(0.77)).toBe(true);
    expect(meter.reached(0.78)).toBe(false);
  });

  it('sets the sandbox time so far without ever lowering it (a meter read while the sandbox runs)', () => {
    const meter = new CostMeter({ prices: new PriceBook({ table: table() }), sandbox: e2b });
    meter.setSandboxSeconds(1800);
    meter.setSandboxSeconds(3600);
    meter.setSandboxSeconds(900);
    expect(meter.totals().sandboxSeconds).toBe(3600);
    expect(meter.totals().sandboxDollars).toBeCloseTo(0.1089, 12);
    expect(meter.dollars).toBeCloseTo(0.1089, 12);
  });

  it('goes on from earlier totals (a run continued after its budget)', () => {
    const prices = new PriceBook({ table: table() });
    const first = new CostMeter({ prices, sandbox: e2b });
    first.addRequest('gpt-6.2-sol', { inputTokens: 1_000_000, cachedInputTokens: 0, outputTokens: 0 });
    const second = new CostMeter({ prices, sandbox: e2b, start: first.totals() });
    second.addRequest('gpt-6.2-sol', { inputTokens: 1_000_000, cachedInputTokens: 0, outputTokens: 0 });
    // each request: 1 000 000 tokens above the step → 1 000 000 × $2 × 2 = $4
    expect(second.dollars).toBeCloseTo(8, 12);
    expect(first.dollars).toBeCloseTo(4, 12);
  });
});

describe('formatDollars', () => {
  it('shows cents', () => {
    expect(formatDollars(0)).toBe('$0.00');
    expect(formatDollars(0.004)).toBe('<$0.01');
    expect(formatDollars(1.234)).toBe('$1.23');
    expect(formatDollars(12.5)).toBe('$12.50');
  });
});
