import { describe, expect, it } from 'vitest';
import { resolveRunSettings, storedOptions } from '../../src/runs/budget.js';
import { parseConfigRequest } from '../../src/slack/channel-config.js';
import { startOfWeek } from '../../src/store/channel-history.js';

const defaults = { model: 'gpt-6.2-sol', effort: 'medium' as const, runMaxDollars: 10 };

describe('a run’s settings', () => {
  it('the mention wins over the channel, which wins over the configuration', () => {
    expect(resolveRunSettings(defaults, undefined, undefined)).toEqual({
      model: 'gpt-6.2-sol',
      effort: 'medium',
      budgetDollars: 10,
    });
    expect(resolveRunSettings(defaults, { budgetDollars: 5, effort: 'low' }, undefined)).toEqual({
      model: 'gpt-6.2-sol',
      effort: 'low',
      budgetDollars: 5,
    });
    expect(
      resolveRunSettings(defaults, { budgetDollars: 5, effort: 'low' }, { budgetDollars: 0.5, model: 'gpt-6.2-astra' }),
    ).toEqual({ model: 'gpt-6.2-astra', effort: 'low', budgetDollars: 0.5 });
  });

  it('keeps only the options given', () => {
    expect(storedOptions({})).toBeUndefined();
    expect(storedOptions({ budgetDollars: 3 })).toEqual({ budgetDollars: 3 });
  });

  it('reads /ai-dev config words', () => {
    expect(parseConfigRequest([])).toEqual({ kind: 'show' });
    expect(parseConfigRequest(['Budget', '5'])).toEqual({ kind: 'set', name: 'budget', value: '5' });
    expect(parseConfigRequest(['colour', 'red'])).toMatchObject({ kind: 'invalid' });
    expect(parseConfigRequest(['model'])).toMatchObject({ kind: 'invalid' });
    expect(parseConfigRequest(['effort', 'low', 'high'])).toMatchObject({ kind: 'invalid' });
  });

  it('a week starts on Monday 00:00 UTC', () => {
    // Wednesday 2 December 2026, 17:00 UTC → Monday 30 November.
    expect(new Date(startOfWeek(Date.UTC(2026, 11, 2, 17))).toISOString()).toBe('2026-11-30T00:00:00.000Z');
    // A Monday is its own week's start; a Sunday belongs to the week before.
    expect(new Date(startOfWeek(Date.UTC(2026, 10, 30, 0, 0, 1))).toISOString()).toBe('2026-11-30T00:00:00.000Z');
    expect(new Date(startOfWeek(Date.UTC(2026, 10, 29, 23))).toISOString()).toBe('2026-11-23T00:00:00.000Z');
  });
});
