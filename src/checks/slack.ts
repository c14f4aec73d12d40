import { ErrorCode, type FetchFunction, LogLevel, type Logger as SlackLogger, WebClient } from '@slack/web-api';
import type { SlackConfig } from '../config/config.js';
import { type CheckResult, fail, networkCode, ok, skip, warn } from './check.js';

export const SLACK_DEFAULT_API_URL = 'https://slack.com/api/';

export interface SlackCheckOptions {
  /** The WebClient's fetch (the bot counts Slack calls through it). */
  fetch?: FetchFunction;
  /** Per request, in ms. Default 6 s. */
  timeoutMs?: number;
  /** Retries of a failed request (network, 5xx, 429). Default 2: the three tries end within about 20 s. */
  retries?: number;
}

/** What `auth.test` told about the bot. */
export interface BotIdentity {
  userId: string | undefined;
  user: string | undefined;
  team: string | undefined;
  /** The workspace's id: people whose team differs come from another organisation (Slack Connect). */
  teamId: string | undefined;
  /** The bot token's scopes (the `x-oauth-scopes` header). */
  scopes: string[] | undefined;
}

export type BotTokenCheck = CheckResult & { identity?: BotIdentity };

/** The Web API base URL, always with its trailing slash (`https://slack.com/api/`). */
export function slackApiBase(apiUrl: string | undefined): string {
  const base = apiUrl ?? SLACK_DEFAULT_API_URL;
  return base.endsWith('/') ? base : `${base}/`;
}

const silent: SlackLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => LogLevel.ERROR,
  setName: () => {},
};

/**
 * A WebClient whose retries end within about 20 s: the SDK's default schedule retries for about
 * 30 minutes, which at start-up looks like a bot that hangs.
 */
function boundedClient(token: string, apiUrl: string | undefined, options: SlackCheckOptions): WebClient {
  return new WebClient(token, {
    slackApiUrl: slackApiBase(apiUrl),
    logger: silent,
    timeout: options.timeoutMs ?? 6_000,
    retryConfig: { retries: options.retries ?? 2, factor: 2, minTimeout: 500, maxTimeout: 3_000 },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}

/** The bot token: `auth.test`, which also answers the bot's identity and scopes. */
export async function checkSlackBotToken(slack: SlackConfig, options: SlackCheckOptions = {}): Promise<BotTokenCheck> {
  const name = 'Slack bot token';
  const url = `${slackApiBase(slack.apiUrl)}auth.test`;
  try {
    const result = await boundedClient(slack.botToken, slack.apiUrl, options).auth.test();
    const identity: BotIdentity = {
      userId: result.user_id,
      user: result.user,
      team: result.team,
      teamId: result.team_id,
      scopes: result.response_metadata?.scopes,
    };
    return { ...ok(name, `@${result.user ?? '?'} in ${result.team ?? result.team_id ?? '?'} (auth.test)`), identity };
  } catch (error) {
    return slackFailure(name, 'SLACK_BOT_TOKEN', url, error, {
      refused:
        'copy the Bot User OAuth Token (xoxb-…) from the app’s OAuth & Permissions page into SLACK_BOT_TOKEN; reinstalling the app changes it',
    });
  }
}

/** The app-level token (Socket Mode): `apps.connections.open`, the call Socket Mode starts with. */
export async function checkSlackAppToken(slack: SlackConfig, options: SlackCheckOptions = {}): Promise<CheckResult> {
  const name = 'Slack app token';
  if (!slack.socketMode || !slack.appToken) {
    return skip(name, 'HTTP mode (SLACK_APP_TOKEN not set)');
  }
  const url = `${slackApiBase(slack.apiUrl)}apps.connections.open`;
  try {
    // Only opens a WebSocket URL, which expires unused; nothing connects.
    await boundedClient(slack.appToken, slack.apiUrl, options).apps.connections.open({});
    return ok(name, 'Socket Mode can connect (apps.connections.open)');
  } catch (error) {
    return slackFailure(name, 'SLACK_APP_TOKEN', url, error, {
      refused:
        'generate an app-level token with the connections:write scope (Basic Information → App-Level Tokens) and put it in SLACK_APP_TOKEN',
    });
  }
}

/** HTTP mode needs the signing secret (checked on every request Slack sends; it cannot be tested from here). */
export function checkSigningSecret(slack: SlackConfig): CheckResult {
  const name = 'Slack signing secret';
  if (slack.socketMode) return skip(name, 'Socket Mode (not needed)');
  if (slack.signingSecret) return ok(name, 'set (Slack’s requests are checked against it)');
  return fail(
    name,
    'missing',
    'HTTP mode needs SLACK_SIGNING_SECRET from Basic Information → App Credentials',
    'SLACK_SIGNING_SECRET',
  );
}

/** The bot's scopes against the ones manifest.yml asks for. */
export function checkSlackScopes(granted: string[] | undefined, wanted: string[]): CheckResult {
  const name = 'Slack bot scopes';
  if (!granted) return skip(name, 'Slack did not list the token’s scopes');
  const missing = wanted.filter((scope) => !granted.includes(scope));
  if (missing.length === 0) return ok(name, `${wanted.length} of manifest.yml's scopes granted`);
  return warn(
    name,
    `missing ${missing.join(', ')}`,
    'add them under OAuth & Permissions → Bot Token Scopes (or paste manifest.yml again), then reinstall the app to the workspace',
    'SLACK_BOT_TOKEN',
  );
}

function slackFailure(
  name: string,
  variable: string,
  url: string,
  error: unknown,
  words: { refused: string },
): CheckResult {
  const code = (error as { code?: unknown }).code;
  if (code === ErrorCode.PlatformError) {
    const slackError = String((error as { data?: { error?: unknown } }).data?.error ?? 'error');
    if (['invalid_auth', 'not_authed', 'account_inactive', 'token_revoked', 'token_expired'].includes(slackError)) {
      return fail(name, `Slack refused ${variable} (${slackError})`, words.refused, variable);
    }
    return fail(name, `${url} answered ${slackError}`, `see https://api.slack.com/methods for ${slackError}`, variable);
  }
  if (code === ErrorCode.HTTPError) {
    const status = (error as { statusCode?: unknown }).statusCode;
    return fail(
      name,
      `${url} answered HTTP ${String(status)}`,
      'check SLACK_API_URL (unset for Slack itself, https://slack-gov.com/api/ for GovSlack)',
      'SLACK_API_URL',
    );
  }
  const reason = networkCode(error) ?? (error instanceof Error ? error.message : String(error));
  return fail(
    name,
    `could not reach Slack at ${url} (${reason})`,
    'check the network, a proxy or firewall, and SLACK_API_URL',
  );
}
