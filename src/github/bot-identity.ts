import { createAppAuth } from '@octokit/auth-app';
import { request } from '@octokit/request';
import type { Octokit } from '@octokit/rest';
import type { GitHubAuthConfig } from '../config/config.js';
import { githubRequest } from './github-errors.js';
import type { OctokitFactory } from './octokit.js';

/** Who the bot is on GitHub: whose comments are its own, and the names a person mentions it by. */
export interface BotIdentity {
  /** Logins whose reviews and comments are the bot's own and never count, e.g. `ai-dev[bot]`. */
  logins: string[];
  /** Names a PR comment mentions the bot by, without the `@`, e.g. `ai-dev` and `ai-dev[bot]`. */
  mentions: string[];
}

/** A GitHub App acts as `<slug>[bot]`; people write `@<slug>`. */
export function appBotIdentity(slug: string): BotIdentity {
  return { logins: [`${slug}[bot]`], mentions: [slug, `${slug}[bot]`] };
}

/** A token acts as its own user. */
export function userBotIdentity(login: string): BotIdentity {
  return { logins: [login], mentions: [login] };
}

/**
 * Finds the bot's identity once at start-up: the token's user (`GET /user`), or the App's slug
 * (`GET /app`, with a JWT signed by the App's key).
 */
export async function resolveBotIdentity(
  auth: GitHubAuthConfig,
  options: { apiUrl: string; octokitFor: OctokitFactory },
): Promise<BotIdentity> {
  if (auth.mode === 'token') {
    const octokit = options.octokitFor(auth.token);
    const login = await githubRequest('find the token’s user', async () => {
      return (await octokit.rest.users.getAuthenticated()).data.login;
    });
    return userBotIdentity(login);
  }
  const appAuth = createAppAuth({
    appId: auth.appId,
    privateKey: auth.privateKey,
    request: request.defaults({ baseUrl: options.apiUrl }),
  });
  const { token } = await appAuth({ type: 'app' });
  return appBotIdentity(await appSlug(options.octokitFor(token)));
}

async function appSlug(octokit: Octokit): Promise<string> {
  return githubRequest('find the GitHub App’s name', async () => {
    const { data } = await octokit.rest.apps.getAuthenticated();
    if (!data?.slug) throw new Error('GitHub did not say the App’s slug');
    return data.slug;
  });
}

/** Whether `login` is one of the bot's own (case-insensitive, as GitHub logins are). */
export function isBotLogin(identity: BotIdentity, login: string): boolean {
  const lower = login.toLowerCase();
  return identity.logins.some((own) => own.toLowerCase() === lower);
}

/** Whether `text` mentions the bot as `@name` (not inside a longer name or an e-mail address). */
export function mentionsBot(identity: BotIdentity, text: string): boolean {
  return identity.mentions.some((name) => {
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return new RegExp(`(?:^|[^\\w.@/-])@${escaped}(?![\\w-]|\\[bot\\])`, 'i').test(text);
  });
}
