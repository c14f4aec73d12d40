import type { SlackConfig } from '../config/config.js';
import { type CheckResult, describeResult } from './check.js';
import { manifestBotScopes } from './manifest.js';
import {
  type BotIdentity,
  checkSlackAppToken,
  checkSlackBotToken,
  checkSlackScopes,
  type SlackCheckOptions,
} from './slack.js';

/** A check that keeps the bot from starting; its message names the variable at fault and the fix. */
export class StartupCheckError extends Error {
  constructor(readonly results: CheckResult[]) {
    super(results.map(describeResult).join('; '));
    this.name = 'StartupCheckError';
  }
}

export interface SlackStartup {
  identity: BotIdentity;
  /** Checks that passed with a warning (scopes missing from the token): logged, not fatal. */
  warnings: CheckResult[];
}

/**
 * The checks that are cheap at start: the bot token (`auth.test`), the app token in Socket Mode
 * (`apps.connections.open`), and the bot's scopes against manifest.yml. Each request is bounded, so an
 * unreachable Slack stops the start within about 20 s, naming the URL tried.
 */
export async function checkSlackAtStart(slack: SlackConfig, options: SlackCheckOptions = {}): Promise<SlackStartup> {
  const [bot, app] = await Promise.all([checkSlackBotToken(slack, options), checkSlackAppToken(slack, options)]);
  const failed = [bot, app].filter((r) => r.status === 'fail');
  if (failed.length > 0 || !bot.identity) throw new StartupCheckError(failed.length > 0 ? failed : [bot]);
  const wanted = await manifestBotScopes().catch(() => undefined);
  const scopes = wanted ? checkSlackScopes(bot.identity.scopes, wanted) : undefined;
  return { identity: bot.identity, warnings: scopes?.status === 'warn' ? [scopes] : [] };
}
