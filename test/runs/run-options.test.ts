import { describe, expect, it } from 'vitest';
import { parseRunOptions, type RunOptionRules } from '../../src/runs/run-options.js';

const rules: RunOptionRules = {
  isAdmin: false,
  allowMaxDollars: 25,
  allowModels: ['gpt-6.2-sol', 'gpt-6.2-astra', 'gpt-6-sol'],
  defaultModel: 'gpt-6.2-sol',
};

describe('parseRunOptions', () => {
  it('reads budgets in dollars and cents, with or without $', () => {
    expect(parseRunOptions('fix the date bug budget=$3', rules)).toEqual({
      task: 'fix the date bug',
      options: { budgetDollars: 3 },
      problems: [],
    });
    expect(parseRunOptions('budget=$0.50 fix it', rules).options).toEqual({ budgetDollars: 0.5 });
    expect(parseRunOptions('fix it budget=3', rules).options).toEqual({ budgetDollars: 3 });
    expect(parseRunOptions('fix it, budget=$2.5.', rules)).toEqual({
      task: 'fix it,',
      options: { budgetDollars: 2.5 },
      problems: [],
    });
  });

  it('takes every option out of the task text, wherever it stands', () => {
    const parsed = parseRunOptions('Please model=gpt-6.2-astra fix the\nflaky test effort=HIGH Budget=$5 today', rules);
    expect(parsed).toEqual({
      task: 'Please fix the\nflaky test today',
      options: { model: 'gpt-6.2-astra', effort: 'high', budgetDollars: 5 },
      problems: [],
    });
    // Not an option: inside a word, inside code, or another name.
    const untouched = 'set `budget=$3` and mybudget=4 and size=2';
    expect(parseRunOptions(untouched, rules)).toEqual({ task: untouched, options: {}, problems: [] });
  });

  it('refuses a budget above ALLOW_MAX_DOLLARS for a non-admin, and lets an admin set it', () => {
    const refused = parseRunOptions('fix it budget=$30', rules);
    expect(refused.options).toEqual({});
    expect(refused.task).toBe('fix it');
    expect(refused.problems).toEqual([
      '`budget=$30` is above the $25 a run may have unless a workspace admin asks for it.',
    ]);
    expect(parseRunOptions('fix it budget=$25', rules).problems).toEqual([]);
    expect(parseRunOptions('fix it budget=$30', { ...rules, isAdmin: true })).toMatchObject({
      options: { budgetDollars: 30 },
      problems: [],
    });
  });

  it('explains a budget that is not an amount', () => {
    expect(parseRunOptions('budget=lots', rules).problems).toEqual([
      '`budget=lots` is not an amount of dollars; write it like budget=$3 or budget=$0.50.',
    ]);
    expect(parseRunOptions('budget=$0.505', rules).problems).toEqual([
      '`budget=$0.505` has more than cents; write it like budget=$0.50.',
    ]);
    expect(parseRunOptions('budget=$0', rules).problems).toEqual(['`budget=` must be more than $0.']);
    expect(parseRunOptions('budget=', rules).problems).toHaveLength(1);
  });

  it('refuses a model that is not allowed', () => {
    const parsed = parseRunOptions('model=gpt-7 fix it', rules);
    expect(parsed.options).toEqual({});
    expect(parsed.problems).toEqual([
      '`model=gpt-7` is not allowed here; pick one of gpt-6.2-sol, gpt-6.2-astra, gpt-6-sol.',
    ]);
  });

  it('refuses an effort that is not one, or that the model does not take', () => {
    expect(parseRunOptions('effort=ultra', rules).problems).toEqual([
      '`effort=ultra` is not an effort; use one of low, medium, high, xhigh, max.',
    ]);
    expect(parseRunOptions('effort=none', rules).problems).toEqual([
      'gpt-6.2-sol does not take `effort=none`; use one of low, medium, high, xhigh, max.',
    ]);
    // The model picked in the same mention decides.
    expect(parseRunOptions('model=gpt-6-sol effort=none', rules)).toMatchObject({
      options: { model: 'gpt-6-sol', effort: 'none' },
      problems: [],
    });
    // An unknown model (allowed by the operator) takes any effort the API names.
    expect(parseRunOptions('effort=minimal', { ...rules, defaultModel: 'custom-model' }).options).toEqual({
      effort: 'minimal',
    });
  });

  it('reports every problem at once, and a repeated option', () => {
    const parsed = parseRunOptions('budget=$99 model=nope effort=warp budget=$100 go', rules);
    expect(parsed.task).toBe('go');
    expect(parsed.problems).toHaveLength(4);
    expect(parsed.problems[0]).toMatch(/given twice \(\$99 and \$100\); using \$100/);
  });
});
