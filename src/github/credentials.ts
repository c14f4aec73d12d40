import { createSign } from 'node:crypto';
import type { Octokit } from '@octokit/rest';
import type { GitHubAuthConfig } from '../config/config.js';
import { GitHubError, isHttpError, toGitHubError } from './github-errors.js';
import type { RepoRef } from './repo-ref.js';

export type TokenPurpose = 'read' | 'write';

/** Hands out a GitHub token for work on one repo; the App mode narrows it to that repo. */
export interface GitHubCredentials {
  tokenFor(repo: RepoRef, purpose: TokenPurpose): Promise<string>;
}

export type OctokitFactory = (auth: string) => Octokit;

export class StaticTokenCredentials implements GitHubCredentials {
  constructor(private readonly token: string) {}
  async tokenFor(): Promise<string> {
    return this.token;
  }
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

const REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * GitHub App mode: signs a JWT, finds the installation on the repo and mints a token
 * limited to that one repo and to what the purpose needs (read-only for cloning).
 */
export class AppInstallationCredentials implements GitHubCredentials {
  private readonly cache = new Map<string, CachedToken>();

  constructor(
    private readonly auth: Extract<GitHubAuthConfig, { mode: 'app' }>,
    private readonly octokitFor: OctokitFactory,
    private readonly now: () => number = Date.now,
  ) {}

  async tokenFor(repo: RepoRef, purpose: TokenPurpose): Promise<string> {
    const key = `${repo.owner}/${repo.name}:${purpose}`.toLowerCase();
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt - REFRESH_MARGIN_MS > this.now()) return cached.token;
    const appClient = this.octokitFor(this.jwt());
    let installationId: number;
    try {
      const { data } = await appClient.apps.getRepoInstallation({ owner: repo.owner, repo: repo.name });
      installationId = data.id;
    } catch (error) {
      if (isHttpError(error) && error.status === 404) {
        throw new GitHubError(
          'github_app_not_installed',
          `The GitHub App is not installed on ${repo.owner}/${repo.name}`,
          {
            cause: error,
            userMessage: `The bot’s GitHub App is not installed on ${repo.owner}/${repo.name}. Install it on that repo, then try again.`,
          },
        );
      }
      throw toGitHubError(error, 'find the GitHub App installation');
    }
    const permissions =
      purpose === 'read'
        ? { contents: 'read' as const }
        : { contents: 'write' as const, pull_requests: 'write' as const };
    try {
      const { data } = await appClient.apps.createInstallationAccessToken({
        installation_id: installationId,
        repositories: [repo.name],
        permissions,
      });
      this.cache.set(key, { token: data.token, expiresAt: Date.parse(data.expires_at) });
      return data.token;
    } catch (error) {
      throw toGitHubError(error, 'mint a GitHub App installation token');
    }
  }

  private jwt(): string {
    const nowSeconds = Math.floor(this.now() / 1000);
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    // iat is back-dated a minute for clock drift; GitHub caps exp at ten minutes.
    const unsigned = `${encode({ alg: 'RS256', typ: 'JWT' })}.${encode({ iat: nowSeconds - 60, exp: nowSeconds + 540, iss: this.auth.appId })}`;
    const signature = createSign('RSA-SHA256').update(unsigned).sign(this.auth.privateKey).toString('base64url');
    return `${unsigned}.${signature}`;
  }
}
