import type { ReasoningEffort } from '../config/config.js';
import { effortsFor, isReasoningEffort, REASONING_EFFORTS } from '../config/models.js';

/** What a mention may set for its run: `budget=$3`, `model=gpt-6.2-astra`, `effort=high`. */
export interface RunOptions {
  budgetDollars?: number;
  model?: string;
  effort?: ReasoningEffort;
}

export interface RunOptionRules {
  /** A workspace admin (or owner) may set any budget. */
  isAdmin: boolean;
  /** The most a non-admin may set (`ALLOW_MAX_DOLLARS`). */
  allowMaxDollars: number;
  /** Models `model=` may pick (`ALLOW_MODELS`). */
  allowModels: readonly string[];
  /** The model the run uses when the mention picks none (the channel default or `OPENAI_MODEL`). */
  defaultModel: string;
  /** The efforts a model takes, undefined when unknown (default: the built-in table). */
  effortsFor?: (model: string) => readonly ReasoningEffort[] | undefined;
}

export interface ParsedRunOptions {
  /** The mention's text without the options. */
  task: string;
  /** The options that passed every rule; one with a problem is left out. */
  options: RunOptions;
  /** Every problem, in words for the person who wrote the mention. */
  problems: string[];
}

type OptionName = 'budget' | 'model' | 'effort';

/**
 * `name=value` as a word of its own: after the start or a space, up to the next space. A trailing `.`, `,`, `;` or
 * `:` ends the sentence rather than the value ("… budget=$3.").
 */
const OPTION = /(^|\s)(budget|model|effort)=(\S*)/gi;
const SENTENCE_END = /[.,;:]$/;

const money = (value: number): string => `$${value.toFixed(2).replace(/\.00$/, '')}`;

function parseBudget(raw: string): { dollars: number } | { problem: string } {
  const text = raw.replace(/^\$/, '');
  if (!/^\d+(\.\d+)?$/.test(text)) {
    return { problem: `\`budget=${raw}\` is not an amount of dollars; write it like budget=$3 or budget=$0.50.` };
  }
  if (/\.\d{3,}$/.test(text)) {
    return { problem: `\`budget=${raw}\` has more than cents; write it like budget=$0.50.` };
  }
  const dollars = Number(text);
  if (!(dollars > 0)) return { problem: '`budget=` must be more than $0.' };
  return { dollars };
}

/**
 * Takes the run options out of a mention's text and checks them. Pure: it returns the task without the options, the
 * options that passed, and every problem in words (a budget above what a non-admin may set, a model not allowed, an
 * effort that is not one or that the model does not take). The intake decides what a problem means for the run.
 */
export function parseRunOptions(text: string, rules: RunOptionRules): ParsedRunOptions {
  const problems: string[] = [];
  const found = new Map<OptionName, string>();
  const task = text
    .replace(OPTION, (_match, before: string, rawName: string, rawValue: string) => {
      const name = rawName.toLowerCase() as OptionName;
      const value = rawValue.replace(SENTENCE_END, '');
      const earlier = found.get(name);
      if (earlier !== undefined && earlier.toLowerCase() !== value.toLowerCase()) {
        problems.push(`\`${name}=\` is given twice (${earlier} and ${value}); using ${value}.`);
      }
      found.set(name, value);
      return before;
    })
    .replace(/[ \t]{2,}/g, ' ')
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n[ \t]+/g, '\n')
    .trim();

  const options: RunOptions = {};
  const budget = found.get('budget');
  if (budget !== undefined) {
    const parsed = parseBudget(budget);
    if ('problem' in parsed) problems.push(parsed.problem);
    else if (!rules.isAdmin && parsed.dollars > rules.allowMaxDollars) {
      problems.push(
        `\`budget=${money(parsed.dollars)}\` is above the ${money(rules.allowMaxDollars)} a run may have ` +
          'unless a workspace admin asks for it.',
      );
    } else options.budgetDollars = parsed.dollars;
  }

  const model = found.get('model')?.toLowerCase();
  if (model !== undefined) {
    const allowed = rules.allowModels.map((m) => m.toLowerCase());
    if (model === '') problems.push('`model=` needs a model name.');
    else if (!allowed.includes(model)) {
      problems.push(`\`model=${model}\` is not allowed here; pick one of ${allowed.join(', ')}.`);
    } else options.model = model;
  }

  const effort = found.get('effort')?.toLowerCase();
  if (effort !== undefined) {
    const runModel = options.model ?? rules.defaultModel;
    const takes = (rules.effortsFor ?? effortsFor)(runModel);
    if (!isReasoningEffort(effort)) {
      problems.push(`\`effort=${effort}\` is not an effort; use one of ${(takes ?? REASONING_EFFORTS).join(', ')}.`);
    } else if (takes && !takes.includes(effort)) {
      problems.push(`${runModel} does not take \`effort=${effort}\`; use one of ${takes.join(', ')}.`);
    } else options.effort = effort;
  }

  return { task, options, problems };
}
