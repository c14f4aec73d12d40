import type { GitHubCredentials } from './credentials.js';
import { GitHubError, isHttpError, toGitHubError } from './github-errors.js';
import type { OctokitFactory } from './octokit.js';
import { fullName, type RepoRef } from './repo-ref.js';

export interface CheckedRepo {
  fullName: string;
  defaultBranch: string;
  private: boolean;
}

/** Confirms, before a link is stored, that the repo exists and that the bot may push to it. */
export class RepoChecker {
  constructor(
    private readonly credentials: GitHubCredentials,
    private readonly octokitFor: OctokitFactory,
  ) {}

  async check(ref: RepoRef): Promise<CheckedRepo> {
    const name = fullName(ref);
    const token = await this.credentials.tokenFor(ref, 'write');
    let data: Awaited<ReturnType<ReturnType<OctokitFactory>['repos']['get']>>['data'];
    try {
      ({ data } = await this.octokitFor(token).repos.get({ owner: ref.owner, repo: ref.name }));
    } catch (error) {
      if (isHttpError(error) && error.status === 404) {
        throw new GitHubError('repo_not_found', `Repository ${name} not found or not visible to the bot`, {
          cause: error,
          userMessage: `I can’t find ${name} on GitHub. Check the spelling; if it is private, give the bot’s GitHub account or App access to it.`,
        });
      }
      throw toGitHubError(error, `read ${name}`);
    }
    if (data.archived) {
      throw new GitHubError('repo_archived', `Repository ${data.full_name} is archived`, {
        userMessage: `${data.full_name} is archived on GitHub, so nothing can be pushed to it. Unarchive it first.`,
      });
    }
    if (data.permissions && !data.permissions.push) {
      throw new GitHubError('repo_no_push', `The bot cannot push to ${data.full_name}`, {
        userMessage: `The bot can read ${data.full_name} but cannot push to it. Give its GitHub account write access (or the App “Contents: write”), then link again.`,
      });
    }
    return { fullName: data.full_name, defaultBranch: data.default_branch, private: data.private };
  }
}
