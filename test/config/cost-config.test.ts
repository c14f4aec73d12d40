import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { effortsFor, isReasoningEffort } from '../../src/config/models.js';
import { DEFAULT_FALLBACK_PRICE, DEFAULT_MODEL_PRICES, parsePriceTable } from '../../src/config/prices.js';

const base = {
  SLACK_BOT_TOKEN: 'xoxb-1-abc',
  SLACK_SIGNING_SECRET: 'signing-secret-value',
  OPENAI_API_KEY: 'sk-test-key-000000000000',
  GITHUB_TOKEN: 'ghp_testtoken000000000000',
  E2B_API_KEY: 'e2b_key_0000000000000000',
};

function problems(env: Record<string, string>): string {
  const result = parseConfig({ ...base, ...env });
  expect(result.ok).toBe(false);
  return result.ok ? '' : result.problems.join('\n');
}

describe('parsePriceTable', () => {
  it('has the current models, with the 272 000-token step', () => {
    const result = parsePriceTable(undefined);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.table.models['gpt-6.2-sol']).toEqual({
      input: 2,
      cachedInput: 0.1,
      output: 10,
      longContext: { aboveInputTokens: 272_000, inputMultiplier: 2, outputMultiplier: 1.5 },
    });
    expect(result.table.models['gpt-6.2-astra']).toMatchObject({ input: 8, output: 40 });
    expect(result.table.fallback).toEqual(DEFAULT_FALLBACK_PRICE);
  });

  it('merges MODEL_PRICES over the defaults field by field, adds models and sets the fallback', () => {
    const result = parsePriceTable(
      JSON.stringify({
        'gpt-6.2-sol': { output: 12 },
        'GPT-6.2-astra': { longContext: null },
        'my-model': { input: 1, output: 3 },
        '*': { input: 20, output: 80 },
      }),
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.table.models['gpt-6.2-sol']).toMatchObject({ input: 2, cachedInput: 0.1, output: 12 });
    expect(result.table.models['gpt-6.2-astra']?.longContext).toBeUndefined();
    // A new model without a cached price gets no discount.
    expect(result.table.models['my-model']).toEqual({ input: 1, cachedInput: 1, output: 3 });
    expect(result.table.fallback).toMatchObject({ input: 20, output: 80, cachedInput: 0.4 });
    // The defaults themselves are untouched.
    expect(DEFAULT_MODEL_PRICES['gpt-6.2-sol']?.output).toBe(10);
  });

  it('says clearly what is wrong', () => {
    const bad = parsePriceTable('{"gpt-6.2-sol": {input: 2}}');
    expect(bad.ok).toBe(false);
    if (!bad.ok)
      expect(bad.problems[0]).toMatch(/^MODEL_PRICES is not valid JSON \(.+\); write it as \{"gpt-6\.2-sol"/);
    const wrong = parsePriceTable('{"gpt-6.2-sol": {"input": -1, "outptu": 3}, "new": {"input": 1}}');
    expect(wrong.ok).toBe(false);
    if (!wrong.ok) {
      const text = wrong.problems.join('\n');
      expect(text).toMatch(/MODEL_PRICES at gpt-6\.2-sol\.input: must not be negative/);
      expect(text).toMatch(/outptu/);
    }
    const incomplete = parsePriceTable('{"new": {"input": 1}}');
    expect(incomplete.ok).toBe(false);
    if (!incomplete.ok)
      expect(incomplete.problems).toEqual([expect.stringMatching(/"new" needs "input" and "output"/)]);
    expect(parsePriceTable('[1]').ok).toBe(false);
  });
});

describe('cost and budget configuration', () => {
  it('applies the documented defaults', () => {
    const result = parseConfig(base);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.budget).toEqual({ runMaxDollars: 10, allowMaxDollars: 25, allowModels: ['gpt-6.2-sol'] });
    expect(result.config.cost.sandbox).toEqual({
      vcpus: 2,
      memoryGib: 0.5,
      vcpuSecondDollars: 0.000014,
      gibSecondDollars: 0.0000045,
    });
    expect(result.config.cost.prices.models['gpt-6.2-sol']?.input).toBe(2);
    expect(result.config.limits.compactAtInputTokens).toBe(200_000);
  });

  it('reads dollars, models and rates', () => {
    const result = parseConfig({
      ...base,
      RUN_MAX_DOLLARS: '$2.50',
      ALLOW_MAX_DOLLARS: '100',
      ALLOW_MODELS: 'gpt-6.2-astra, GPT-6.2-sol',
      MODEL_PRICES: '{"gpt-6.2-sol": {"output": 11}}',
      SANDBOX_VCPU_PRICE: '0.00002',
      SANDBOX_GIB_PRICE: '0.000005',
      SANDBOX_VCPUS: '8',
      SANDBOX_MEMORY_GIB: '16',
      COMPACT_AT_INPUT_TOKENS: '150000',
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.limits.compactAtInputTokens).toBe(150_000);
    expect(result.config.budget).toEqual({
      runMaxDollars: 2.5,
      allowMaxDollars: 100,
      allowModels: ['gpt-6.2-sol', 'gpt-6.2-astra'],
    });
    expect(result.config.cost.prices.models['gpt-6.2-sol']?.output).toBe(11);
    expect(result.config.cost.sandbox).toEqual({
      vcpus: 8,
      memoryGib: 16,
      vcpuSecondDollars: 0.00002,
      gibSecondDollars: 0.000005,
    });
  });

  it('explains bad values', () => {
    const text = problems({
      RUN_MAX_DOLLARS: 'ten',
      ALLOW_MAX_DOLLARS: '0',
      ALLOW_MODELS: 'gpt-6.2-sol, not a model',
      MODEL_PRICES: '{oops',
      SANDBOX_VCPUS: '-1',
      SANDBOX_GIB_PRICE: 'free',
    });
    expect(text).toMatch(/RUN_MAX_DOLLARS must be an amount of dollars such as 10 or 2\.50/);
    expect(text).toMatch(/ALLOW_MAX_DOLLARS must be above \$0/);
    expect(text).toMatch(/ALLOW_MODELS must be comma-separated model names/);
    expect(text).toMatch(/MODEL_PRICES is not valid JSON/);
    expect(text).toMatch(/SANDBOX_VCPUS must be a number of vCPUs above 0/);
    expect(text).toMatch(/SANDBOX_GIB_PRICE must be a price in dollars per GiB-second/);
    expect(problems({ RUN_MAX_DOLLARS: '1.005' })).toMatch(/RUN_MAX_DOLLARS must be an amount of dollars/);
    expect(problems({ COMPACT_AT_INPUT_TOKENS: '500' })).toMatch(/COMPACT_AT_INPUT_TOKENS must be at least 10000/);
  });
});

describe('effortsFor', () => {
  it('knows which efforts the current models take', () => {
    expect(effortsFor('gpt-6.2-sol')).not.toContain('none');
    expect(effortsFor('gpt-6.2-astra')).toContain('max');
    expect(effortsFor('gpt-6-sol')).toContain('none');
    expect(effortsFor('someone-else')).toBeUndefined();
    expect(isReasoningEffort('xhigh')).toBe(true);
    expect(isReasoningEffort('ultra')).toBe(false);
  });
});
