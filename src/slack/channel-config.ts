import { formatDollars } from '../agent/cost.js';
import type { MentionOptionRules, RunSettings } from '../runs/budget.js';
import { parseRunOptions } from '../runs/run-options.js';
import type { ChannelSettingsStore, StoredRunSettings } from '../store/channel-settings.js';

/** What `/ai-dev config` needs: the channel store and the same rules as `budget=` / `model=` / `effort=`. */
export interface ChannelConfigDeps {
  store: ChannelSettingsStore;
  rules: MentionOptionRules;
}

export type ConfigRequest =
  | { kind: 'show' }
  | { kind: 'set'; name: 'budget' | 'model' | 'effort'; value: string }
  | { kind: 'invalid'; problem: string };

export const CONFIG_USAGE =
  'Usage: `/ai-dev config` (show), `/ai-dev config budget 5` (dollars per run), `/ai-dev config model gpt-6.2-sol`, `/ai-dev config effort low|medium|high`';

/** The words after `/ai-dev config`. */
export function parseConfigRequest(words: readonly string[]): ConfigRequest {
  const [name, value, ...rest] = words;
  if (name === undefined) return { kind: 'show' };
  const lower = name.toLowerCase();
  if (lower !== 'budget' && lower !== 'model' && lower !== 'effort') {
    return { kind: 'invalid', problem: `\`${name.replaceAll('`', "'").slice(0, 40)}\` is not a setting.` };
  }
  if (value === undefined || rest.length > 0) {
    return { kind: 'invalid', problem: `Give one value for \`${lower}\`.` };
  }
  return { kind: 'set', name: lower, value };
}

/** The effective settings of a channel's runs, in one line. */
export function settingsLine(settings: RunSettings): string {
  return `model ${settings.model} · effort ${settings.effort} · budget ${formatDollars(settings.budgetDollars)} per run`;
}

/**
 * Shows or changes the channel's run defaults; answers the words for the person. A value goes through the same rules
 * as in a mention (`budget=` capped by ALLOW_MAX_DOLLARS unless a workspace admin sets it, `model=` from ALLOW_MODELS,
 * an effort the model takes).
 */
export async function applyConfig(
  deps: ChannelConfigDeps,
  channel: string,
  user: string,
  request: Exclude<ConfigRequest, { kind: 'invalid' }>,
): Promise<{ text: string; changed: boolean }> {
  if (request.kind === 'show') {
    return { text: `Runs in this channel: ${settingsLine(await deps.rules.resolve(channel))}.`, changed: false };
  }
  const value = request.name === 'budget' && !request.value.startsWith('$') ? `$${request.value}` : request.value;
  const isAdmin = request.name === 'budget' ? await deps.rules.isWorkspaceAdmin(user).catch(() => false) : false;
  const current = await deps.rules.resolve(channel);
  const parsed = parseRunOptions(`${request.name}=${value}`, {
    isAdmin,
    allowMaxDollars: deps.rules.allowMaxDollars,
    allowModels: deps.rules.allowModels,
    defaultModel: current.model,
  });
  if (parsed.problems.length > 0) return { text: parsed.problems.join('\n'), changed: false };
  const change: StoredRunSettings = {
    ...(parsed.options.budgetDollars !== undefined ? { budgetDollars: parsed.options.budgetDollars } : {}),
    ...(parsed.options.model ? { model: parsed.options.model } : {}),
    ...(parsed.options.effort ? { effort: parsed.options.effort } : {}),
  };
  await deps.store.set(channel, change, user);
  const next = await deps.rules.resolve(channel);
  return { text: `<@${user}> set this channel’s runs to ${settingsLine(next)}.`, changed: true };
}
