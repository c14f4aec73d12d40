import type { ReasoningEffort } from './config.js';

/** Every reasoning effort the Responses API names (openai 6.49 types); each model takes some of them. */
export const REASONING_EFFORTS: readonly ReasoningEffort[] = [
  'none',
  'minimal',
  'low',
  'medium',
  'high',
  'xhigh',
  'max',
];

/**
 * The efforts each current model accepts (platform notes §1 and §6, model pages as quoted by gateways): the 6.1 and
 * 6.2 models reject `none` and `minimal`; gpt-6-sol still takes `none` (`minimal` for it is unverified, so left out).
 */
const MODEL_EFFORTS: Readonly<Record<string, readonly ReasoningEffort[]>> = Object.freeze({
  'gpt-6.2-sol': ['low', 'medium', 'high', 'xhigh', 'max'],
  'gpt-6.2-astra': ['low', 'medium', 'high', 'xhigh', 'max'],
  'gpt-6.1-sol': ['low', 'medium', 'high', 'xhigh', 'max'],
  'gpt-6-sol': ['none', 'low', 'medium', 'high', 'xhigh', 'max'],
});

export function isReasoningEffort(value: string): value is ReasoningEffort {
  return (REASONING_EFFORTS as readonly string[]).includes(value);
}

/** The efforts `model` accepts, or undefined when we do not know the model (then any effort is passed on). */
export function effortsFor(model: string): readonly ReasoningEffort[] | undefined {
  return MODEL_EFFORTS[model.trim().toLowerCase()];
}
