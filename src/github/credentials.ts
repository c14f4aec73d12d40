import { createAppAuth } from '@octokit/auth-app';
import { request } from '@octokit/request';
import type { GitHubAuthConfig } from '../config/config.js';
import { GitHubError, isHttpError, toGitHubError, workflowPermissionError } from './github-errors.js';
import type { OctokitFactory } from './octokit.js';
import type { RepoRef } from './repo-ref.js';

/**
 * `write-workflows`: publishing an approved change to `.github/workflows/`, which needs its own permission.
 * `follow`: reading a PR's checks, statuses, Actions logs and reviews (the CI and review loops).
 */
export type TokenPurpose = 'read' | 'write' | 'write-workflows' | 'follow';

/** Hands out a GitHub token for work on one repo; the App mode narrows it to that repo. */
export interface GitHubCredentials {
  tokenFor(repo: RepoRef, purpose: TokenPurpose): Promise<string>;
}

export class StaticTokenCredentials implements GitHubCredentials {
  constructor(private readonly token: string) {}
  async tokenFor(): Promise<string> {
    return this.token;
  }
}

export interface AppCredentialsOptions {
  apiUrl: string;
  octokitFor: OctokitFactory;
  /** Told every token minted, so the redactor knows it from then on. */
  onToken?: (token: string) => void;
}

/**
 * GitHub App mode (`@octokit/auth-app`): finds the installation on the repo and mints a token
 * limited to that one repo and to what the purpose needs (read-only for fetching); auth-app signs
 * the JWTs and caches the tokens until shortly before they expire.
 */
export class AppInstallationCredentials implements GitHubCredentials {
  private readonly auth: ReturnType<typeof createAppAuth>;
  private readonly installations = new Map<string, number>();

  constructor(
    app: Extract<GitHubAuthConfig, { mode: 'app' }>,
    private readonly options: AppCredentialsOptions,
  ) {
    this.auth = createAppAuth({
      appId: app.appId,
      privateKey: app.privateKey,
      request: request.defaults({ baseUrl: options.apiUrl }),
    });
  }

  async tokenFor(repo: RepoRef, purpose: TokenPurpose): Promise<string> {
    const installationId = await this.installationOf(repo);
    const permissions: Record<string, string> =
      purpose === 'read'
        ? { contents: 'read' }
        : purpose === 'follow'
          ? { contents: 'read', checks: 'read', statuses: 'read', actions: 'read', pull_requests: 'read' }
          : {
              contents: 'write',
              pull_requests: 'write',
              ...(purpose === 'write-workflows' ? { workflows: 'write' } : {}),
            };
    try {
      const { token } = await this.auth({
        type: 'installation',
        installationId,
        repositoryNames: [repo.name],
        permissions,
      });
      this.options.onToken?.(token);
      return token;
    } catch (error) {
      // The App may have been removed from the repo since: look the installation up again next time.
      this.installations.delete(keyOf(repo));
      if (purpose === 'write-workflows' && isHttpError(error) && error.status === 422) {
        throw workflowPermissionError(['.github/workflows/'], error);
      }
      throw toGitHubError(error, 'mint a GitHub App installation token');
    }
  }

  private async installationOf(repo: RepoRef): Promise<number> {
    const key = keyOf(repo);
    const known = this.installations.get(key);
    if (known !== undefined) return known;
    try {
      const { token: jwt } = await this.auth({ type: 'app' });
      const { data } = await this.options.octokitFor(jwt).apps.getRepoInstallation({
        owner: repo.owner,
        repo: repo.name,
      });
      this.installations.set(key, data.id);
      return data.id;
    } catch (error) {
      if (isHttpError(error) && error.status === 404) {
        throw new GitHubError(
          'github_app_not_installed',
          `The GitHub App is not installed on ${repo.owner}/${repo.name}`,
          {
            cause: error,
            endsRun: true,
            userMessage: `The bot’s GitHub App is not installed on ${repo.owner}/${repo.name}. Install it on that repo, then try again.`,
          },
        );
      }
      throw toGitHubError(error, 'find the GitHub App installation');
    }
  }
}

const keyOf = (repo: RepoRef) => `${repo.owner}/${repo.name}`.toLowerCase();
